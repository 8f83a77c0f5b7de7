"""The seed accounts (shared/seeds/) replayed end to end: what went wrong there, and what happens here.

(a) 音信不通: the client says 「確認します」 after the delivery and is never heard from again —
    reminders go out, the delivery is approved automatically, the worker is paid, and the
    client's record shows the silence.
(b) 待機だけで逃げられた: research and the night stand-by were done, the main work never happened
    (the target server was already filled and the client vanished) — the split pay means those
    two parts are paid on a report with no file, and the main work ends without anybody's money
    lost.
(c) 納期直前の大きな仕様変更 「納期は同じです」: the change goes through a priced change request,
    or nowhere — the funded work's price cannot be raised, the extra work becomes a milestone
    funded before it starts, and a declined or unanswered change leaves the terms as they were.

Each story runs once through the services and once through the HTTP API an integrator uses.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from ishibashi.contracts import services as cs
from ishibashi.contracts.models import (
    ClientContractStats,
    ContractEvent,
    ContractState,
    ContractTerms,
    Milestone,
    MilestoneState,
)
from ishibashi.contracts.services import DeliveryUpload, MilestoneAddition, MilestoneEdit
from ishibashi.contracts.tests.factories import SEED_SPLIT, SIMPLE_SPLIT, deposit, hire
from ishibashi.core.errors import Conflict, InvalidInput
from ishibashi.ledger import rules
from ishibashi.ledger.models import LedgerAccount, Transfer
from ishibashi.ledger.selectors import books_check

JST = ZoneInfo("Asia/Tokyo")
NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=JST)
DAY = dt.timedelta(days=1)
DEPOSIT = 500_000
S = MilestoneState


@pytest.fixture(autouse=True)
def _fixed_now(time_machine, settings, tmp_path):
    time_machine.move_to(NOW, tick=False)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def hanako(make_user):
    """The client: a company that pays salaries, so it withholds tax where the law says so."""
    user = make_user(
        email="hanako@example.jp", display_name="発注 花子", is_worker=False,
        entity_type="corporation",
    )  # fmt: skip
    user.is_withholding_agent = True
    user.save(update_fields=["is_withholding_agent"])
    deposit(user, DEPOSIT)
    return user


@pytest.fixture
def umentu(make_user):
    """The worker of the seeds: an individual freelancer doing this on the side (副業)."""
    return make_user(email="umentu@example.jp", display_name="umentu", is_client=False)


# --- helpers -------------------------------------------------------------------------------------


def _milestones(contract: Any) -> list[Milestone]:
    return list(Milestone.objects.filter(contract=contract).order_by("position"))


def _balance(key: str) -> int:
    account = LedgerAccount.objects.filter(key=key).first()
    return account.balance_jpy if account else 0


def _earnings(user: Any) -> int:
    return _balance(f"earnings:user:{user.pk}")


def _wallet(user: Any) -> int:
    return _balance(f"wallet:user:{user.pk}")


def _net(amount: int, *, withholding: bool) -> int:
    return rules.release_split(
        gross_jpy=amount, fee_rate_bps=1000, withholding_applies=withholding
    ).net_jpy


def _stats(user: Any) -> ClientContractStats:
    return ClientContractStats.objects.get_or_create(client=user)[0]


def _sweep_at(time_machine: Any, moment: dt.datetime) -> None:
    time_machine.move_to(moment, tick=False)
    for _round in range(10):
        if not cs.milestones_sweep_due():
            break
    cs.changes_expire_due()


def _moved(milestone: Milestone) -> list[str]:
    return list(
        Transfer.objects.filter(reference=milestone.escrow_reference)
        .order_by("pk")
        .values_list("reason", flat=True)
    )


def _books_and_chain_hold(contract: Any) -> None:
    assert books_check() == []
    assert cs.events_verify(contract=contract) is None


class Caller:
    """One person talking to the API with their bearer token."""

    def __init__(self, token: str) -> None:
        self.http = Client()
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    def get(self, path: str, **params: Any) -> Any:
        return self.http.get(f"/api/v1{path}", params, **self.headers)

    def post(self, path: str, body: Any = None) -> Any:
        data = "" if body is None else json.dumps(body)
        return self.http.post(
            f"/api/v1{path}", data, content_type="application/json", **self.headers
        )

    def deliver(self, milestone_id: int, message: str, **files: list[Any]) -> Any:
        return self.http.post(
            f"/api/v1/milestones/{milestone_id}/deliveries", {"message": message, **files},
            **self.headers,
        )  # fmt: skip


@pytest.fixture
def as_user(token_for):
    return lambda user: Caller(token_for(user))


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.content
    return response.json()


def _refused(response: Any, *, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code
    assert body["message"].strip()
    if field is not None:
        assert body["field"] == field
    return body


def _file(name: str, content: bytes = b"data") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


# --- (a) the client who vanishes after the delivery ----------------------------------------------


@pytest.mark.parametrize(
    ("category", "withholding"), [("web_development", False), ("design", True)]
)
def test_a_client_who_vanishes_after_the_delivery_still_pays_through_the_services(
    hanako, umentu, time_machine, mailoutbox, django_capture_on_commit_callbacks,
    category, withholding,
):  # fmt: skip
    contract = hire(hanako, umentu, category=category)
    assert contract.withholding_applies is withholding
    main, check = _milestones(contract)
    # 「納期が厳しいので、先に作業をして欲しい」: the worker cannot start, and reports the request.
    with pytest.raises(Conflict) as refusal:
        cs.milestone_start(worker=umentu, milestone_id=main.pk)
    assert refusal.value.code == "milestone_not_funded"
    cs.contract_flag(
        worker=umentu, contract_id=contract.pk, kind="asked_before_escrow",
        note="納期が厳しいので先に作業をして欲しいと言われました",
    )  # fmt: skip
    cs.milestone_fund(client=hanako, milestone_id=main.pk)
    cs.milestone_start(worker=umentu, milestone_id=main.pk)
    delivery = cs.delivery_create(
        worker=umentu, milestone_id=main.pk, message="コーディングが完了しました。",
        uploads=[DeliveryUpload(file=_file("site.zip"), visibility="full")],
    )  # fmt: skip
    cs.contract_message_post(author=hanako, contract_id=contract.pk, body="確認します。")
    mailoutbox.clear()

    # …and nothing more from the client. The worker need not chase anybody.
    with django_capture_on_commit_callbacks(execute=True):
        for moment in (3.5 * DAY, 7 * DAY * 0.85, 6 * DAY, 7 * DAY):
            _sweep_at(time_machine, NOW + moment)

    reminders = [m for m in mailoutbox if m.to == [hanako.email] and "2026-11-30" in m.subject]
    assert len(reminders) == 3
    main.refresh_from_db()
    assert main.state == S.RELEASED
    assert main.approved_at == NOW + 7 * DAY
    assert _earnings(umentu) == _net(60_000, withholding=withholding)
    assert _earnings(umentu) == 60_000 - 6_000 - (6_126 if withholding else 0)
    assert _balance(f"withholding_payable:user:{hanako.pk}") == (6_126 if withholding else 0)
    assert _moved(main) == ["escrow_fund", "escrow_release"]
    stats = _stats(hanako)
    assert (stats.auto_approvals, stats.escrow_before_work_flags) == (1, 1)
    auto = ContractEvent.objects.get(milestone=main, action="auto_approve")
    assert auto.payload["silent_client"] is True
    assert auto.created_at == NOW + 7 * DAY
    # The contract goes on: the completion check is asked for, on its own funding clock.
    check.refresh_from_db()
    assert check.state == S.AWAITING_FUNDING
    assert delivery.files.get().visibility == "full"
    _books_and_chain_hold(contract)


def test_a_client_who_vanishes_after_the_delivery_still_pays_through_the_api(
    hanako, umentu, as_user, time_machine, mailoutbox, django_capture_on_commit_callbacks
):
    contract = hire(hanako, umentu, category="design")
    client, worker = as_user(hanako), as_user(umentu)
    main = _milestones(contract)[0]

    body = _refused(
        worker.post(f"/milestones/{main.pk}/start"), status=409, code="milestone_not_funded"
    )
    assert "仮払い" in body["message"]
    _ok(
        worker.post(
            f"/contracts/{contract.pk}/flags",
            {"kind": "asked_before_escrow", "note": "先に作業をと言われた"},
        ),
        201,
    )
    assert _ok(client.post(f"/milestones/{main.pk}/fund"))["state"] == "funded"
    assert _ok(worker.post(f"/milestones/{main.pk}/start"))["state"] == "in_progress"
    delivered = _ok(
        worker.deliver(
            main.pk, "コーディングが完了しました。",
            preview_files=[_file("top.png", b"\x89PNG preview")], full_files=[_file("site.zip", b"PK site")],
        ),
        201,
    )  # fmt: skip
    assert delivered["version"] == 1
    files = {
        f["name"]: f
        for f in _ok(client.get(f"/milestones/{main.pk}/deliveries"))["items"][0]["files"]
    }
    assert (files["top.png"]["locked"], files["site.zip"]["locked"]) == (False, True)
    assert files["site.zip"]["download_url"] is None
    full_id = files["site.zip"]["id"]
    _refused(
        client.get(f"/delivery-files/{full_id}/download"), status=403, code="deliverable_locked"
    )
    _ok(client.post(f"/contracts/{contract.pk}/messages", {"body": "確認します。"}), 201)
    milestone = _ok(client.get(f"/milestones/{main.pk}"))
    assert milestone["clock"]["kind"] == "inspection"
    assert milestone["clock"]["waiting_on"] == "client"
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        for moment in (3.5 * DAY, 7 * DAY * 0.85, 6 * DAY, 7 * DAY):
            _sweep_at(time_machine, NOW + moment)

    assert len([m for m in mailoutbox if "2026-11-30" in m.subject]) == 3
    paid = _ok(worker.get(f"/milestones/{main.pk}"))
    assert paid["state"] == "released"
    assert _earnings(umentu) == 60_000 - 6_000 - 6_126
    files = {
        f["name"]: f
        for f in _ok(client.get(f"/milestones/{main.pk}/deliveries"))["items"][0]["files"]
    }
    assert files["site.zip"]["locked"] is False
    download = client.get(f"/delivery-files/{full_id}/download")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"PK site"
    events = _ok(worker.get(f"/contracts/{contract.pk}/events"))
    assert events["chain_intact"] is True
    auto = [e for e in events["items"] if e["action"] == "auto_approve"]
    assert len(auto) == 1
    assert auto[0]["actor"] is None
    assert auto[0]["payload"]["silent_client"] is True
    assert _stats(hanako).auto_approvals == 1
    _books_and_chain_hold(contract)


# --- (b) the stand-by paid though the main work never happened -----------------------------------


def _research_and_stand_by_done(contract: Any, hanako: Any, umentu: Any, time_machine: Any) -> None:
    """事前調査 approved at once; 深夜待機 delivered as a report, then the client goes quiet."""
    research, standby, _main, _check = _milestones(contract)
    cs.milestone_fund(client=hanako, milestone_id=research.pk)
    report = cs.delivery_create(
        worker=umentu, milestone_id=research.pk,
        message="移行元・移行先サーバーの要件を確認しました。移行先は空です。",
    )  # fmt: skip
    assert (report.is_report, report.files.count()) == (True, 0)
    cs.delivery_approve(client=hanako, delivery_id=report.pk)
    standby.refresh_from_db()
    assert standby.state == S.AWAITING_FUNDING  # asked for as soon as research was paid
    cs.milestone_fund(client=hanako, milestone_id=standby.pk)
    time_machine.move_to(NOW + dt.timedelta(hours=16), tick=False)  # 02:00, the night slot
    cs.delivery_create(
        worker=umentu, milestone_id=standby.pk,
        message="深夜2時まで待機しました。移行しようとしたところ、移行先に既にファイルが設置されていました。",
    )  # fmt: skip
    cs.contract_message_post(
        author=umentu,
        contract_id=contract.pk,
        body="移行先に既にファイルがあります。ご確認ください。",
    )
    cs.contract_message_post(
        author=hanako, contract_id=contract.pk, body="確認のため時間をください。"
    )
    _sweep_at(time_machine, NOW + dt.timedelta(hours=16) + 7 * DAY)


def test_the_stand_by_is_paid_and_the_unfunded_main_work_closes_without_penalty(
    hanako, umentu, time_machine
):
    contract = hire(hanako, umentu, split=SEED_SPLIT, kill_fee_percent=30)
    _research, _standby, main, check = _milestones(contract)

    _research_and_stand_by_done(contract, hanako, umentu, time_machine)
    main.refresh_from_db()
    assert main.state == S.AWAITING_FUNDING
    # The client never funds the main work: it closes with the rest of the contract.
    _sweep_at(time_machine, main.clock_deadline_at)

    contract.refresh_from_db()
    states = [m.state for m in _milestones(contract)]
    assert states == [S.RELEASED, S.RELEASED, S.CANCELLED, S.CANCELLED]
    assert contract.state == ContractState.CANCELLED
    assert _earnings(umentu) == _net(20_000, withholding=False) + _net(30_000, withholding=False)
    assert _wallet(hanako) == DEPOSIT - 20_000 - 30_000
    assert _moved(main) == []
    assert _moved(check) == []
    stats = _stats(hanako)
    assert (stats.auto_approvals, stats.funding_requests_unanswered) == (1, 1)
    _books_and_chain_hold(contract)


def test_the_stand_by_is_paid_and_the_funded_main_work_is_refunded_when_cancelled(
    hanako, umentu, time_machine
):
    contract = hire(hanako, umentu, split=SEED_SPLIT, kill_fee_percent=30)
    _research_and_stand_by_done(contract, hanako, umentu, time_machine)
    main = _milestones(contract)[2]
    cs.milestone_fund(client=hanako, milestone_id=main.pk)

    # Nothing can be migrated; the worker never starts, and the main work is called off.
    cs.contract_cancel(
        actor=umentu, contract_id=contract.pk, reason="移行先が既に使われており作業できません"
    )

    contract.refresh_from_db()
    assert [m.state for m in _milestones(contract)] == [
        S.RELEASED,
        S.RELEASED,
        S.REFUNDED,
        S.CANCELLED,
    ]
    assert contract.state == ContractState.CANCELLED
    assert _moved(main) == ["escrow_fund", "escrow_refund"]
    assert _wallet(hanako) == DEPOSIT - 20_000 - 30_000
    assert _earnings(umentu) == _net(20_000, withholding=False) + _net(30_000, withholding=False)
    _books_and_chain_hold(contract)


def test_started_main_work_abandoned_by_a_silent_client_pays_the_kill_fee(
    hanako, umentu, time_machine
):
    contract = hire(hanako, umentu, split=SEED_SPLIT, kill_fee_percent=30)
    _research_and_stand_by_done(contract, hanako, umentu, time_machine)
    main = _milestones(contract)[2]
    cs.milestone_fund(client=hanako, milestone_id=main.pk)
    cs.milestone_start(worker=umentu, milestone_id=main.pk)
    cs.contract_message_post(
        author=umentu, contract_id=contract.pk, body="既存ファイルを上書きしてよいですか？"
    )
    main.refresh_from_db()

    _sweep_at(time_machine, main.clock_deadline_at)  # a week without an answer
    cs.contract_cancel(actor=umentu, contract_id=contract.pk, reason="ご連絡がないため終了します")

    main.refresh_from_db()
    assert main.state == S.CANCELLED
    assert _earnings(umentu) == sum(
        _net(amount, withholding=False) for amount in (20_000, 30_000, 30_000)
    )
    assert _wallet(hanako) == DEPOSIT - 20_000 - 30_000 - 30_000
    _books_and_chain_hold(contract)


def test_the_stand_by_is_paid_on_a_report_and_the_main_work_closes_through_the_api(
    hanako, umentu, as_user, time_machine
):
    contract = hire(hanako, umentu, split=SEED_SPLIT, kill_fee_percent=30)
    client, worker = as_user(hanako), as_user(umentu)
    research, standby, main, check = (m.pk for m in _milestones(contract))

    _ok(client.post(f"/milestones/{research}/fund"))
    report = _ok(worker.deliver(research, "移行先サーバーは空でした。"), 201)
    assert (report["is_report"], report["files"]) == (True, [])
    assert _ok(client.post(f"/deliveries/{report['id']}/approve"))["state"] == "released"
    assert _ok(client.get(f"/milestones/{standby}"))["state"] == "awaiting_funding"
    _ok(client.post(f"/milestones/{standby}/fund"))
    # A main-work milestone cannot pass off a report as its delivery.
    _ok(client.post(f"/milestones/{main}/fund"))
    _refused(
        worker.deliver(main, "作業できませんでした"),
        status=422,
        code="invalid_input",
        field="files",
    )
    time_machine.move_to(NOW + dt.timedelta(hours=16), tick=False)
    standby_report = _ok(
        worker.deliver(standby, "深夜2時まで待機しました。移行先に既にファイルがありました。"), 201
    )
    assert standby_report["is_report"] is True
    _ok(
        worker.post(
            f"/contracts/{contract.pk}/messages", {"body": "移行先に既にファイルがあります。"}
        ),
        201,
    )

    # The client vanishes: the stand-by is approved automatically…
    _sweep_at(time_machine, NOW + dt.timedelta(hours=16) + 7 * DAY)
    assert _ok(worker.get(f"/milestones/{standby}"))["state"] == "released"
    # …and the worker, who never started the main work, calls it off: it goes back in full.
    cancelled = _ok(
        worker.post(f"/contracts/{contract.pk}/cancel", {"reason": "移行先が既に使われています"})
    )

    assert cancelled["state"] == "cancelled"
    assert [m["state"] for m in cancelled["milestones"]] == [
        "released",
        "released",
        "refunded",
        "cancelled",
    ]
    assert _earnings(umentu) == _net(20_000, withholding=False) + _net(30_000, withholding=False)
    assert _wallet(hanako) == DEPOSIT - 50_000
    assert Transfer.objects.filter(reference=f"milestone:{check}").count() == 0
    assert _ok(client.get(f"/contracts/{contract.pk}/events"))["chain_intact"] is True
    assert _stats(hanako).auto_approvals == 1
    _books_and_chain_hold(contract)


# --- (c) the late big change -----------------------------------------------------------------------


def _late(time_machine: Any) -> None:
    """Two days before the due date."""
    time_machine.move_to(NOW + 18 * DAY, tick=False)


def test_a_late_big_change_goes_through_a_priced_change_request_or_nowhere(
    hanako, umentu, time_machine
):
    contract = hire(hanako, umentu, split=SIMPLE_SPLIT)
    main, _check = _milestones(contract)
    cs.milestone_fund(client=hanako, milestone_id=main.pk)
    cs.milestone_start(worker=umentu, milestone_id=main.pk)
    _late(time_machine)
    # 「お客様からの要望でここの仕様を変更して欲しい。納期は同じです」: no price, same date.
    free = cs.change_propose(
        actor=hanako, contract_id=contract.pk, message="お客様の要望で仕様変更をお願いします。納期は同じです。",
        scope="WordPressサイト構築（会員機能を追加）",
    )  # fmt: skip
    assert free.price_delta_jpy == 0
    cs.change_decline(
        actor=umentu, change_id=free.pk, note="追加の作業には追加の費用と納期が必要です。"
    )
    terms = ContractTerms.objects.get(contract=contract, version=1)
    contract.refresh_from_db()
    assert contract.terms_version == 1
    # Paying more for the funded main work would be work before escrow: add a milestone instead.
    with pytest.raises(InvalidInput) as refusal:
        cs.change_propose(
            actor=hanako, contract_id=contract.pk, message="金額を上げます",
            edits=[MilestoneEdit(id=main.pk, amount_jpy=100_000)],
        )  # fmt: skip
    assert refusal.value.field == "milestones[0].amount_jpy"

    priced = cs.change_propose(
        actor=hanako, contract_id=contract.pk, message="会員機能を追加で依頼します。",
        scope="WordPressサイト構築（会員機能を追加）",
        additions=[MilestoneAddition(title="会員機能の追加", kind="main_work", amount_jpy=40_000, due_on=NOW.date() + 40 * DAY)],
    )  # fmt: skip
    cs.change_accept(actor=umentu, change_id=priced.pk)

    contract.refresh_from_db()
    added = _milestones(contract)[-1]
    assert contract.terms_version == 2
    current = ContractTerms.objects.get(contract=contract, version=2)
    assert current.snapshot["work_content"] == "WordPressサイト構築（会員機能を追加）"
    assert current.snapshot["previous_sha256"] == terms.snapshot_sha256
    assert current.snapshot["total_jpy"] == 120_000
    assert added.state == S.DRAFT
    with pytest.raises(Conflict) as refusal:
        cs.milestone_start(worker=umentu, milestone_id=added.pk)
    assert refusal.value.code == "milestone_not_funded"
    cs.milestone_fund(client=hanako, milestone_id=added.pk)
    assert cs.milestone_start(worker=umentu, milestone_id=added.pk).state == S.IN_PROGRESS
    assert _wallet(hanako) == DEPOSIT - 60_000 - 40_000
    _books_and_chain_hold(contract)


def test_a_late_change_left_unanswered_expires_and_nothing_new_can_start(
    hanako, umentu, time_machine
):
    contract = hire(hanako, umentu, split=SIMPLE_SPLIT)
    main, check = _milestones(contract)
    cs.milestone_fund(client=hanako, milestone_id=main.pk)
    cs.milestone_start(worker=umentu, milestone_id=main.pk)
    _late(time_machine)
    change = cs.change_propose(
        actor=hanako, contract_id=contract.pk, message="仕様を追加したい",
        additions=[MilestoneAddition(title="会員機能", kind="main_work", amount_jpy=40_000, due_on=NOW.date() + 40 * DAY)],
    )  # fmt: skip

    _sweep_at(time_machine, NOW + 18 * DAY + 7 * DAY)

    change.refresh_from_db()
    contract.refresh_from_db()
    assert change.state == "expired"
    assert contract.terms_version == 1
    assert [m.pk for m in _milestones(contract)] == [main.pk, check.pk]
    with pytest.raises(Conflict) as refusal:
        cs.milestone_start(worker=umentu, milestone_id=check.pk)
    assert refusal.value.code == "milestone_not_funded"
    _books_and_chain_hold(contract)


def test_a_late_big_change_goes_through_a_priced_change_request_or_nowhere_through_the_api(
    hanako, umentu, as_user, time_machine
):
    contract = hire(hanako, umentu, split=SIMPLE_SPLIT)
    client, worker = as_user(hanako), as_user(umentu)
    main, _check = (m.pk for m in _milestones(contract))
    _ok(client.post(f"/milestones/{main}/fund"))
    _ok(worker.post(f"/milestones/{main}/start"))
    _late(time_machine)

    same_deadline = _ok(
        client.post(f"/contracts/{contract.pk}/changes", {
            "message": "お客様の要望で仕様変更をお願いします。納期は同じです。",
            "scope": "WordPressサイト構築（会員機能を追加）",
        }),
        201,
    )  # fmt: skip
    assert same_deadline["price_delta_jpy"] == 0
    _refused(
        client.post(f"/changes/{same_deadline['id']}/accept"), status=403, code="not_your_action"
    )
    declined = _ok(
        worker.post(f"/changes/{same_deadline['id']}/decline", {"note": "追加費用が必要です"})
    )
    assert declined["state"] == "declined"
    assert _ok(worker.get(f"/contracts/{contract.pk}"))["terms_version"] == 1
    _refused(
        client.post(f"/contracts/{contract.pk}/changes", {
            "message": "金額を上げます", "milestones": [{"id": main, "amount_jpy": 100_000}],
        }),
        status=422, code="invalid_input", field="milestones[0].amount_jpy",
    )  # fmt: skip

    priced = _ok(
        client.post(f"/contracts/{contract.pk}/changes", {
            "message": "会員機能を追加で依頼します。", "scope": "WordPressサイト構築（会員機能を追加）",
            "add": [{"title": "会員機能の追加", "kind": "main_work", "amount_jpy": 40_000,
                     "due_on": (NOW.date() + 40 * DAY).isoformat()}],
        }),
        201,
    )  # fmt: skip
    assert priced["price_delta_jpy"] == 40_000
    accepted = _ok(worker.post(f"/changes/{priced['id']}/accept"))
    assert accepted["resulting_terms_version"] == 2

    after = _ok(worker.get(f"/contracts/{contract.pk}"))
    assert after["terms_version"] == 2
    assert [v["version"] for v in after["terms_versions"]] == [2, 1]
    assert after["terms"]["snapshot"]["work_content"] == "WordPressサイト構築（会員機能を追加）"
    added = after["milestones"][-1]
    assert (added["title"], added["amount_jpy"], added["state"]) == (
        "会員機能の追加",
        40_000,
        "draft",
    )
    _refused(
        worker.post(f"/milestones/{added['id']}/start"), status=409, code="milestone_not_funded"
    )
    _ok(client.post(f"/milestones/{added['id']}/fund"))
    assert _ok(worker.post(f"/milestones/{added['id']}/start"))["state"] == "in_progress"
    events = _ok(client.get(f"/contracts/{contract.pk}/events"))
    assert events["chain_intact"] is True
    assert [e["action"] for e in events["items"]].count("change_accepted") == 1
    _books_and_chain_hold(contract)
