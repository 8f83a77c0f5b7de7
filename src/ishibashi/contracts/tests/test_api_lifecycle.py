"""The milestone lifecycle over HTTP: escrow, work, delivery and inspection, changes, cancellation.

Each endpoint is a door to one service: these tests hold the main path of each, and that every
refusal reaches the client as {code, message, field} with nothing moved and nothing recorded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from ishibashi.contracts.models import ContractEvent, Delivery, Milestone
from ishibashi.contracts.selectors import milestone_actions
from ishibashi.contracts.tests.factories import deposit, hire
from ishibashi.ledger.selectors import wallet_summary_for_user

NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
NOT_FUNDED_EN = (
    "Escrow (仮払い) for this milestone is not funded yet. Do not start work before the "
    "client's escrow is complete."
)


@pytest.fixture(autouse=True)
def _fixed_now(time_machine, settings, tmp_path):
    time_machine.move_to(NOW, tick=False)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def hanako(make_user):
    return make_user(email="hanako@example.jp", display_name="発注 花子", is_worker=False)


@pytest.fixture
def taro(make_user):
    return make_user(email="taro@example.jp", display_name="受注 太郎", is_client=False)


@pytest.fixture
def third(make_user):
    return make_user(email="third@example.jp", display_name="第三 者")


@pytest.fixture
def operator(make_staff):
    return make_staff(email="ops@example.jp", display_name="オペレーター")


@pytest.fixture
def contract(hanako, taro):
    """Two milestones: 実作業 ¥60,000 (awaiting escrow) and 作業完了確認 ¥20,000 (draft)."""
    return hire(hanako, taro)


def first(contract: Any) -> Milestone:
    return contract.milestones.get(position=1)


def second(contract: Any) -> Milestone:
    return contract.milestones.get(position=2)


class Api:
    """Calls /api/v1 as a person with a bearer token (one per person: tokens are capped)."""

    def __init__(self, token_for: Any) -> None:
        self.token_for = token_for
        self.tokens: dict[int, str] = {}

    def _headers(self, user: Any, lang: str | None) -> dict[str, str]:
        if user.pk not in self.tokens:
            self.tokens[user.pk] = self.token_for(user)
        headers = {"HTTP_AUTHORIZATION": f"Bearer {self.tokens[user.pk]}"}
        if lang:
            headers["HTTP_ACCEPT_LANGUAGE"] = lang
        return headers

    def get(self, user: Any, path: str, lang: str | None = None, **params: Any) -> Any:
        return Client().get(f"/api/v1{path}", params, **self._headers(user, lang))

    def post(self, user: Any, path: str, body: Any = None, lang: str | None = None) -> Any:
        data = "" if body is None else json.dumps(body)
        return Client().post(
            f"/api/v1{path}", data, content_type="application/json", **self._headers(user, lang)
        )

    def upload(self, user: Any, path: str, form: dict[str, Any]) -> Any:
        return Client().post(f"/api/v1{path}", form, **self._headers(user, None))


@pytest.fixture
def call(token_for):
    return Api(token_for)


def at(value: str | None) -> dt.datetime | None:
    """An API time as an aware datetime (the API writes UTC with a Z)."""
    return None if value is None else dt.datetime.fromisoformat(value)


def actions_of(user: Any, milestone: Milestone) -> list[str]:
    """What the selector offers this person now: the API must show exactly that."""
    milestone.refresh_from_db()
    return milestone_actions(viewer=user, contract=milestone.contract, milestone=milestone)


def events(contract: Any) -> int:
    return ContractEvent.objects.filter(contract=contract).count()


def wallet(user: Any) -> tuple[int, int]:
    summary = wallet_summary_for_user(user=user)
    return summary.wallet_jpy, summary.escrow_jpy


def pdf(name: str = "移行手順書.pdf", content: bytes = b"%PDF-1.4 migrated") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def funded_and_started(call: Any, hanako: Any, taro: Any, contract: Any) -> Milestone:
    deposit(hanako, 100_000)
    milestone = first(contract)
    assert call.post(hanako, f"/milestones/{milestone.pk}/fund").status_code == 200
    assert call.post(taro, f"/milestones/{milestone.pk}/start").status_code == 200
    return milestone


def delivered(call: Any, hanako: Any, taro: Any, contract: Any) -> tuple[Milestone, dict]:
    milestone = funded_and_started(call, hanako, taro, contract)
    response = call.upload(
        taro,
        f"/milestones/{milestone.pk}/deliveries",
        {
            "message": "移行が完了しました。",
            "preview_files": [pdf("スクリーンショット.png", b"\x89PNG preview")],
            "full_files": [pdf()],
        },
    )
    assert response.status_code == 201, response.content
    return milestone, response.json()


# --- escrow ---------------------------------------------------------------------------------


def test_funding_moves_the_amount_into_escrow(call, hanako, taro, contract):
    # given
    deposit(hanako, 100_000)
    milestone = first(contract)

    # when
    response = call.post(hanako, f"/milestones/{milestone.pk}/fund")

    # then
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["state"], body["state_label"]) == (
        milestone.pk,
        "funded",
        "仮払い済み",
    )
    assert at(body["funded_at"]) == NOW
    assert body["clock"] is None
    assert wallet(hanako) == (40_000, 60_000)
    as_worker = call.get(taro, f"/milestones/{milestone.pk}").json()
    assert as_worker["actions"] == actions_of(taro, milestone)
    assert "start" in as_worker["actions"]


def test_funding_without_enough_money_moves_nothing(call, hanako, contract):
    # given
    deposit(hanako, 10_000)
    milestone = first(contract)
    before = events(contract)

    # when
    response = call.post(hanako, f"/milestones/{milestone.pk}/fund")

    # then
    assert response.status_code == 409
    assert response.json()["code"] == "exceeds_balance"
    assert wallet(hanako) == (10_000, 0)
    milestone.refresh_from_db()
    assert milestone.state == "awaiting_funding"
    assert events(contract) == before


def test_funding_twice_moves_the_money_once(call, hanako, contract):
    # given
    deposit(hanako, 200_000)
    milestone = first(contract)
    assert call.post(hanako, f"/milestones/{milestone.pk}/fund").status_code == 200
    before = events(contract)

    # when
    retry = call.post(hanako, f"/milestones/{milestone.pk}/fund")

    # then
    assert retry.status_code == 409
    assert retry.json()["code"] == "milestone_not_fundable"
    assert wallet(hanako) == (140_000, 60_000)
    assert events(contract) == before


def test_starting_before_escrow_is_refused_in_words(call, hanako, taro, contract):
    milestone = first(contract)

    response = call.post(taro, f"/milestones/{milestone.pk}/start", lang="en")

    assert response.status_code == 409
    assert response.json() == {
        "code": "milestone_not_funded",
        "message": NOT_FUNDED_EN,
        "state": "awaiting_funding",
    }
    milestone.refresh_from_db()
    assert (milestone.state, milestone.started_at) == ("awaiting_funding", None)


def test_the_worker_starts_once_funded(call, hanako, taro, contract):
    deposit(hanako, 60_000)
    milestone = first(contract)
    call.post(hanako, f"/milestones/{milestone.pk}/fund")

    response = call.post(taro, f"/milestones/{milestone.pk}/start")

    assert response.status_code == 200
    assert response.json()["state"] == "in_progress"
    assert at(response.json()["started_at"]) == NOW


def test_funding_is_requested_for_a_draft_milestone_with_its_clock(
    call, hanako, taro, contract, time_machine
):
    milestone = second(contract)

    response = call.post(taro, f"/milestones/{milestone.pk}/request-funding")

    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "awaiting_funding"
    assert at(body["funding_requested_at"]) == NOW
    assert body["clock"]["kind"] == "funding"
    assert body["clock"]["waiting_on"] == "client"
    assert body["clock"]["days_left"] == 7
    assert "request_funding" not in body["actions"]
    # The clock counts down as time passes.
    time_machine.move_to(NOW + dt.timedelta(days=3), tick=False)
    assert call.get(hanako, f"/milestones/{milestone.pk}").json()["clock"]["days_left"] == 4


@pytest.mark.parametrize(
    ("_case", "who", "path"),
    [
        ("worker funds", "taro", "fund"),
        ("client starts", "hanako", "start"),
    ],
)
def test_the_other_partys_action_is_a_403(call, hanako, taro, contract, _case, who, path):
    deposit(hanako, 60_000)
    milestone = first(contract)
    if path == "start":
        call.post(hanako, f"/milestones/{milestone.pk}/fund")
    actor = {"hanako": hanako, "taro": taro}[who]
    before = events(contract)

    response = call.post(actor, f"/milestones/{milestone.pk}/{path}")

    assert response.status_code == 403
    assert response.json()["code"] == "not_your_action"
    assert events(contract) == before


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/milestones/{m}"),
        ("post", "/milestones/{m}/fund"),
        ("post", "/milestones/{m}/start"),
        ("post", "/milestones/{m}/request-funding"),
        ("get", "/milestones/{m}/deliveries"),
        ("get", "/contracts/{c}/changes"),
        ("get", "/contracts/{c}/messages"),
    ],
)
def test_a_third_person_gets_the_same_404_as_for_nothing(
    call, hanako, third, contract, method, path
):
    deposit(third, 100_000)
    real = path.format(m=first(contract).pk, c=contract.pk)
    missing = path.format(m=999_999, c=999_999)

    hidden = getattr(call, method)(third, real)
    absent = getattr(call, method)(third, missing)

    assert hidden.status_code == absent.status_code == 404
    assert hidden.json() == absent.json()
    assert wallet(third) == (100_000, 0)


def test_a_browser_session_must_send_the_csrf_token(hanako, contract):
    deposit(hanako, 60_000)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(hanako)

    response = browser.post(f"/api/v1/milestones/{first(contract).pk}/fund")

    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"
    assert wallet(hanako) == (60_000, 0)


# --- delivery and inspection ----------------------------------------------------------------


def test_a_delivery_carries_its_files_with_their_digests(call, hanako, taro, contract):
    milestone, body = delivered(call, hanako, taro, contract)

    assert (body["milestone_id"], body["version"], body["message"]) == (
        milestone.pk,
        1,
        "移行が完了しました。",
    )
    assert body["is_report"] is False
    files = {f["name"]: f for f in body["files"]}
    full = files["移行手順書.pdf"]
    assert full["visibility"] == "full"
    assert full["size_bytes"] == len(b"%PDF-1.4 migrated")
    assert full["sha256"] == hashlib.sha256(b"%PDF-1.4 migrated").hexdigest()
    # The worker always has their own files.
    assert full["locked"] is False
    assert full["download_url"].endswith(f"/api/v1/delivery-files/{full['id']}/download")
    state = call.get(hanako, f"/milestones/{milestone.pk}").json()
    assert state["state"] == "delivered"
    assert at(state["first_delivered_at"]) == at(state["delivered_at"]) == NOW
    assert state["legal_release_due_at"] is not None
    assert state["clock"]["kind"] == "inspection"
    assert state["actions"] == actions_of(hanako, milestone)
    assert {"approve", "request_revision"} <= set(state["actions"])


def test_the_full_files_stay_locked_until_approval(call, hanako, taro, contract):
    # given
    milestone, body = delivered(call, hanako, taro, contract)
    delivery_id = body["id"]

    # when the client reads the delivery before approving
    listed = call.get(hanako, f"/milestones/{milestone.pk}/deliveries").json()

    # then the preview is open and the full file locked
    files = {f["visibility"]: f for f in listed["items"][0]["files"]}
    assert files["preview"]["locked"] is False
    assert files["preview"]["download_url"] is not None
    assert (files["full"]["locked"], files["full"]["download_url"]) == (True, None)
    locked = call.get(hanako, f"/delivery-files/{files['full']['id']}/download")
    assert locked.status_code == 403
    assert locked.json()["code"] == "deliverable_locked"
    preview = call.get(hanako, f"/delivery-files/{files['preview']['id']}/download")
    assert preview.status_code == 200
    assert b"".join(preview.streaming_content) == b"\x89PNG preview"

    # when the client approves
    approved = call.post(hanako, f"/deliveries/{delivery_id}/approve")

    # then the money is released and the full file opens
    assert approved.status_code == 200
    assert approved.json()["state"] == "released"
    assert at(approved.json()["approved_at"]) == NOW
    assert wallet_summary_for_user(user=taro).earnings_jpy > 0
    assert wallet(hanako) == (40_000, 0)
    download = call.get(hanako, f"/delivery-files/{files['full']['id']}/download")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"%PDF-1.4 migrated"
    disposition = download["Content-Disposition"]
    assert disposition.startswith("attachment")
    assert "filename*=utf-8''%E7%A7%BB%E8%A1%8C%E6%89%8B%E9%A0%86%E6%9B%B8.pdf" in disposition
    # Bytes to save, sandboxed, never cached: a download is never rendered by the browser.
    assert download["Content-Type"] == "application/octet-stream"
    assert download["Content-Security-Policy"].startswith("sandbox")
    assert download["Cache-Control"] == "private, no-store"


def test_approving_twice_releases_the_money_once(call, hanako, taro, contract):
    # given
    _milestone, body = delivered(call, hanako, taro, contract)
    assert call.post(hanako, f"/deliveries/{body['id']}/approve").status_code == 200
    earned = wallet_summary_for_user(user=taro).earnings_jpy
    before = events(contract)

    # when
    retry = call.post(hanako, f"/deliveries/{body['id']}/approve")

    # then
    assert retry.status_code == 409
    assert retry.json()["code"] == "milestone_state"
    assert wallet_summary_for_user(user=taro).earnings_jpy == earned
    assert wallet(hanako) == (40_000, 0)
    assert events(contract) == before


def test_a_third_person_cannot_download_a_delivered_file(call, hanako, taro, third, contract):
    _milestone, body = delivered(call, hanako, taro, contract)

    response = call.get(third, f"/delivery-files/{body['files'][0]['id']}/download")

    assert response.status_code == 404


def test_deliveries_are_listed_newest_first(call, hanako, taro, contract):
    milestone, body = delivered(call, hanako, taro, contract)
    call.post(
        hanako, f"/deliveries/{body['id']}/request-revision", {"reason": "表示崩れがあります"}
    )
    call.upload(
        taro,
        f"/milestones/{milestone.pk}/deliveries",
        {"message": "修正しました。", "full_files": [pdf("修正版.pdf")]},
    )

    listed = call.get(taro, f"/milestones/{milestone.pk}/deliveries").json()

    assert [d["version"] for d in listed["items"]] == [2, 1]
    assert listed["has_next"] is False


@pytest.mark.parametrize(
    ("_case", "form", "overrides"),
    [
        ("a forbidden type", {"full_files": [pdf("setup.exe")]}, {}),
        ("too many files", {"full_files": [pdf(f"{n}.pdf") for n in range(3)]}, {"n": 2}),
        ("an unknown file field", {"files": [pdf()]}, {}),
        ("an empty file", {"full_files": [pdf("empty.pdf", b"")]}, {}),
        (
            "a file over the size limit",
            {"full_files": [pdf(content=b"x" * 2_000)]},
            {"size": 1_000},
        ),
    ],
)
def test_a_bad_upload_is_a_422_and_delivers_nothing(
    call, hanako, taro, contract, settings, _case, form, overrides
):
    # given
    milestone = funded_and_started(call, hanako, taro, contract)
    settings.DELIVERY_FILES_MAX = overrides.get("n", 10)
    settings.DELIVERY_FILE_SIZE_MAX_BYTES = overrides.get("size", 20 * 1024 * 1024)
    before = events(contract)

    # when
    response = call.upload(
        taro, f"/milestones/{milestone.pk}/deliveries", {"message": "納品します。", **form}
    )

    # then
    assert response.status_code == 422, response.content
    assert response.json()["code"] == "invalid_input"
    assert response.json()["field"] in ("files", "full_files")
    assert response.json()["message"]
    assert Delivery.objects.filter(milestone=milestone).count() == 0
    milestone.refresh_from_db()
    assert milestone.state == "in_progress"
    assert events(contract) == before


def test_a_body_beyond_any_delivery_is_a_413(call, hanako, taro, contract, settings):
    milestone = funded_and_started(call, hanako, taro, contract)
    settings.DELIVERY_FILES_MAX = 1
    settings.DELIVERY_FILE_SIZE_MAX_BYTES = 1_000
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000

    response = call.upload(
        taro,
        f"/milestones/{milestone.pk}/deliveries",
        {"message": "納品します。", "full_files": [pdf(content=b"x" * 10_000)]},
    )

    assert response.status_code == 413
    assert response.json()["code"] == "upload_too_large"
    assert Delivery.objects.filter(milestone=milestone).count() == 0


def test_a_delivery_needs_a_message(call, hanako, taro, contract):
    milestone = funded_and_started(call, hanako, taro, contract)

    response = call.upload(taro, f"/milestones/{milestone.pk}/deliveries", {"full_files": [pdf()]})

    assert response.status_code == 422
    assert response.json()["field"] == "message"


def test_the_client_cannot_deliver(call, hanako, taro, contract):
    milestone = funded_and_started(call, hanako, taro, contract)

    response = call.upload(
        hanako, f"/milestones/{milestone.pk}/deliveries", {"message": "x", "full_files": [pdf()]}
    )

    assert response.status_code == 403


def test_revisions_stop_at_the_agreed_rounds(call, hanako, taro):
    # given a contract with one revision round, delivered twice
    contract = hire(hanako, taro, revision_rounds=1)
    milestone, body = delivered(call, hanako, taro, contract)
    revision = call.post(
        hanako, f"/deliveries/{body['id']}/request-revision", {"reason": "ロゴが古いままです"}
    )
    assert revision.status_code == 200
    assert (revision.json()["state"], revision.json()["revisions_used"]) == (
        "revision_requested",
        1,
    )
    assert revision.json()["revisions_left"] == 0
    again = call.upload(
        taro,
        f"/milestones/{milestone.pk}/deliveries",
        {"message": "修正しました。", "full_files": [pdf()]},
    )
    assert (
        "request_revision" not in call.get(hanako, f"/milestones/{milestone.pk}").json()["actions"]
    )
    before = events(contract)

    # when the client asks for another round
    response = call.post(
        hanako,
        f"/deliveries/{again.json()['id']}/request-revision",
        {"reason": "もう一度"},
        lang="en",
    )

    # then
    assert response.status_code == 409
    assert response.json()["code"] == "revision_limit_reached"
    assert "All 1 revision rounds" in response.json()["message"]
    milestone.refresh_from_db()
    assert (milestone.state, milestone.revisions_used) == ("delivered", 1)
    assert events(contract) == before


def test_inspecting_an_older_version_is_refused(call, hanako, taro, contract):
    milestone, body = delivered(call, hanako, taro, contract)
    call.post(hanako, f"/deliveries/{body['id']}/request-revision", {"reason": "表示崩れ"})
    call.upload(
        taro, f"/milestones/{milestone.pk}/deliveries", {"message": "v2", "full_files": [pdf()]}
    )

    response = call.post(hanako, f"/deliveries/{body['id']}/approve")

    assert response.status_code == 409
    assert response.json()["code"] == "delivery_superseded"


@pytest.mark.parametrize(
    ("_case", "body", "field"),
    [
        ("blank", {"reason": "   "}, "reason"),
        ("missing", {}, "reason"),
        ("not text", {"reason": ["a"]}, "reason"),
    ],
)
def test_a_revision_needs_a_written_reason(call, hanako, taro, contract, _case, body, field):
    milestone, delivery = delivered(call, hanako, taro, contract)
    before = events(contract)

    response = call.post(hanako, f"/deliveries/{delivery['id']}/request-revision", body)

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_input"
    assert response.json()["field"] == field
    milestone.refresh_from_db()
    assert milestone.state == "delivered"
    assert events(contract) == before


# --- disputes -------------------------------------------------------------------------------


def test_a_dispute_is_frozen_and_resolved_by_an_operator(call, hanako, taro, operator, contract):
    # given
    milestone = funded_and_started(call, hanako, taro, contract)

    # when the worker opens a dispute
    opened = call.post(taro, f"/milestones/{milestone.pk}/dispute", {"reason": "返信がありません"})

    # then
    assert opened.status_code == 200
    assert opened.json()["state"] == "disputed"
    assert call.get(hanako, f"/contracts/{contract.pk}").json()["state"] == "in_dispute"
    not_yours = call.post(hanako, f"/milestones/{milestone.pk}/dispute/freeze", {"note": "x"})
    assert (not_yours.status_code, not_yours.json()["code"]) == (403, "operators_only")
    as_operator = call.get(operator, f"/milestones/{milestone.pk}").json()
    assert {"resolve", "freeze_dispute"} <= set(as_operator["actions"])

    # when the operator freezes and rules
    frozen = call.post(operator, f"/milestones/{milestone.pk}/dispute/freeze", {"note": "確認中"})
    too_much = call.post(
        operator,
        f"/milestones/{milestone.pk}/dispute/resolve",
        {"worker_amount_jpy": 60_001, "note": "x"},
    )
    ruled = call.post(
        operator,
        f"/milestones/{milestone.pk}/dispute/resolve",
        {"worker_amount_jpy": 30_000, "note": "作業の半分が完了"},
    )

    # then
    assert frozen.status_code == 200
    assert frozen.json()["dispute_frozen"] is True
    assert (too_much.status_code, too_much.json()["field"]) == (422, "worker_amount_jpy")
    assert ruled.status_code == 200
    assert ruled.json()["state"] == "resolved"
    assert wallet(hanako) == (70_000, 0)
    assert wallet_summary_for_user(user=taro).earnings_jpy > 0


def test_a_dispute_needs_a_reason(call, hanako, taro, contract):
    milestone = funded_and_started(call, hanako, taro, contract)

    response = call.post(taro, f"/milestones/{milestone.pk}/dispute", {"reason": ""})

    assert (response.status_code, response.json()["field"]) == (422, "reason")


# --- cancellation ---------------------------------------------------------------------------


def test_cancelling_before_work_refunds_the_escrow(call, hanako, taro, contract):
    # given
    deposit(hanako, 60_000)
    call.post(hanako, f"/milestones/{first(contract).pk}/fund")

    # when
    response = call.post(hanako, f"/contracts/{contract.pk}/cancel", {"reason": "予算がなくなった"})

    # then
    assert response.status_code == 200
    body = response.json()
    assert (body["state"], at(body["cancelled_at"])) == ("cancelled", NOW)
    assert [m["state"] for m in body["milestones"]] == ["refunded", "cancelled"]
    assert body["actions"] == []
    assert wallet(hanako) == (60_000, 0)
    again = call.post(hanako, f"/contracts/{contract.pk}/cancel", {"reason": "再送"})
    assert (again.status_code, again.json()["code"]) == (409, "contract_ended")


def test_a_cancellation_needs_a_reason(call, hanako, contract):
    response = call.post(hanako, f"/contracts/{contract.pk}/cancel", {"reason": " "})

    assert (response.status_code, response.json()["field"]) == (422, "reason")
    contract.refresh_from_db()
    assert contract.cancelled_at is None


def test_started_work_cancelled_by_the_client_pays_the_kill_fee(
    call, token_for, hanako, taro, contract
):
    # given started work on a contract with a 20 % kill fee
    contract.kill_fee_percent = 20
    contract.save(update_fields=["kill_fee_percent"])
    milestone = funded_and_started(call, hanako, taro, contract)

    # when the client cancels
    cancelled = call.post(hanako, f"/contracts/{contract.pk}/cancel", {"reason": "中止します"})

    # then the started work waits for the worker's answer
    assert cancelled.status_code == 200
    waiting = next(m for m in cancelled.json()["milestones"] if m["id"] == milestone.pk)
    assert waiting["state"] == "in_progress"
    assert at(waiting["cancellation_requested_at"]) == NOW
    assert waiting["clock"]["kind"] == "cancellation_answer"
    assert waiting["clock"]["waiting_on"] == "worker"
    assert "accept_cancellation" in call.get(taro, f"/milestones/{milestone.pk}").json()["actions"]
    refused = call.post(hanako, f"/milestones/{milestone.pk}/accept-cancellation")
    assert refused.status_code == 403

    # when the worker accepts
    accepted = call.post(taro, f"/milestones/{milestone.pk}/accept-cancellation")

    # then 20 % goes to the worker and the rest back
    assert accepted.status_code == 200
    assert accepted.json()["state"] == "cancelled"
    assert wallet(hanako) == (40_000 + 48_000, 0)
    assert call.get(taro, f"/contracts/{contract.pk}").json()["state"] == "cancelled"


def test_a_monthly_notice_can_be_accepted_early_by_the_worker(call, hanako, taro):
    contract = hire(hanako, taro, contract_type="monthly", split=(("月額保守", "monthly", 50_000),))
    notice = call.post(hanako, f"/contracts/{contract.pk}/cancel", {"reason": "終了します"})
    assert notice.status_code == 200
    body = notice.json()
    assert at(body["termination_effective_at"]) == NOW + dt.timedelta(days=30)
    assert body["state"] == "active"
    assert (
        "accept_early_termination" in call.get(taro, f"/contracts/{contract.pk}").json()["actions"]
    )
    assert call.post(hanako, f"/contracts/{contract.pk}/accept-early-termination").status_code == (
        403
    )

    response = call.post(taro, f"/contracts/{contract.pk}/accept-early-termination")

    assert response.status_code == 200
    assert response.json()["state"] == "cancelled"


def test_early_termination_without_a_notice_is_a_409(call, taro, contract):
    response = call.post(taro, f"/contracts/{contract.pk}/accept-early-termination")

    assert (response.status_code, response.json()["code"]) == (409, "no_termination_pending")


# --- changes --------------------------------------------------------------------------------


def test_an_accepted_change_becomes_terms_version_2(call, hanako, taro, contract):
    # given
    due = (NOW.date() + dt.timedelta(days=40)).isoformat()
    proposed = call.post(
        taro,
        f"/contracts/{contract.pk}/changes",
        {
            "message": "追加のページ移行をお願いされたので追加します。",
            "milestones": [{"id": second(contract).pk, "amount_jpy": 25_000}],
            "add": [
                {
                    "title": "追加ページ移行",
                    "kind": "main_work",
                    "amount_jpy": 30_000,
                    "due_on": due,
                }
            ],
            "kill_fee_percent": 10,
        },
    )
    assert proposed.status_code == 201, proposed.content
    change = proposed.json()
    assert (change["state"], change["price_delta_jpy"]) == ("proposed", 35_000)
    assert change["proposed_by"]["id"] == taro.pk
    assert change["changes"]["add"][0]["title"] == "追加ページ移行"
    listed = call.get(hanako, f"/contracts/{contract.pk}/changes").json()
    assert [c["id"] for c in listed["items"]] == [change["id"]]
    own = call.post(taro, f"/changes/{change['id']}/accept")
    assert (own.status_code, own.json()["code"]) == (403, "not_your_action")

    # when the client accepts
    accepted = call.post(hanako, f"/changes/{change['id']}/accept")

    # then
    assert accepted.status_code == 200
    assert (accepted.json()["state"], accepted.json()["resulting_terms_version"]) == ("accepted", 2)
    body = call.get(hanako, f"/contracts/{contract.pk}").json()
    assert body["terms_version"] == body["terms"]["version"] == 2
    assert body["kill_fee_percent"] == 10
    assert [v["version"] for v in body["terms_versions"]] == [2, 1]
    assert all(len(v["snapshot_sha256"]) == 64 for v in body["terms_versions"])
    assert body["terms"]["snapshot"]["total_jpy"] == 115_000
    assert [(m["title"], m["amount_jpy"]) for m in body["milestones"]] == [
        ("実作業", 60_000),
        ("作業完了確認", 25_000),
        ("追加ページ移行", 30_000),
    ]


def test_one_change_at_a_time_and_the_proposer_may_withdraw(call, hanako, taro, contract):
    first_change = call.post(
        hanako, f"/contracts/{contract.pk}/changes", {"message": "範囲変更", "scope": "新しい範囲"}
    ).json()

    second_change = call.post(
        taro, f"/contracts/{contract.pk}/changes", {"message": "別案", "scope": "別の範囲"}
    )
    not_yours = call.post(taro, f"/changes/{first_change['id']}/withdraw")
    withdrawn = call.post(hanako, f"/changes/{first_change['id']}/withdraw")

    assert (second_change.status_code, second_change.json()["code"]) == (409, "change_pending")
    assert not_yours.status_code == 403
    assert withdrawn.status_code == 200
    assert withdrawn.json()["state"] == "withdrawn"


def test_a_declined_change_keeps_the_terms(call, hanako, taro, contract):
    change = call.post(
        taro, f"/contracts/{contract.pk}/changes", {"message": "値上げ", "scope": "拡大"}
    ).json()

    declined = call.post(hanako, f"/changes/{change['id']}/decline", {"note": "今回は見送ります"})
    bare = call.post(hanako, f"/changes/{change['id']}/decline")

    assert declined.status_code == 200
    assert (declined.json()["state"], declined.json()["answer_note"]) == (
        "declined",
        "今回は見送ります",
    )
    assert (bare.status_code, bare.json()["code"]) == (409, "change_closed")
    assert call.get(taro, f"/contracts/{contract.pk}").json()["terms_version"] == 1


@pytest.mark.parametrize(
    ("_case", "body", "field"),
    [
        ("no message", {"scope": "x"}, "message"),
        ("nothing changes", {"message": "x"}, "milestones"),
        (
            "a price as text",
            {"message": "x", "milestones": [{"id": 1, "amount_jpy": "高い"}]},
            "milestones[0].amount_jpy",
        ),
        (
            "an unknown milestone",
            {"message": "x", "milestones": [{"id": 999_999, "title": "y"}]},
            "milestones[0]",
        ),
        (
            "a past date",
            {
                "message": "x",
                "add": [
                    {"title": "y", "kind": "main_work", "amount_jpy": 1000, "due_on": "2020-01-01"}
                ],
            },
            "add[0].due_on",
        ),
        ("a kill fee too high", {"message": "x", "kill_fee_percent": 99}, "kill_fee_percent"),
    ],
)
def test_a_bad_change_is_a_422_naming_the_field(call, taro, contract, _case, body, field):
    before = events(contract)

    response = call.post(taro, f"/contracts/{contract.pk}/changes", body)

    assert response.status_code == 422, response.content
    assert response.json()["field"] == field
    assert events(contract) == before


# --- flags and messages ---------------------------------------------------------------------


def test_the_worker_flags_work_asked_before_escrow_once(call, hanako, taro, contract):
    response = call.post(
        taro,
        f"/contracts/{contract.pk}/flags",
        {"kind": "asked_before_escrow", "note": "先に作業をと言われました"},
    )
    again = call.post(taro, f"/contracts/{contract.pk}/flags", {"kind": "asked_before_escrow"})
    by_client = call.post(
        hanako, f"/contracts/{contract.pk}/flags", {"kind": "asked_before_escrow"}
    )
    unknown = call.post(taro, f"/contracts/{contract.pk}/flags", {"kind": "rude"})

    assert response.status_code == 201
    assert (response.json()["kind"], response.json()["note"]) == (
        "asked_before_escrow",
        "先に作業をと言われました",
    )
    assert (again.status_code, again.json()["code"]) == (409, "already_flagged")
    assert by_client.status_code == 403
    assert (unknown.status_code, unknown.json()["field"]) == (422, "kind")
    assert "flag" not in call.get(taro, f"/contracts/{contract.pk}").json()["actions"]


def test_the_contract_thread(call, hanako, taro, third, contract):
    posted = call.post(taro, f"/contracts/{contract.pk}/messages", {"body": "進捗を共有します。"})
    blank = call.post(taro, f"/contracts/{contract.pk}/messages", {"body": ""})
    outsider = call.post(third, f"/contracts/{contract.pk}/messages", {"body": "こんにちは"})

    assert posted.status_code == 201
    assert posted.json()["author"] == {"id": taro.pk, "display_name": "受注 太郎"}
    assert (blank.status_code, blank.json()["field"]) == (422, "body")
    assert outsider.status_code == 404
    thread = call.get(hanako, f"/contracts/{contract.pk}/messages").json()
    assert [m["body"] for m in thread["items"]] == ["進捗を共有します。"]
    assert thread["next_after"] is None


# --- the contract as a whole ----------------------------------------------------------------


def test_a_contract_shows_its_clocks_actions_and_terms_versions(call, hanako, taro, contract):
    as_client = call.get(hanako, f"/contracts/{contract.pk}").json()
    as_worker = call.get(taro, f"/contracts/{contract.pk}").json()

    assert as_client["kill_fee_percent"] == 0
    assert as_client["cancelled_at"] is None
    assert as_client["termination_effective_at"] is None
    assert [v["version"] for v in as_client["terms_versions"]] == [1]
    assert as_client["actions"] == ["message", "cancel", "propose_change"]
    assert as_worker["actions"] == ["message", "cancel", "propose_change", "flag"]
    waiting, draft = as_client["milestones"]
    assert waiting["clock"]["kind"] == "funding"
    assert waiting["clock"]["waiting_on"] == "client"
    assert waiting["actions"] == actions_of(hanako, first(contract)) == ["fund"]
    assert (waiting["revisions_used"], waiting["revisions_left"]) == (0, 2)
    assert draft["clock"] is None
    assert draft["actions"] == actions_of(hanako, second(contract))
    assert "fund" in draft["actions"]
    assert as_worker["milestones"][0]["actions"] == actions_of(taro, first(contract)) == []


def test_the_hire_sets_the_kill_fee(call, hanako, taro):
    from ishibashi.jobs.services import (
        JobInput,
        MilestoneInput,
        ProposalInput,
        job_create,
        proposal_create,
    )

    def proposal() -> int:
        job = job_create(
            client=hanako,
            data=JobInput(
                title="LP制作",
                description="ランディングページを作ってください。",
                category="web_development",
                contract_type="fixed",
                budget_min_jpy=30_000,
                budget_max_jpy=60_000,
                recruiting_deadline=NOW + dt.timedelta(days=7),
                desired_delivery_on=NOW.date() + dt.timedelta(days=30),
                scope_deliverables="LP一式",
                scope_acceptance_criteria="表示されること",
            ),
            publish=True,
        )
        due = NOW.date() + dt.timedelta(days=20)
        return proposal_create(
            worker=taro,
            job_id=job.pk,
            data=ProposalInput(
                cover_letter="お任せください。",
                total_jpy=50_000,
                milestones=[
                    MilestoneInput(title="制作", kind="main_work", amount_jpy=50_000, due_on=due)
                ],
            ),
        ).pk

    too_high = call.post(hanako, f"/proposals/{proposal()}/hire", {"kill_fee_percent": 90})
    hired = call.post(hanako, f"/proposals/{proposal()}/hire", {"kill_fee_percent": 30})

    assert (too_high.status_code, too_high.json()["field"]) == (422, "kill_fee_percent")
    assert hired.status_code == 201
    assert hired.json()["kill_fee_percent"] == 30
    assert hired.json()["terms"]["snapshot"]["kill_fee_percent"] == 30


def test_the_openapi_schema_builds_with_the_lifecycle(db):
    response = Client().get("/api/v1/openapi.json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/v1/milestones/{milestone_id}/fund" in paths
    assert (
        "multipart/form-data"
        in (paths["/api/v1/milestones/{milestone_id}/deliveries"]["post"]["requestBody"]["content"])
    )
