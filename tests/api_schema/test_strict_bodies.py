"""Request bodies are read as they are sent: amounts only as JSON integers, JSON only as JSON.

Pydantic's lax mode took `true` as ¥1 and "5000", "5_000" or 5000.0 as ¥5,000; ninja read a JSON
body sent as text/plain (which a browser posts across origins without asking). Each is refused,
naming the field, and nothing is created.
"""

import datetime as dt
import json

import pytest
from django.test import Client

from ishibashi.jobs.models import Job
from ishibashi.payments.models import Deposit, Payout
from ishibashi.payments.providers import SANDBOX_CARD_SUCCEEDS

NOT_AN_INTEGER = [True, "5000", "5_000", 5000.0, "¥5,000", None]


def _job_body(**overrides):
    now = dt.datetime.now(dt.UTC)
    return {
        "title": "サーバー移行", "description": "移行です。", "category": "server_infrastructure",
        "contract_type": "fixed", "budget_min_jpy": 5_000, "budget_max_jpy": 20_000,
        "recruiting_deadline": (now + dt.timedelta(days=7)).isoformat(),
        "desired_delivery_on": (now.date() + dt.timedelta(days=30)).isoformat(),
        "scope_deliverables": "移行済みのサイト", "scope_acceptance_criteria": "表示されること",
        "publish": True, **overrides,
    }  # fmt: skip


@pytest.fixture
def api(make_user, token_for):
    return Client(HTTP_AUTHORIZATION=f"Bearer {token_for(make_user())}")


@pytest.mark.parametrize("amount", NOT_AN_INTEGER)
def test_a_deposit_amount_that_is_not_a_json_integer_is_refused(api, amount):
    response = api.post(
        "/api/v1/wallet/deposits",
        json.dumps({"amount_jpy": amount, "method": "card", "card_number": SANDBOX_CARD_SUCCEEDS}),
        content_type="application/json",
    )

    assert response.status_code == 422
    assert response.json()["field"] == "amount_jpy"
    assert Deposit.objects.count() == 0


@pytest.mark.parametrize("amount", NOT_AN_INTEGER)
def test_a_payout_amount_that_is_not_a_json_integer_is_refused(api, amount):
    response = api.post(
        "/api/v1/wallet/payouts",
        json.dumps({
            "amount_jpy": amount, "bank_name": "みずほ銀行", "branch_name": "本店",
            "account_type": "ordinary", "account_number": "1234567",
            "account_holder": "タナカ ミサキ",
        }),
        content_type="application/json",
    )  # fmt: skip

    assert response.status_code == 422
    assert response.json()["field"] == "amount_jpy"
    assert Payout.objects.count() == 0


@pytest.mark.parametrize("field", ["budget_min_jpy", "budget_max_jpy"])
@pytest.mark.parametrize("amount", [True, "5000", 5000.0])
def test_a_job_budget_that_is_not_a_json_integer_is_refused(api, field, amount):
    response = api.post(
        "/api/v1/jobs", json.dumps(_job_body(**{field: amount})), content_type="application/json"
    )

    assert response.status_code == 422
    assert response.json()["field"] == field
    assert Job.objects.count() == 0


def test_integers_are_still_amounts(api):
    response = api.post(
        "/api/v1/wallet/deposits",
        json.dumps({"amount_jpy": 5000, "method": "card", "card_number": SANDBOX_CARD_SUCCEEDS}),
        content_type="application/json",
    )

    assert response.status_code == 201
    assert response.json()["amount_jpy"] == 5000


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_json_body_under_another_content_type_is_a_415(api, content_type):
    jobs = api.post("/api/v1/jobs", json.dumps(_job_body()), content_type=content_type)
    deposit = api.post(
        "/api/v1/wallet/deposits",
        json.dumps({"amount_jpy": 5000, "method": "card", "card_number": SANDBOX_CARD_SUCCEEDS}),
        content_type=content_type,
    )

    assert (jobs.status_code, deposit.status_code) == (415, 415)
    assert jobs.json()["code"] == "unsupported_media_type"
    assert Job.objects.count() == 0
    assert Deposit.objects.count() == 0


def test_a_json_content_type_with_a_charset_is_json(api):
    response = api.post(
        "/api/v1/jobs",
        json.dumps(_job_body()),
        content_type="application/json; charset=utf-8",
    )

    assert response.status_code == 201


def test_an_unknown_field_is_refused_by_name_and_nothing_is_created(api):
    response = api.post(
        "/api/v1/wallet/deposits",
        json.dumps({
            "amount_jpy": 5000, "method": "card", "card_number": SANDBOX_CARD_SUCCEEDS,
            "amount_yen": 50000,
        }),
        content_type="application/json",
    )  # fmt: skip

    assert response.status_code == 422
    assert response.json()["field"] == "amount_yen"
    assert "amount_yen" in response.json()["message"]
    assert Deposit.objects.count() == 0
