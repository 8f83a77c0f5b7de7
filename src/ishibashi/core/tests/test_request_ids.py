"""A request id in every answer; a bug in the API answers its JSON shape with that id, logged."""

import logging

import pytest
from django.test import Client

import ishibashi.payments.api as payments_api


@pytest.mark.django_db
def test_every_answer_carries_a_request_id_and_a_strange_offered_one_is_replaced():
    web = Client()

    fresh = web.get("/healthz")
    kept = web.get("/healthz", HTTP_X_REQUEST_ID="proxy-id-0123456789")
    replaced = web.get("/healthz", HTTP_X_REQUEST_ID="a b\n<script>")

    assert len(fresh["X-Request-ID"]) == 32
    assert kept["X-Request-ID"] == "proxy-id-0123456789"
    assert replaced["X-Request-ID"] != "a b\n<script>"
    assert len(replaced["X-Request-ID"]) == 32


@pytest.mark.parametrize("debug", [False, True])
def test_a_bug_behind_an_api_endpoint_answers_json_with_the_request_id_it_logged(
    make_user, token_for, monkeypatch, caplog, settings, debug
):
    settings.DEBUG = debug

    def broken(**_kwargs):
        raise RuntimeError("a bug in the wallet")

    monkeypatch.setattr(payments_api, "wallet_summary_for_user", broken)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(make_user())}")

    with caplog.at_level(logging.ERROR, logger="ishibashi.api"):
        response = api.get("/api/v1/wallet", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == "server_error"
    assert body["request_id"] == response["X-Request-ID"]
    assert "request id" in body["message"]
    logged = [r for r in caplog.records if r.name == "ishibashi.api"]
    assert len(logged) == 1
    assert body["request_id"] in logged[0].getMessage()
    assert "a bug in the wallet" in str(logged[0].exc_info[1])
