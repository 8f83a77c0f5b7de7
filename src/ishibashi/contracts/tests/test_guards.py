"""Message guards in the contract thread: stored with the message, never refused, a warning for
the writer before sending, a caution for the reader, and the worker's one-click report."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.utils import translation
from django.utils.html import escape

from conftest import log_in
from ishibashi.contracts import services as cs
from ishibashi.contracts.models import ClientContractStats, Contract, ContractFlag, ContractMessage
from ishibashi.contracts.tests.factories import hire
from ishibashi.guards import pattern_set

ASK_BEFORE_ESCROW = "納期が厳しいので仮払い前に先に作業を始めてください"
VERSION = pattern_set().version


@pytest.fixture(autouse=True)
def _cheap_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def hanako(make_user):
    return make_user(email="hanako@example.jp", display_name="発注 花子", is_worker=False)


@pytest.fixture
def taro(make_user):
    return make_user(email="taro@example.jp", display_name="受注 太郎", is_client=False)


@pytest.fixture
def contract(hanako, taro) -> Contract:
    return hire(hanako, taro)


def _ja(msgid: str) -> str:
    with translation.override("ja"):
        return translation.gettext(msgid)


def _web(user: Any) -> Client:
    return log_in(Client(), user)


def _api(token_for: Any, user: Any, language: str = "ja") -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token_for(user)}", "HTTP_ACCEPT_LANGUAGE": language}


def _url(contract: Contract, suffix: str = "") -> str:
    return f"/contracts/{contract.pk}/{suffix}"


def _stats(client: Any) -> int:
    stats = ClientContractStats.objects.filter(client=client).first()
    return stats.escrow_before_work_flags if stats else 0


def _cautions(html: str) -> list[str]:
    return re.findall(r'data-testid="guard-caution" data-category="(\w+)"', html)


# --- the service ------------------------------------------------------------------------------


def test_a_message_with_a_hit_is_stored_unchanged_with_its_categories(contract, hanako):
    body = f"{ASK_BEFORE_ESCROW}。連絡は tanaka あっと gmail どっと com へ"

    message = cs.contract_message_post(author=hanako, contract_id=contract.pk, body=body)

    message.refresh_from_db()
    assert message.body == body
    assert message.guard_categories == ["before_escrow", "off_platform"]
    assert message.guard_version == VERSION


def test_a_plain_message_is_checked_and_carries_no_category(contract, taro):
    message = cs.contract_message_post(
        author=taro, contract_id=contract.pk, body="仮払いありがとうございます、作業を開始します。"
    )

    assert (message.guard_categories, message.guard_version) == ([], VERSION)


# --- the API ----------------------------------------------------------------------------------


def test_the_api_never_refuses_a_hit_and_returns_the_guards(contract, hanako, taro, token_for):
    response = Client().post(
        f"/api/v1/contracts/{contract.pk}/messages",
        {"body": ASK_BEFORE_ESCROW},
        content_type="application/json",
        **_api(token_for, hanako),
    )

    assert response.status_code == 201
    body = response.json()
    assert body["body"] == ASK_BEFORE_ESCROW
    assert body["guards"] == {"categories": ["before_escrow"], "version": VERSION}
    thread = (
        Client().get(f"/api/v1/contracts/{contract.pk}/messages", **_api(token_for, taro)).json()
    )
    assert thread["items"][-1]["guards"] == {"categories": ["before_escrow"], "version": VERSION}


def test_check_says_what_would_be_shown_in_the_request_language(hanako, token_for):
    text = "Let's deal directly, my email is ken＠example．com"

    english = Client().post(
        "/api/v1/messages/check",
        {"text": text, "as_client": True},
        content_type="application/json",
        **_api(token_for, hanako, "en"),
    )
    japanese = Client().post(
        "/api/v1/messages/check",
        {"text": text},
        content_type="application/json",
        **_api(token_for, hanako, "ja"),
    )

    assert english.status_code == japanese.status_code == 200
    found = english.json()
    assert (found["categories"], found["version"]) == (["off_platform"], VERSION)
    assert {hit["reason"] for hit in found["hits"]} == {"off_platform_deal", "email_address"}
    email = next(hit for hit in found["hits"] if hit["reason"] == "email_address")
    assert email["excerpt"] == "ken＠example．com"
    assert text[email["start"] : email["end"]] == email["excerpt"]
    assert found["warnings"][0]["warning"].startswith("This looks like contact details")
    assert japanese.json()["warnings"][0]["label"] == _ja("Move off the platform")


def test_check_of_a_clean_text_finds_nothing_and_a_stranger_must_log_in(hanako, token_for):
    clean = Client().post(
        "/api/v1/messages/check",
        {"text": "Let's meet at 3pm."},
        content_type="application/json",
        **_api(token_for, hanako),
    )
    anonymous = Client().post(
        "/api/v1/messages/check", {"text": "x"}, content_type="application/json"
    )
    too_long = Client().post(
        "/api/v1/messages/check",
        {"text": "あ" * 6000},
        content_type="application/json",
        **_api(token_for, hanako),
    )

    assert clean.json() == {"categories": [], "version": VERSION, "hits": [], "warnings": []}
    assert anonymous.status_code == 401
    assert (too_long.status_code, too_long.json()["field"]) == (422, "text")


# --- the writer's warning ---------------------------------------------------------------------


def test_the_page_warns_first_and_sends_only_after_acknowledgement(contract, hanako):
    web = _web(hanako)

    warned = web.post(_url(contract, "messages/"), {"body": ASK_BEFORE_ESCROW})

    assert warned.status_code == 200
    assert ContractMessage.objects.filter(contract=contract).count() == 0
    html = warned.content.decode()
    assert 'data-testid="guard-warning"' in html
    assert 'data-category="before_escrow"' in html
    assert warned.context["forms"]["message"]["body"].value() == ASK_BEFORE_ESCROW
    assert 'name="acknowledged" value="1"' in html

    sent = web.post(_url(contract, "messages/"), {"body": ASK_BEFORE_ESCROW, "acknowledged": "1"})

    assert sent.status_code == 302
    message = ContractMessage.objects.get(contract=contract)
    assert (message.body, message.guard_categories) == (ASK_BEFORE_ESCROW, ["before_escrow"])


def test_a_plain_message_is_sent_without_a_warning(contract, hanako):
    response = _web(hanako).post(_url(contract, "messages/"), {"body": "よろしくお願いします。"})

    assert response.status_code == 302
    assert ContractMessage.objects.filter(contract=contract).count() == 1


def test_the_warning_escapes_the_words_it_quotes(contract, hanako):
    body = "仮払い前に<b>作業</b>を始めて<script>alert(1)</script>ください"

    response = _web(hanako).post(_url(contract, "messages/"), {"body": body})

    html = response.content.decode()
    assert 'data-testid="guard-found"' in html
    assert "<b>作業</b>" not in html
    assert "<script>alert(1)</script>" not in html
    assert escape("仮払い前に<b>作業") in html


# --- the reader's caution ---------------------------------------------------------------------


def test_the_reader_sees_the_caution_and_the_writer_only_a_note(contract, hanako, taro):
    cs.contract_message_post(author=hanako, contract_id=contract.pk, body=ASK_BEFORE_ESCROW)

    as_worker = _web(taro).get(_url(contract)).content.decode()
    as_client = _web(hanako).get(_url(contract)).content.decode()

    caution = escape(
        _ja(
            "Do not start work until the escrow (仮払い) is funded. A request to work before "
            "escrow can be reported to the operators."
        )
    )
    assert _cautions(as_worker) == ["before_escrow"]
    assert caution in as_worker
    assert 'data-testid="guard-flag"' in as_worker
    assert _cautions(as_client) == []
    assert caution not in as_client
    assert 'data-testid="guard-writer-note"' in as_client
    assert 'data-testid="guard-flag"' not in as_client


def test_the_thread_escapes_a_hit_message(contract, hanako, taro):
    body = "<img src=x onerror=alert(1)> 直接取引しませんか"
    cs.contract_message_post(author=hanako, contract_id=contract.pk, body=body)

    html = _web(taro).get(_url(contract)).content.decode()

    assert "<img src=x" not in html
    assert escape("<img src=x onerror=alert(1)>") in html
    assert _cautions(html) == ["off_platform"]


# --- the one-click report ---------------------------------------------------------------------


def test_the_worker_reports_from_the_message_once_per_contract(contract, hanako, taro):
    message = cs.contract_message_post(
        author=hanako, contract_id=contract.pk, body=ASK_BEFORE_ESCROW
    )
    web = _web(taro)

    first = web.post(_url(contract, "flag/"), {"message_id": message.pk}, follow=True)

    flag = ContractFlag.objects.get(contract=contract)
    assert (flag.kind, flag.message_id, flag.reported_by_id) == (
        "asked_before_escrow",
        message.pk,
        taro.pk,
    )
    assert _stats(hanako) == 1
    html = first.content.decode()
    assert 'data-testid="guard-flag"' not in html
    assert 'data-testid="guard-flagged"' in html

    again = web.post(_url(contract, "flag/"), {"message_id": message.pk}, follow=True)

    assert [str(m) for m in again.context["messages"]] == [
        _ja("You have already reported this on this contract.")
    ]
    assert ContractFlag.objects.count() == 1
    assert _stats(hanako) == 1


def test_only_the_worker_can_report(contract, hanako, taro, token_for):
    message = cs.contract_message_post(
        author=hanako, contract_id=contract.pk, body=ASK_BEFORE_ESCROW
    )

    page = _web(hanako).post(_url(contract, "flag/"), {"message_id": message.pk})
    api = Client().post(
        f"/api/v1/contracts/{contract.pk}/flags",
        {"kind": "asked_before_escrow", "message_id": message.pk},
        content_type="application/json",
        **_api(token_for, hanako),
    )

    assert page.status_code == 403
    assert (api.status_code, api.json()["code"]) == (403, "not_your_action")
    assert ContractFlag.objects.count() == 0
    assert _stats(hanako) == 0


def test_the_api_report_names_the_message_and_refuses_another_contracts(
    contract, hanako, taro, token_for
):
    other = hire(hanako, taro)
    elsewhere = cs.contract_message_post(author=hanako, contract_id=other.pk, body="別件です")
    own = cs.contract_message_post(author=taro, contract_id=contract.pk, body="承知しました")
    message = cs.contract_message_post(
        author=hanako, contract_id=contract.pk, body=ASK_BEFORE_ESCROW
    )

    def report(message_id: int) -> Any:
        return Client().post(
            f"/api/v1/contracts/{contract.pk}/flags",
            {"kind": "asked_before_escrow", "message_id": message_id},
            content_type="application/json",
            **_api(token_for, taro),
        )

    for wrong in (elsewhere.pk, own.pk):
        refused = report(wrong)
        assert (refused.status_code, refused.json()["field"]) == (422, "message_id")
    assert ContractFlag.objects.count() == 0

    accepted = report(message.pk)
    twice = report(message.pk)

    assert (accepted.status_code, accepted.json()["message_id"]) == (201, message.pk)
    assert (twice.status_code, twice.json()["code"]) == (409, "already_flagged")
    assert ContractFlag.objects.count() == 1


def test_the_openapi_document_describes_the_check_and_the_guards():
    document = Client().get("/api/v1/openapi.json").json()

    check = document["paths"]["/api/v1/messages/check"]["post"]
    assert set(check["responses"]) >= {"200", "401", "422"}
    schemas = document["components"]["schemas"]
    assert set(schemas["GuardCheckOut"]["properties"]) == {
        "categories",
        "version",
        "hits",
        "warnings",
    }
    assert "guards" in schemas["ContractMessageOut"]["properties"]
    assert "message_id" in schemas["FlagIn"]["properties"]
