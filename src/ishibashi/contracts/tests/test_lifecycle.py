"""The contract lifecycle through its services: each use case's main path and each refusal.

A refusal must say what is wrong (a stable code and a message) and change nothing: no milestone
or contract state, no event, no money, no stored file, no mail. The clocks are driven by moving
time and running the sweeper, as the worker process does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from ishibashi.contracts import selectors
from ishibashi.contracts import services as cs
from ishibashi.contracts.models import (
    ChangeRequest,
    ChangeState,
    ClientContractStats,
    ClockKind,
    Contract,
    ContractEvent,
    ContractFlag,
    ContractMessage,
    ContractState,
    ContractTerms,
    Delivery,
    DeliveryFile,
    Milestone,
    MilestoneState,
)
from ishibashi.contracts.services import DeliveryUpload, MilestoneAddition, MilestoneEdit
from ishibashi.contracts.tests.factories import SEED_SPLIT, deposit, hire
from ishibashi.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from ishibashi.ledger import rules
from ishibashi.ledger.errors import InsufficientFunds
from ishibashi.ledger.models import LedgerAccount, Transfer
from ishibashi.ledger.selectors import books_check

JST = ZoneInfo("Asia/Tokyo")
NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=JST)
DAY = dt.timedelta(days=1)
S = MilestoneState


@pytest.fixture(autouse=True)
def _fixed_now(time_machine, settings, tmp_path):
    time_machine.move_to(NOW, tick=False)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def hanako(make_user):
    """The client: a company that deposited money for escrow."""
    user = make_user(
        email="hanako@example.jp", display_name="発注 花子", is_worker=False,
        entity_type="corporation",
    )  # fmt: skip
    deposit(user, 500_000)
    return user


@pytest.fixture
def taro(make_user):
    return make_user(email="taro@example.jp", display_name="受注 太郎", is_client=False)


@pytest.fixture
def third(make_user):
    """Somebody with an account and no part in the contract."""
    return make_user(email="third@example.jp", display_name="第三者")


@pytest.fixture
def operator(make_user):
    user = make_user(email="ops@example.jp", display_name="オペレーター")
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


@pytest.fixture
def contract(hanako, taro):
    """実作業 ¥60,000 then 作業完了確認 ¥20,000; kill fee 30 %, two revision rounds, 7 days."""
    return hire(hanako, taro, kill_fee_percent=30)


# --- helpers -------------------------------------------------------------------------------------


def _milestones(contract: Contract) -> list[Milestone]:
    return list(Milestone.objects.filter(contract=contract).order_by("position"))


def _first(contract: Contract) -> Milestone:
    return _milestones(contract)[0]


def _fresh(milestone: Milestone) -> Milestone:
    return Milestone.objects.get(pk=milestone.pk)


def _balance(key: str) -> int:
    account = LedgerAccount.objects.filter(key=key).first()
    return account.balance_jpy if account else 0


def _wallet(user: Any) -> int:
    return _balance(f"wallet:user:{user.pk}")


def _earnings(user: Any) -> int:
    return _balance(f"earnings:user:{user.pk}")


def _escrow(milestone: Milestone) -> int:
    return _balance(f"escrow:{milestone.escrow_reference}")


def _stored_files() -> list[str]:
    root = Path(django_settings.MEDIA_ROOT)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def _world() -> dict[str, Any]:
    """Everything a refusal must leave as it was."""
    return {
        "milestones": list(Milestone.objects.order_by("pk").values()),
        "contracts": list(Contract.objects.order_by("pk").values()),
        "events": ContractEvent.objects.count(),
        "terms": ContractTerms.objects.count(),
        "balances": dict(LedgerAccount.objects.values_list("key", "balance_jpy")),
        "transfers": Transfer.objects.count(),
        "deliveries": Delivery.objects.count(),
        "files": DeliveryFile.objects.count(),
        "stored": _stored_files(),
        "changes": list(ChangeRequest.objects.order_by("pk").values()),
        "flags": ContractFlag.objects.count(),
        "messages": ContractMessage.objects.count(),
        "stats": list(ClientContractStats.objects.order_by("pk").values()),
    }


def _refused(
    error_class: type[Exception],
    call: Any,
    *,
    code: str | None = None,
    field: str | None = None,
    **arguments: Any,
) -> Any:
    """Call a use case that must be refused: the error says why and nothing changed."""
    before = _world()
    with pytest.raises(error_class) as refusal:
        call(**arguments)
    assert _world() == before
    error = refusal.value
    assert str(error.message).strip(), "a refusal needs a message a person can act on"
    if code is not None:
        assert error.code == code
    if field is not None:
        assert error.field == field
    return error


def _upload(name: str = "site.zip", content: bytes = b"PK\x03\x04 migrated site", **kw: Any) -> Any:
    return SimpleUploadedFile(name, content, content_type=kw.get("content_type", "application/zip"))


def _files(*names_and_visibility: tuple[str, str]) -> list[DeliveryUpload]:
    return [
        DeliveryUpload(file=_upload(name, f"content of {name}".encode()), visibility=visibility)
        for name, visibility in names_and_visibility
    ]


def _funded(contract: Contract, hanako: Any, index: int = 0) -> Milestone:
    milestone = _milestones(contract)[index]
    return cs.milestone_fund(client=hanako, milestone_id=milestone.pk)


def _started(contract: Contract, hanako: Any, taro: Any, index: int = 0) -> Milestone:
    milestone = _funded(contract, hanako, index)
    return cs.milestone_start(worker=taro, milestone_id=milestone.pk)


def _delivered(contract: Contract, hanako: Any, taro: Any, index: int = 0) -> Delivery:
    milestone = _started(contract, hanako, taro, index)
    return cs.delivery_create(
        worker=taro, milestone_id=milestone.pk, message="納品します。",
        uploads=_files(("preview.png", "preview"), ("site.zip", "full")),
    )  # fmt: skip


def _sweep_at(time_machine: Any, moment: dt.datetime) -> int:
    """Move the clock and run the deadline sweeper until it finds nothing more to do."""
    time_machine.move_to(moment, tick=False)
    handled = 0
    for _round in range(10):
        done = cs.milestones_sweep_due()
        if not done:
            return handled
        handled += done
    raise AssertionError("the sweeper keeps finding work at one moment")


def _actions(contract: Contract, *, milestone: Milestone | None = None) -> list[str]:
    events = ContractEvent.objects.filter(contract=contract).order_by("sequence")
    if milestone is not None:
        events = events.filter(milestone=milestone)
    return list(events.values_list("action", flat=True))


def _stats(user: Any) -> ClientContractStats:
    return ClientContractStats.objects.get_or_create(client=user)[0]


def _net(amount: int, *, withholding: bool = False) -> int:
    split = rules.release_split(
        gross_jpy=amount, fee_rate_bps=1000, withholding_applies=withholding
    )
    return split.net_jpy


def _transfers(milestone: Milestone) -> list[str]:
    return list(
        Transfer.objects.filter(reference=milestone.escrow_reference)
        .order_by("pk")
        .values_list("reason", flat=True)
    )


# --- escrow (仮払い) ----------------------------------------------------------------------------


def test_the_hire_asks_for_the_first_escrow_with_a_funding_clock(contract):
    first, second = _milestones(contract)

    assert (first.state, second.state) == (S.AWAITING_FUNDING, S.DRAFT)
    assert first.clock == ClockKind.FUNDING
    assert first.clock_deadline_at == NOW + 7 * DAY
    assert first.action_due_at == NOW + 3.5 * DAY  # the first reminder
    assert cs.events_verify(contract=contract) is None


def test_funding_moves_the_amount_from_the_wallet_into_the_milestones_escrow(
    contract, hanako, taro, mailoutbox, django_capture_on_commit_callbacks
):
    milestone = _first(contract)

    with django_capture_on_commit_callbacks(execute=True):
        funded = cs.milestone_fund(client=hanako, milestone_id=milestone.pk)

    assert funded.state == S.FUNDED
    assert funded.funded_at == NOW
    assert (funded.clock, funded.action_due_at) == ("", None)
    assert _wallet(hanako) == 500_000 - 60_000
    assert _escrow(funded) == 60_000
    assert _transfers(funded) == ["escrow_fund"]
    assert _actions(contract, milestone=funded)[-1] == "fund"
    assert (_stats(hanako).fundings, _stats(hanako).funding_seconds_total) == (1, 0)
    assert [mail.to for mail in mailoutbox] == [[taro.email]]
    assert books_check() == []


def test_the_worker_cannot_start_before_the_escrow_is_funded(contract, taro):
    milestone = _first(contract)

    error = _refused(
        Conflict, cs.milestone_start, code="milestone_not_funded",
        worker=taro, milestone_id=milestone.pk,
    )  # fmt: skip

    # The message is rendered in the reader's language, and says plainly not to start.
    with translation.override("ja"):
        assert "作業を始めないでください" in str(error.message)
    with translation.override("en"):
        assert "Do not start work" in str(error.message)
    # A milestone never asked for is not funded either.
    second = _milestones(contract)[1]
    _refused(
        Conflict, cs.milestone_start, code="milestone_not_funded",
        worker=taro, milestone_id=second.pk,
    )  # fmt: skip


def test_starting_work_already_started_does_not_claim_the_escrow_is_missing(contract, hanako, taro):
    """A double click on 着手 must not tell the worker that the client has not paid in."""
    milestone = _started(contract, hanako, taro)

    error = _refused(Conflict, cs.milestone_start, worker=taro, milestone_id=milestone.pk)

    assert error.code != "milestone_not_funded"
    assert "not funded" not in str(error.message)


def test_starting_funded_work_records_when(contract, hanako, taro, time_machine):
    milestone = _funded(contract, hanako)
    time_machine.move_to(NOW + dt.timedelta(hours=2), tick=False)

    started = cs.milestone_start(worker=taro, milestone_id=milestone.pk)

    assert started.state == S.IN_PROGRESS
    assert started.started_at == NOW + dt.timedelta(hours=2)
    assert _escrow(started) == 60_000


def test_escrow_refusals_change_nothing(contract, hanako, taro, third, operator, make_user):
    milestone = _first(contract)

    _refused(
        Forbidden, cs.milestone_fund, code="not_your_action", client=taro, milestone_id=milestone.pk
    )
    _refused(
        Forbidden,
        cs.milestone_fund,
        code="not_your_action",
        client=operator,
        milestone_id=milestone.pk,
    )
    _refused(NotFound, cs.milestone_fund, code="not_found", client=third, milestone_id=milestone.pk)
    _refused(NotFound, cs.milestone_fund, code="not_found", client=hanako, milestone_id=10**9)
    # A client without the money: the ledger refuses and the milestone still waits.
    poor = make_user(email="poor@example.jp", is_worker=False)
    deposit(poor, 1_000)
    poor_contract = hire(poor, taro)
    error = _refused(
        InsufficientFunds, cs.milestone_fund, client=poor, milestone_id=_first(poor_contract).pk
    )
    assert error.code == "exceeds_balance"
    # Funding twice moves the money once.
    cs.milestone_fund(client=hanako, milestone_id=milestone.pk)
    _refused(
        Conflict,
        cs.milestone_fund,
        code="milestone_not_fundable",
        client=hanako,
        milestone_id=milestone.pk,
    )
    assert _transfers(milestone) == ["escrow_fund"]
    # Only the worker starts.
    _refused(
        Forbidden,
        cs.milestone_start,
        code="not_your_action",
        worker=hanako,
        milestone_id=milestone.pk,
    )
    _refused(
        NotFound, cs.milestone_start, code="not_found", worker=third, milestone_id=milestone.pk
    )


def test_the_worker_asks_for_a_later_milestones_escrow_and_the_client_funds_it_directly(
    contract, hanako, taro, third
):
    (second,) = _milestones(contract)[1:]

    _refused(NotFound, cs.milestone_request_funding, actor=third, milestone_id=second.pk)
    # The client need not ask themselves: they fund.
    _refused(
        Forbidden, cs.milestone_request_funding, code="not_your_action",
        actor=hanako, milestone_id=second.pk,
    )  # fmt: skip
    requested = cs.milestone_request_funding(actor=taro, milestone_id=second.pk)

    assert requested.state == S.AWAITING_FUNDING
    assert requested.funding_requested_at == NOW
    assert requested.clock == ClockKind.FUNDING
    _refused(
        Conflict, cs.milestone_request_funding, code="milestone_state",
        actor=taro, milestone_id=second.pk,
    )  # fmt: skip
    # A draft can be funded without being asked for, too.
    third_contract = hire(hanako, taro)
    draft = _milestones(third_contract)[1]
    assert cs.milestone_fund(client=hanako, milestone_id=draft.pk).state == S.FUNDED


def test_an_unfunded_request_closes_the_contract_without_penalty_to_the_worker(
    contract, hanako, taro, time_machine, mailoutbox, django_capture_on_commit_callbacks
):
    first, second = _milestones(contract)

    with django_capture_on_commit_callbacks(execute=True):
        _sweep_at(time_machine, NOW + 7 * DAY - dt.timedelta(minutes=1))
        assert _fresh(first).state == S.AWAITING_FUNDING
        _sweep_at(time_machine, NOW + 7 * DAY)

    contract.refresh_from_db()
    assert (_fresh(first).state, _fresh(second).state) == (S.CANCELLED, S.CANCELLED)
    assert contract.state == ContractState.CANCELLED
    assert _stats(hanako).funding_requests_unanswered == 1
    assert Transfer.objects.filter(reference__startswith="milestone:").count() == 0
    assert _wallet(hanako) == 500_000
    expired = ContractEvent.objects.get(contract=contract, action="expire_funding")
    assert expired.payload == {"silent_client": True}
    assert expired.actor is None
    with translation.override("ja"):
        closed = translation.gettext("Escrow not funded: “%(title)s” closed") % {
            "title": "WordPressサーバー移行作業 / 実作業"
        }
    closing = [m for m in mailoutbox if m.subject == closed]
    assert sorted(m.to[0] for m in closing) == sorted([hanako.email, taro.email])
    assert cs.events_verify(contract=contract) is None


# --- delivery (納品) ----------------------------------------------------------------------------


def test_a_delivery_stores_its_files_with_their_lock_and_starts_the_inspection_clock(
    contract, hanako, taro, mailoutbox, django_capture_on_commit_callbacks
):
    milestone = _started(contract, hanako, taro)

    with django_capture_on_commit_callbacks(execute=True):
        delivery = cs.delivery_create(
            worker=taro, milestone_id=milestone.pk, message="移行が完了しました。",
            uploads=_files(("preview.png", "preview"), ("site.zip", "full")),
        )  # fmt: skip

    milestone.refresh_from_db()
    assert (delivery.version, delivery.is_report, delivery.is_partial) == (1, False, False)
    files = {f.name: f for f in delivery.files.all()}
    assert {name: f.visibility for name, f in files.items()} == {
        "preview.png": "preview",
        "site.zip": "full",
    }
    assert files["site.zip"].size_bytes == len(b"content of site.zip")
    assert len(files["site.zip"].sha256) == 64
    assert files["site.zip"].file.name != "site.zip"  # never the uploader's name
    assert len(_stored_files()) == 2
    assert milestone.state == S.DELIVERED
    assert milestone.clock == ClockKind.INSPECTION
    assert milestone.clock_deadline_at == NOW + 7 * DAY
    assert milestone.first_delivered_at == milestone.delivered_at == NOW
    # The Freelance Act's payment deadline: the start of day 60, the delivery day being day 1.
    assert milestone.legal_release_due_at == dt.datetime(2027, 1, 21, 0, 0, tzinfo=JST)
    assert [mail.to for mail in mailoutbox] == [[hanako.email]]
    # Deliverable lock: the client sees the preview now, the full files after approval.
    preview, full = files["preview.png"], files["site.zip"]
    assert selectors.delivery_file_for_download(viewer=hanako, file_id=preview.pk) == preview
    locked = _refused(
        Forbidden, selectors.delivery_file_for_download, code="deliverable_locked",
        viewer=hanako, file_id=full.pk,
    )  # fmt: skip
    assert locked.code == "deliverable_locked"
    assert selectors.delivery_file_for_download(viewer=taro, file_id=full.pk) == full
    cs.delivery_approve(client=hanako, delivery_id=delivery.pk)
    assert selectors.delivery_file_for_download(viewer=hanako, file_id=full.pk) == full


def test_the_legal_payment_deadline_counts_days_in_japan(contract, hanako, taro, time_machine):
    """Delivered at 08:00 on the 24th in Tokyo, which is still the 23rd in UTC."""
    milestone = _started(contract, hanako, taro)
    time_machine.move_to(dt.datetime(2026, 11, 24, 8, 0, tzinfo=JST), tick=False)

    cs.delivery_create(
        worker=taro, milestone_id=milestone.pk, message="納品", uploads=_files(("a.pdf", "full"))
    )

    assert _fresh(milestone).legal_release_due_at == dt.datetime(2027, 1, 22, 0, 0, tzinfo=JST)


def test_research_and_stand_by_are_delivered_as_done_with_a_report_and_no_file(hanako, taro):
    contract = hire(hanako, taro, split=SEED_SPLIT)
    research = _funded(contract, hanako)

    # No separate start is needed for a report.
    delivery = cs.delivery_create(
        worker=taro, milestone_id=research.pk, message="移行先サーバーを確認しました。空でした。"
    )

    assert delivery.is_report is True
    assert delivery.files.count() == 0
    assert _fresh(research).state == S.DELIVERED
    assert _fresh(research).started_at == NOW


# (what is wrong, the uploads, the field named in the refusal)
BAD_UPLOADS = [
    ("11 files", lambda: _files(*[(f"f{n}.pdf", "full") for n in range(11)]), "files"),
    ("an .exe", lambda: _files(("virus.exe", "full")), "files"),
    ("no extension", lambda: _files(("noextension", "full")), "files"),
    ("over the size limit", lambda: _files(("big.zip", "full")), "files"),
    ("an empty file", lambda: [DeliveryUpload(file=_upload("empty.pdf", b""), visibility="full")], "files"),
    ("a NUL in the name", lambda: [DeliveryUpload(file=_upload("bad\x00name.pdf"), visibility="full")], "files"),
    ("a 154-character name", lambda: _files(("a" * 150 + ".pdf", "full")), "files"),
    ("an unknown visibility", lambda: _files(("ok.pdf", "secret")), "visibility"),
    ("main work with no file", lambda: [], "files"),
]  # fmt: skip


@contextmanager
def _case(name: str) -> Iterator[None]:
    """Name the case in the failure of a loop over refusals that share one scene."""
    try:
        yield
    except (AssertionError, pytest.fail.Exception) as failure:
        raise AssertionError(f"{name}: {failure}") from failure


def test_bad_deliveries_are_refused_and_store_nothing(contract, hanako, taro, settings):
    settings.DELIVERY_FILE_SIZE_MAX_BYTES = len(b"content of big.zip") - 1
    milestone = _started(contract, hanako, taro)

    for name, uploads, field in BAD_UPLOADS:
        with _case(name):
            error = _refused(
                InvalidInput, cs.delivery_create, field=field,
                worker=taro, milestone_id=milestone.pk, message="納品します", uploads=uploads(),
            )  # fmt: skip
            assert error.code == "invalid_input"
            assert _stored_files() == []


def test_a_delivery_needs_a_readable_message(contract, hanako, taro):
    milestone = _started(contract, hanako, taro)

    for message in ("", "   ", "x" * 5_001, "本文\x00"):
        with _case(repr(message[:10])):
            _refused(
                InvalidInput, cs.delivery_create, field="message", worker=taro,
                milestone_id=milestone.pk, message=message, uploads=_files(("a.pdf", "full")),
            )  # fmt: skip


def test_only_the_worker_delivers_and_only_funded_work(contract, hanako, taro, third, operator):
    milestone = _first(contract)
    uploads = _files(("a.pdf", "full"))

    _refused(
        Conflict, cs.delivery_create, code="milestone_state",
        worker=taro, milestone_id=milestone.pk, message="納品", uploads=uploads,
    )  # fmt: skip
    _funded(contract, hanako)
    for actor, error_class in ((hanako, Forbidden), (operator, Forbidden), (third, NotFound)):
        _refused(
            error_class, cs.delivery_create,
            worker=actor, milestone_id=milestone.pk, message="納品", uploads=_files(("a.pdf", "full")),
        )  # fmt: skip
    assert _stored_files() == []


def test_a_second_delivery_waiting_for_inspection_is_refused(contract, hanako, taro):
    delivery = _delivered(contract, hanako, taro)

    _refused(
        Conflict, cs.delivery_create, code="milestone_state", worker=taro,
        milestone_id=delivery.milestone_id, message="再納品", uploads=_files(("b.pdf", "full")),
    )  # fmt: skip


# --- inspection (検収) --------------------------------------------------------------------------


def test_approval_releases_the_escrow_less_the_fee_and_asks_for_the_next_escrow(
    contract, hanako, taro, time_machine, mailoutbox, django_capture_on_commit_callbacks
):
    delivery = _delivered(contract, hanako, taro)
    time_machine.move_to(NOW + 2 * DAY, tick=False)

    with django_capture_on_commit_callbacks(execute=True):
        released = cs.delivery_approve(client=hanako, delivery_id=delivery.pk)

    assert released.state == S.RELEASED
    assert released.approved_at == NOW + 2 * DAY
    assert (released.clock, released.action_due_at) == ("", None)
    assert _escrow(released) == 0
    assert _earnings(taro) == 60_000 - 6_000
    assert _balance("platform_fees") == 6_000
    assert _transfers(released) == ["escrow_fund", "escrow_release"]
    assert _actions(contract, milestone=released)[-2:] == ["approve", "release"]
    stats = _stats(hanako)
    assert (stats.inspections, stats.inspection_seconds_total, stats.auto_approvals) == (
        1, 2 * 86_400, 0,
    )  # fmt: skip
    following = _milestones(contract)[1]
    assert following.state == S.AWAITING_FUNDING
    assert following.clock == ClockKind.FUNDING
    # The worker is told of the payment; the client, who approved, is not told of it, only
    # asked for the next escrow: a new to-do whose deadline counts against them.
    to_client = [mail.subject for mail in mailoutbox if mail.to[0] == hanako.email]
    assert {mail.to[0] for mail in mailoutbox} == {hanako.email, taro.email}
    assert len(to_client) == 1
    assert "仮払い" in to_client[0] or "Escrow" in to_client[0]
    assert books_check() == []


def test_withholding_tax_is_kept_back_when_it_applies(make_user, taro):
    agent = make_user(email="agent@example.jp", is_worker=False, entity_type="corporation")
    agent.is_withholding_agent = True
    agent.save(update_fields=["is_withholding_agent"])
    deposit(agent, 200_000)
    contract = hire(agent, taro, category="design")
    assert contract.withholding_applies is True

    delivery = _delivered(contract, agent, taro)
    cs.delivery_approve(client=agent, delivery_id=delivery.pk)

    assert _earnings(taro) == 60_000 - 6_000 - 6_126
    assert _balance(f"withholding_payable:user:{agent.pk}") == 6_126
    assert books_check() == []


def test_inspection_refusals_change_nothing(contract, hanako, taro, third, operator):
    delivery = _delivered(contract, hanako, taro)

    for call in (cs.delivery_approve, cs.delivery_request_revision):
        extra = {"reason": "直してください"} if call is cs.delivery_request_revision else {}
        _refused(
            Forbidden, call, code="not_your_action", client=taro, delivery_id=delivery.pk, **extra
        )
        _refused(NotFound, call, code="not_found", client=third, delivery_id=delivery.pk, **extra)
        _refused(
            NotFound, call, code="not_found", client=operator, delivery_id=delivery.pk, **extra
        )
        _refused(NotFound, call, code="not_found", client=hanako, delivery_id=10**9, **extra)
    cs.delivery_approve(client=hanako, delivery_id=delivery.pk)
    _refused(
        Conflict,
        cs.delivery_approve,
        code="milestone_state",
        client=hanako,
        delivery_id=delivery.pk,
    )
    _refused(
        Conflict, cs.delivery_request_revision, code="milestone_state",
        client=hanako, delivery_id=delivery.pk, reason="やはり直して",
    )  # fmt: skip
    assert _transfers(_fresh(delivery.milestone)) == ["escrow_fund", "escrow_release"]


def test_a_revision_needs_a_written_reason(contract, hanako, taro):
    delivery = _delivered(contract, hanako, taro)

    for reason in ("", "  \n ", "x" * 2_001, "理由\x07"):
        with _case(repr(reason[:10])):
            _refused(
                InvalidInput, cs.delivery_request_revision, field="reason",
                client=hanako, delivery_id=delivery.pk, reason=reason,
            )  # fmt: skip


def test_revisions_are_limited_to_the_agreed_rounds_and_keep_the_legal_deadline(
    contract, hanako, taro, time_machine, mailoutbox, django_capture_on_commit_callbacks
):
    first = _delivered(contract, hanako, taro)
    legal_due = _fresh(first.milestone).legal_release_due_at
    delivery = first
    for round_number in (1, 2):
        time_machine.move_to(NOW + round_number * DAY, tick=False)
        with django_capture_on_commit_callbacks(execute=True):
            revised = cs.delivery_request_revision(
                client=hanako, delivery_id=delivery.pk, reason=f"{round_number}回目: 表示崩れ"
            )
        assert revised.state == S.REVISION_REQUESTED
        assert revised.revisions_used == round_number
        assert revised.clock == ""
        assert revised.action_due_at == legal_due  # only the legal deadline runs
        assert mailoutbox[-1].to == [taro.email]
        _refused(
            Conflict, cs.delivery_approve, client=hanako, delivery_id=delivery.pk,
        )  # fmt: skip
        time_machine.move_to(NOW + round_number * DAY + dt.timedelta(hours=5), tick=False)
        delivery = cs.delivery_create(
            worker=taro, milestone_id=first.milestone_id, message=f"修正版{round_number}",
            uploads=_files(("site.zip", "full")),
        )  # fmt: skip
        assert delivery.version == round_number + 1
        milestone = _fresh(first.milestone)
        assert milestone.clock_deadline_at == NOW + round_number * DAY + dt.timedelta(
            hours=5, days=7
        )
        assert (milestone.first_delivered_at, milestone.legal_release_due_at) == (NOW, legal_due)

    error = _refused(
        Conflict, cs.delivery_request_revision, code="revision_limit_reached",
        client=hanako, delivery_id=delivery.pk, reason="3回目",
    )  # fmt: skip
    assert "2" in str(error.message)
    # An older version is not what the client inspects.
    _refused(
        Conflict, cs.delivery_approve, code="delivery_superseded",
        client=hanako, delivery_id=first.pk,
    )  # fmt: skip
    revision_events = ContractEvent.objects.filter(contract=contract, action="request_revision")
    assert [e.payload["reason"] for e in revision_events] == ["1回目: 表示崩れ", "2回目: 表示崩れ"]
    cs.delivery_approve(client=hanako, delivery_id=delivery.pk)
    assert _fresh(first.milestone).state == S.RELEASED


def test_the_legal_deadline_pays_whatever_the_revisions(hanako, taro, time_machine):
    """Deliver, revise, redeliver… : the money is paid by day 60 after the first delivery."""
    contract = hire(hanako, taro, revision_rounds=10)
    delivery = _delivered(contract, hanako, taro)
    milestone = delivery.milestone
    legal_due = _fresh(milestone).legal_release_due_at
    day = 0
    while day < 54:
        day += 6
        time_machine.move_to(NOW + day * DAY, tick=False)
        cs.delivery_request_revision(client=hanako, delivery_id=delivery.pk, reason="もう少し")
        day += 2
        time_machine.move_to(NOW + day * DAY, tick=False)
        delivery = cs.delivery_create(
            worker=taro, milestone_id=milestone.pk, message="修正版",
            uploads=_files(("site.zip", "full")),
        )  # fmt: skip
    # The last inspection period is cut short at the legal deadline.
    assert _fresh(milestone).clock_deadline_at == legal_due
    assert _fresh(milestone).state == S.DELIVERED

    _sweep_at(time_machine, legal_due - dt.timedelta(seconds=1))
    assert _fresh(milestone).state == S.DELIVERED
    _sweep_at(time_machine, legal_due)

    assert _fresh(milestone).state == S.RELEASED
    assert _earnings(taro) == _net(60_000)
    assert _actions(contract, milestone=milestone)[-2:] == ["legal_release", "release"]
    assert _stats(hanako).legal_deadline_releases == 1
    assert books_check() == []


def test_the_legal_deadline_pays_a_revision_the_worker_never_redelivered(
    contract, hanako, taro, time_machine
):
    delivery = _delivered(contract, hanako, taro)
    cs.delivery_request_revision(client=hanako, delivery_id=delivery.pk, reason="直して")
    legal_due = _fresh(delivery.milestone).legal_release_due_at

    _sweep_at(time_machine, legal_due)

    assert _fresh(delivery.milestone).state == S.RELEASED


# --- the sweeper: reminders and automatic approval ----------------------------------------------


def test_the_reminder_ladder_then_automatic_approval_pays_the_silent_clients_worker(
    contract, hanako, taro, time_machine, mailoutbox, django_capture_on_commit_callbacks
):
    delivery = _delivered(contract, hanako, taro)
    milestone = delivery.milestone
    deadline = NOW + 7 * DAY
    ladder = [NOW + 3.5 * DAY, NOW + 7 * DAY * 0.85, deadline - DAY]
    assert _fresh(milestone).action_due_at == ladder[0]
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        for number, moment in enumerate(ladder, start=1):
            assert _sweep_at(time_machine, moment - dt.timedelta(seconds=1)) == 0
            assert _sweep_at(time_machine, moment) == 1
            assert _fresh(milestone).reminders_sent == number
            assert _fresh(milestone).action_due_at == (
                ladder[number] if number < len(ladder) else deadline
            )
    reminders = ContractEvent.objects.filter(contract=contract, action="reminder_sent")
    assert [e.payload["reminder"] for e in reminders] == [1, 2, 3]
    assert [e.created_at for e in reminders] == ladder
    assert [mail.to for mail in mailoutbox] == [[hanako.email]] * 3
    assert all("2026-11-30 10:00" in mail.subject for mail in mailoutbox)
    _sweep_at(time_machine, deadline)

    released = _fresh(milestone)
    assert released.state == S.RELEASED
    assert released.approved_at == deadline
    approved = ContractEvent.objects.get(contract=contract, action="auto_approve")
    assert approved.actor is None
    assert approved.payload["silent_client"] is True
    assert _earnings(taro) == 60_000 - 6_000
    assert _stats(hanako).auto_approvals == 1
    assert selectors.delivery_file_for_download(
        viewer=hanako, file_id=DeliveryFile.objects.get(name="site.zip").pk
    )
    assert books_check() == []
    assert cs.events_verify(contract=contract) is None


def test_a_sweeper_that_was_down_sends_one_reminder_not_a_burst(
    contract, hanako, taro, time_machine, mailoutbox, django_capture_on_commit_callbacks
):
    delivery = _delivered(contract, hanako, taro)
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        handled = _sweep_at(time_machine, NOW + 6.5 * DAY)  # all three reminders are overdue

    assert handled == 1
    milestone = _fresh(delivery.milestone)
    assert milestone.reminders_sent == 3
    assert milestone.action_due_at == NOW + 7 * DAY
    assert ContractEvent.objects.filter(contract=contract, action="reminder_sent").count() == 1
    assert len(mailoutbox) == 1
    # Down past the deadline as well: no reminder at all, the approval at once.
    other = hire(hanako, taro)
    late = _delivered(other, hanako, taro)
    _sweep_at(time_machine, NOW + 6.5 * DAY + 10 * DAY)
    assert _fresh(late.milestone).state == S.RELEASED
    assert not ContractEvent.objects.filter(contract=other, action="reminder_sent").exists()


def test_a_client_acting_before_the_deadline_stops_the_clock(contract, hanako, taro, time_machine):
    delivery = _delivered(contract, hanako, taro)
    time_machine.move_to(NOW + 6.9 * DAY, tick=False)
    cs.delivery_approve(client=hanako, delivery_id=delivery.pk)

    _sweep_at(time_machine, NOW + 7 * DAY)

    assert _stats(hanako).auto_approvals == 0
    assert _transfers(_fresh(delivery.milestone)) == ["escrow_fund", "escrow_release"]


@pytest.mark.parametrize(
    ("language", "subject", "body"),
    [
        ("en", "Reminder: “WordPressサーバー移行作業 / 実作業”", "approved automatically"),
        ("ja", "リマインド：「WordPressサーバー移行作業 / 実作業」", "自動で承認"),
    ],
)
def test_reminders_are_mailed_in_the_recipients_language(
    make_user, taro, time_machine, mailoutbox, django_capture_on_commit_callbacks,
    language, subject, body,
):  # fmt: skip
    client = make_user(
        email=f"client-{language}@example.jp", is_worker=False, preferred_language=language
    )
    deposit(client, 100_000)
    contract = hire(client, taro)
    _delivered(contract, client, taro)
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        _sweep_at(time_machine, NOW + 3.5 * DAY)

    (mail,) = mailoutbox
    assert mail.to == [client.email]
    deadline = "2026-11-30 10:00"  # in Japan time, as the contract page shows it
    with translation.override(language):
        expected_subject = translation.gettext("Reminder: “%(title)s” — deadline %(deadline)s") % {
            "title": "WordPressサーバー移行作業 / 実作業", "deadline": deadline,
        }  # fmt: skip
    assert mail.subject == expected_subject
    assert mail.subject.startswith(subject)
    assert body in mail.body
    assert f"/contracts/{contract.pk}" in mail.body


def test_funding_reminders_go_to_the_client(
    contract, hanako, time_machine, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _sweep_at(time_machine, NOW + 3.5 * DAY)

    assert [mail.to for mail in mailoutbox] == [[hanako.email]]
    assert _first(contract).reminders_sent == 1


# --- disputes ------------------------------------------------------------------------------------


def test_a_dispute_is_resolved_by_an_operator_splitting_the_escrow(
    contract, hanako, taro, operator, third
):
    delivery = _delivered(contract, hanako, taro)
    milestone = delivery.milestone

    _refused(
        InvalidInput,
        cs.milestone_dispute,
        field="reason",
        actor=taro,
        milestone_id=milestone.pk,
        reason=" ",
    )
    _refused(NotFound, cs.milestone_dispute, actor=third, milestone_id=milestone.pk, reason="不当")
    _refused(
        Forbidden, cs.milestone_dispute, actor=operator, milestone_id=milestone.pk, reason="不当"
    )
    disputed = cs.milestone_dispute(actor=taro, milestone_id=milestone.pk, reason="検収されない")
    contract.refresh_from_db()
    assert disputed.state == S.DISPUTED
    assert contract.state == ContractState.IN_DISPUTE
    assert disputed.clock == ""
    assert disputed.action_due_at == disputed.legal_release_due_at  # not frozen: the law still runs
    assert _stats(hanako).disputes == 1
    assert _escrow(disputed) == 60_000

    for bad in (-1, 60_001, 1.5, "30000", True, None):
        _refused(
            InvalidInput, cs.milestone_dispute_resolve, field="worker_amount_jpy",
            operator=operator, milestone_id=milestone.pk, worker_amount_jpy=bad, note="判断",
        )  # fmt: skip
    _refused(
        Forbidden, cs.milestone_dispute_resolve, operator=hanako,
        milestone_id=milestone.pk, worker_amount_jpy=0, note="判断",
    )  # fmt: skip
    _refused(
        NotFound, cs.milestone_dispute_resolve, operator=third,
        milestone_id=milestone.pk, worker_amount_jpy=0, note="判断",
    )  # fmt: skip
    _refused(
        InvalidInput, cs.milestone_dispute_resolve, field="note", operator=operator,
        milestone_id=milestone.pk, worker_amount_jpy=0, note="",
    )  # fmt: skip

    resolved = cs.milestone_dispute_resolve(
        operator=operator, milestone_id=milestone.pk, worker_amount_jpy=40_000, note="一部納品"
    )

    contract.refresh_from_db()
    assert resolved.state == S.RESOLVED
    assert _escrow(resolved) == 0
    assert _earnings(taro) == _net(40_000)
    assert _wallet(hanako) == 500_000 - 60_000 + 20_000
    assert _transfers(resolved) == ["escrow_fund", "escrow_split"]
    assert contract.state == ContractState.ACTIVE  # the completion check is still to come
    assert books_check() == []


def test_only_an_operators_freeze_stops_the_legal_release(
    contract, hanako, taro, operator, time_machine
):
    delivery = _delivered(contract, hanako, taro)
    milestone = delivery.milestone
    cs.milestone_dispute(actor=hanako, milestone_id=milestone.pk, reason="品質に問題")
    legal_due = _fresh(milestone).legal_release_due_at

    _refused(
        Forbidden,
        cs.milestone_dispute_freeze,
        code="operators_only",
        operator=hanako,
        milestone_id=milestone.pk,
        note="止める",
    )
    _refused(
        Forbidden,
        cs.milestone_dispute_freeze,
        code="operators_only",
        operator=taro,
        milestone_id=milestone.pk,
        note="止める",
    )
    frozen = cs.milestone_dispute_freeze(
        operator=operator, milestone_id=milestone.pk, note="審査中"
    )
    assert (frozen.dispute_frozen, frozen.action_due_at) == (True, None)
    _refused(
        Conflict,
        cs.milestone_dispute_freeze,
        code="milestone_state",
        operator=operator,
        milestone_id=milestone.pk,
        note="再度",
    )

    _sweep_at(time_machine, legal_due + DAY)

    assert _fresh(milestone).state == S.DISPUTED
    assert _escrow(milestone) == 60_000


def test_an_unfrozen_dispute_is_released_at_the_legal_deadline(
    contract, hanako, taro, time_machine
):
    delivery = _delivered(contract, hanako, taro)
    cs.milestone_dispute(actor=hanako, milestone_id=delivery.milestone_id, reason="品質")

    _sweep_at(time_machine, _fresh(delivery.milestone).legal_release_due_at)

    contract.refresh_from_db()
    assert _fresh(delivery.milestone).state == S.RELEASED
    assert contract.state == ContractState.ACTIVE
    assert _earnings(taro) == _net(60_000)


def test_a_dispute_needs_funded_unpaid_work(contract, hanako, taro):
    milestone = _first(contract)

    _refused(
        Conflict,
        cs.milestone_dispute,
        code="milestone_state",
        actor=taro,
        milestone_id=milestone.pk,
        reason="未払い",
    )


# --- flags and messages ------------------------------------------------------------------------


def test_the_worker_flags_a_request_to_work_before_escrow_once(contract, hanako, taro, third):
    _refused(
        InvalidInput,
        cs.contract_flag,
        field="kind",
        worker=taro,
        contract_id=contract.pk,
        kind="rude",
    )
    _refused(
        Forbidden,
        cs.contract_flag,
        worker=hanako,
        contract_id=contract.pk,
        kind="asked_before_escrow",
    )
    _refused(
        NotFound,
        cs.contract_flag,
        worker=third,
        contract_id=contract.pk,
        kind="asked_before_escrow",
    )

    flag = cs.contract_flag(
        worker=taro, contract_id=contract.pk, kind="asked_before_escrow",
        note="「納期が厳しいので先に作業を」と言われました",
    )  # fmt: skip

    assert flag.reported_by == taro
    assert _stats(hanako).escrow_before_work_flags == 1
    assert _actions(contract)[-1] == "flagged"
    _refused(
        Conflict,
        cs.contract_flag,
        code="already_flagged",
        worker=taro,
        contract_id=contract.pk,
        kind="asked_before_escrow",
    )


def test_a_workers_unanswered_message_runs_the_clients_reply_clock(
    contract, hanako, taro, third, time_machine
):
    milestone = _started(contract, hanako, taro)

    _refused(
        InvalidInput,
        cs.contract_message_post,
        field="body",
        author=taro,
        contract_id=contract.pk,
        body="  ",
    )
    _refused(
        NotFound, cs.contract_message_post, author=third, contract_id=contract.pk, body="こんにちは"
    )
    cs.contract_message_post(
        author=taro, contract_id=contract.pk, body="サーバーに既にファイルがあります。"
    )
    running = _fresh(milestone)
    assert running.clock == ClockKind.CLIENT_REPLY
    assert running.clock_deadline_at == NOW + 7 * DAY
    time_machine.move_to(NOW + DAY, tick=False)
    cs.contract_message_post(author=taro, contract_id=contract.pk, body="ご確認ください。")
    assert (
        _fresh(milestone).clock_deadline_at == NOW + 7 * DAY
    )  # a second message does not restart it

    cs.contract_message_post(author=hanako, contract_id=contract.pk, body="確認します。")

    answered = _fresh(milestone)
    assert (answered.clock, answered.action_due_at) == ("", None)
    assert ContractMessage.objects.filter(contract=contract).count() == 3


def test_after_the_client_falls_silent_the_worker_delivers_the_work_so_far(
    contract, hanako, taro, time_machine
):
    milestone = _started(contract, hanako, taro)
    cs.contract_message_post(author=taro, contract_id=contract.pk, body="ご確認ください。")
    _refused(
        InvalidInput,
        cs.delivery_create,
        field="files",
        worker=taro,
        milestone_id=milestone.pk,
        message="途中まで",
    )

    _sweep_at(time_machine, NOW + 7 * DAY)

    silent = _fresh(milestone)
    assert silent.client_silence_expired_at == NOW + 7 * DAY
    assert silent.state == S.IN_PROGRESS
    assert "client_silence_expired" in _actions(contract, milestone=milestone)
    delivery = cs.delivery_create(
        worker=taro, milestone_id=milestone.pk, message="途中までの成果です"
    )
    assert (delivery.is_partial, delivery.is_report) == (True, True)
    _sweep_at(time_machine, NOW + 14 * DAY)
    assert _fresh(milestone).state == S.RELEASED
    assert _stats(hanako).auto_approvals == 1


def test_a_client_who_answers_after_the_reply_deadline_ends_the_silence(
    contract, hanako, taro, time_machine
):
    """The reply clock ran out, then the client wrote back: the silence is over.

    While a later reply clock runs, the client's answer clears the earlier silence; an answer
    with no clock running must do the same, or the worker keeps the kill fee and the file-less
    delivery that only a silent client's work allows, however much the client writes since.
    """
    milestone = _started(contract, hanako, taro)
    cs.contract_message_post(author=taro, contract_id=contract.pk, body="ご指示ください。")
    _sweep_at(time_machine, NOW + 7 * DAY)
    assert _fresh(milestone).client_silence_expired_at is not None
    time_machine.move_to(NOW + 8 * DAY, tick=False)

    cs.contract_message_post(
        author=hanako, contract_id=contract.pk, body="遅くなりました。このまま進めてください。"
    )

    assert _fresh(milestone).client_silence_expired_at is None
    _refused(
        InvalidInput,
        cs.delivery_create,
        field="files",
        worker=taro,
        milestone_id=milestone.pk,
        message="途中まで",
    )
    cs.contract_cancel(actor=taro, contract_id=contract.pk, reason="都合により")
    assert _fresh(milestone).state == S.REFUNDED
    assert _earnings(taro) == 0


# --- cancellation ------------------------------------------------------------------------------


def test_cancelling_unfunded_work_cancels_it_and_moves_no_money(contract, hanako):
    cs.contract_cancel(actor=hanako, contract_id=contract.pk, reason="予算がなくなりました")

    contract.refresh_from_db()
    assert [m.state for m in _milestones(contract)] == [S.CANCELLED, S.CANCELLED]
    assert contract.state == ContractState.CANCELLED
    assert Transfer.objects.filter(reference__startswith="milestone:").count() == 0
    assert _stats(hanako).cancellations_after_funding == 0


def test_cancelling_funded_unstarted_work_refunds_it(contract, hanako, taro):
    milestone = _funded(contract, hanako)

    cs.contract_cancel(actor=taro, contract_id=contract.pk, reason="体調不良のため")

    assert _fresh(milestone).state == S.REFUNDED
    assert _wallet(hanako) == 500_000
    assert _transfers(milestone) == ["escrow_fund", "escrow_refund"]
    contract.refresh_from_db()
    assert contract.state == ContractState.CANCELLED


def test_cancelling_leaves_delivered_work_to_its_inspection(contract, hanako, taro, time_machine):
    delivery = _delivered(contract, hanako, taro)

    cs.contract_cancel(actor=hanako, contract_id=contract.pk, reason="やめます")

    contract.refresh_from_db()
    first, second = _milestones(contract)
    assert (first.state, second.state) == (S.DELIVERED, S.CANCELLED)
    assert first.clock == ClockKind.INSPECTION
    assert contract.state == ContractState.ACTIVE
    assert contract.cancelled_at == NOW
    _sweep_at(time_machine, NOW + 7 * DAY)
    contract.refresh_from_db()
    assert _fresh(delivery.milestone).state == S.RELEASED
    assert _earnings(taro) == _net(60_000)
    assert contract.state == ContractState.CANCELLED
    assert _stats(hanako).cancellations_after_funding == 1


def test_the_worker_accepts_the_clients_cancellation_of_started_work_for_the_kill_fee(
    contract, hanako, taro, third, mailoutbox, django_capture_on_commit_callbacks
):
    milestone = _started(contract, hanako, taro)
    _refused(
        Conflict,
        cs.milestone_cancellation_accept,
        code="no_cancellation_pending",
        worker=taro,
        milestone_id=milestone.pk,
    )

    with django_capture_on_commit_callbacks(execute=True):
        cs.contract_cancel(actor=hanako, contract_id=contract.pk, reason="不要になりました")

    waiting = _fresh(milestone)
    assert waiting.state == S.IN_PROGRESS
    assert waiting.cancellation_requested_at == NOW
    assert waiting.clock == ClockKind.CANCELLATION_ANSWER
    assert waiting.clock_deadline_at == NOW + 7 * DAY
    assert mailoutbox[-1].to == [taro.email]
    assert "30%" in mailoutbox[-1].body
    _refused(Forbidden, cs.milestone_cancellation_accept, worker=hanako, milestone_id=milestone.pk)
    _refused(NotFound, cs.milestone_cancellation_accept, worker=third, milestone_id=milestone.pk)
    _refused(
        Conflict,
        cs.contract_cancel,
        code="contract_ended",
        actor=hanako,
        contract_id=contract.pk,
        reason="再度",
    )

    cancelled = cs.milestone_cancellation_accept(worker=taro, milestone_id=milestone.pk)

    assert cancelled.state == S.CANCELLED
    assert _escrow(cancelled) == 0
    assert _earnings(taro) == _net(18_000)
    assert _wallet(hanako) == 500_000 - 18_000
    assert _transfers(cancelled) == ["escrow_fund", "escrow_split"]
    contract.refresh_from_db()
    assert contract.state == ContractState.CANCELLED
    assert books_check() == []


def test_a_worker_silent_on_the_clients_cancellation_gets_the_kill_fee_at_the_deadline(
    contract, hanako, taro, time_machine
):
    milestone = _started(contract, hanako, taro)
    cs.contract_cancel(actor=hanako, contract_id=contract.pk, reason="不要になりました")

    _sweep_at(time_machine, NOW + 7 * DAY)

    assert _fresh(milestone).state == S.CANCELLED
    assert _earnings(taro) == _net(18_000)
    assert ContractEvent.objects.get(contract=contract, action="cancel_with_kill_fee").actor is None


def test_the_worker_giving_up_started_work_refunds_it_in_full(contract, hanako, taro):
    milestone = _started(contract, hanako, taro)

    cs.contract_cancel(actor=taro, contract_id=contract.pk, reason="対応できなくなりました")

    assert _fresh(milestone).state == S.REFUNDED
    assert _wallet(hanako) == 500_000
    assert _earnings(taro) == 0


def test_the_worker_leaving_after_the_clients_reply_clock_ran_out_gets_the_kill_fee(
    contract, hanako, taro, time_machine
):
    milestone = _started(contract, hanako, taro)
    cs.contract_message_post(author=taro, contract_id=contract.pk, body="ご指示ください。")
    _sweep_at(time_machine, NOW + 7 * DAY)

    cs.contract_cancel(actor=taro, contract_id=contract.pk, reason="連絡がないため")

    assert _fresh(milestone).state == S.CANCELLED
    assert _earnings(taro) == _net(18_000)
    assert _wallet(hanako) == 500_000 - 18_000


def test_a_cancellation_needs_a_reason_and_a_party(contract, hanako, third):
    _refused(
        InvalidInput,
        cs.contract_cancel,
        field="reason",
        actor=hanako,
        contract_id=contract.pk,
        reason="",
    )
    _refused(NotFound, cs.contract_cancel, actor=third, contract_id=contract.pk, reason="やめて")


# --- monthly contracts -------------------------------------------------------------------------


@pytest.fixture
def monthly(hanako, taro):
    return hire(
        hanako, taro, contract_type="monthly", split=(("11月分", "monthly", 50_000),),
        due_in_days=30,
    )  # fmt: skip


def test_a_clients_notice_on_a_monthly_contract_takes_effect_after_30_days(
    monthly, hanako, taro, time_machine
):
    _funded(monthly, hanako)
    _refused(
        Conflict,
        cs.contract_termination_accept_early,
        code="no_termination_pending",
        worker=taro,
        contract_id=monthly.pk,
    )

    cs.contract_cancel(actor=hanako, contract_id=monthly.pk, reason="来月で終了")

    monthly.refresh_from_db()
    assert monthly.termination_effective_at == NOW + 30 * DAY
    assert monthly.cancelled_at is None
    assert _first(monthly).state == S.FUNDED  # nothing ends yet
    _refused(
        Conflict,
        cs.contract_cancel,
        code="termination_pending",
        actor=hanako,
        contract_id=monthly.pk,
        reason="再度",
    )
    _refused(Forbidden, cs.contract_termination_accept_early, worker=hanako, contract_id=monthly.pk)
    time_machine.move_to(NOW + 30 * DAY - dt.timedelta(seconds=1), tick=False)
    assert cs.contracts_terminate_due() == 0
    time_machine.move_to(NOW + 30 * DAY, tick=False)
    assert cs.contracts_terminate_due() == 1
    monthly.refresh_from_db()
    assert monthly.cancelled_at == NOW + 30 * DAY
    assert _first(monthly).state == S.REFUNDED


def test_the_worker_may_accept_a_monthly_termination_early(monthly, hanako, taro):
    cs.contract_cancel(actor=hanako, contract_id=monthly.pk, reason="終了したい")

    cs.contract_termination_accept_early(worker=taro, contract_id=monthly.pk)

    monthly.refresh_from_db()
    assert monthly.state == ContractState.CANCELLED
    assert monthly.termination_effective_at == NOW
    _refused(Conflict, cs.contract_termination_accept_early, worker=taro, contract_id=monthly.pk)


def test_next_months_milestone_is_opened_and_its_escrow_asked_ahead(monthly, hanako, time_machine):
    starts = monthly.next_period_starts_on
    time_machine.move_to(
        dt.datetime.combine(starts - dt.timedelta(days=7), dt.time(9), tzinfo=JST), tick=False
    )

    assert cs.monthly_periods_open() == 1
    assert cs.monthly_periods_open() == 0

    opened = _milestones(monthly)[-1]
    assert (opened.kind, opened.amount_jpy, opened.state) == ("monthly", 50_000, S.AWAITING_FUNDING)
    assert opened.clock == ClockKind.FUNDING


# --- changes (変更依頼) ------------------------------------------------------------------------


def _addition(amount: Any = 40_000, **changes: Any) -> MilestoneAddition:
    fields = {
        "title": "追加ページ",
        "kind": "main_work",
        "amount_jpy": amount,
        "due_on": NOW.date() + 30 * DAY,
    }
    fields.update(changes)
    return MilestoneAddition(**fields)


def test_an_accepted_change_is_a_new_terms_version_and_its_new_work_is_funded_first(
    contract, hanako, taro, mailoutbox, django_capture_on_commit_callbacks
):
    main = _started(contract, hanako, taro)
    with django_capture_on_commit_callbacks(execute=True):
        change = cs.change_propose(
            actor=hanako, contract_id=contract.pk, message="お客様の要望で仕様を追加したい",
            scope="既存サイトの移行と問い合わせフォームの追加", additions=[_addition()],
        )  # fmt: skip
    assert change.state == ChangeState.PROPOSED
    assert change.price_delta_jpy == 40_000
    assert change.expires_at == NOW + 7 * DAY
    assert mailoutbox[-1].to == [taro.email]
    contract.refresh_from_db()
    assert contract.terms_version == 1  # nothing applies before the answer

    accepted = cs.change_accept(actor=taro, change_id=change.pk)

    contract.refresh_from_db()
    assert accepted.state == ChangeState.ACCEPTED
    assert accepted.resulting_terms_version == contract.terms_version == 2
    terms = ContractTerms.objects.get(contract=contract, version=2)
    assert terms.snapshot["work_content"] == "既存サイトの移行と問い合わせフォームの追加"
    assert [m["amount_jpy"] for m in terms.snapshot["milestones"]] == [60_000, 20_000, 40_000]
    assert terms.snapshot["total_jpy"] == 120_000
    assert (
        terms.snapshot["previous_sha256"]
        == ContractTerms.objects.get(contract=contract, version=1).snapshot_sha256
    )
    added = _milestones(contract)[-1]
    assert (added.state, added.added_in_terms_version) == (S.DRAFT, 2)
    assert _fresh(main).amount_jpy == 60_000
    _refused(
        Conflict,
        cs.milestone_start,
        code="milestone_not_funded",
        worker=taro,
        milestone_id=added.pk,
    )
    cs.milestone_fund(client=hanako, milestone_id=added.pk)
    assert cs.milestone_start(worker=taro, milestone_id=added.pk).state == S.IN_PROGRESS
    assert cs.events_verify(contract=contract) is None


def test_the_price_of_funded_work_cannot_be_raised_only_cut_with_a_refund(contract, hanako, taro):
    main = _started(contract, hanako, taro)

    error = _refused(
        InvalidInput, cs.change_propose, field="milestones[0].amount_jpy", actor=taro,
        contract_id=contract.pk, message="値上げ", edits=[MilestoneEdit(id=main.pk, amount_jpy=90_000)],
    )  # fmt: skip
    assert "新しい" in str(error.message) or "new milestone" in str(error.message)

    change = cs.change_propose(
        actor=hanako, contract_id=contract.pk, message="範囲を縮小",
        edits=[MilestoneEdit(id=main.pk, amount_jpy=45_000)],
    )  # fmt: skip
    assert change.price_delta_jpy == -15_000
    _refused(Forbidden, cs.change_accept, code="not_your_action", actor=hanako, change_id=change.pk)
    cs.change_accept(actor=taro, change_id=change.pk)

    cut = _fresh(main)
    assert cut.amount_jpy == 45_000
    assert _escrow(cut) == 45_000
    assert _wallet(hanako) == 500_000 - 45_000
    assert _transfers(cut) == ["escrow_fund", "escrow_refund"]
    delivery = cs.delivery_create(
        worker=taro, milestone_id=main.pk, message="納品", uploads=_files(("a.pdf", "full"))
    )
    cs.delivery_approve(client=hanako, delivery_id=delivery.pk)
    assert _earnings(taro) == _net(45_000)
    assert books_check() == []


def test_the_price_of_unfunded_work_moves_freely_and_a_shorter_date_is_flagged(
    contract, hanako, taro
):
    first, second = _milestones(contract)

    change = cs.change_propose(
        actor=taro, contract_id=contract.pk, message="工数が増えたため",
        edits=[MilestoneEdit(id=first.pk, amount_jpy=70_000),
               MilestoneEdit(id=second.pk, due_on=second.due_on - 5 * DAY)],
    )  # fmt: skip

    assert (change.price_delta_jpy, change.shortens_due_date) == (10_000, True)
    cs.change_accept(actor=hanako, change_id=change.pk)
    assert _fresh(first).amount_jpy == 70_000
    assert cs.milestone_fund(client=hanako, milestone_id=first.pk).state == S.FUNDED
    assert _escrow(first) == 70_000


BAD_CHANGES = [
    ({"message": " "}, "message"),
    ({}, "milestones"),  # changes nothing
    ({"additions": [_addition(amount=1.5)]}, "add[0].amount_jpy"),
    ({"additions": [_addition(amount="40000")]}, "add[0].amount_jpy"),
    ({"additions": [_addition(amount=True)]}, "add[0].amount_jpy"),
    ({"additions": [_addition(amount=0)]}, "add[0].amount_jpy"),
    ({"additions": [_addition(amount=-5_000)]}, "add[0].amount_jpy"),
    ({"additions": [_addition(kind="magic")]}, "add[0].kind"),
    ({"additions": [_addition(title=" ")]}, "add[0].title"),
    ({"additions": [_addition(due_on=NOW.date() - DAY)]}, "add[0].due_on"),
    ({"edits": [MilestoneEdit(id=10**9, amount_jpy=1_000)]}, "milestones[0]"),
    ({"removals": [10**9]}, "remove[0]"),
    ({"kill_fee_percent": 51}, "kill_fee_percent"),
    ({"kill_fee_percent": 10.0}, "kill_fee_percent"),
    ({"scope": "\x00"}, "scope"),
]  # fmt: skip


def test_bad_change_requests_are_refused_with_their_field(contract, hanako):
    for number, (arguments, field) in enumerate(BAD_CHANGES):
        with _case(f"case {number}, {field}"):
            call = {"message": "変更をお願いします", **arguments}
            _refused(
                InvalidInput, cs.change_propose, field=field,
                actor=hanako, contract_id=contract.pk, **call,
            )  # fmt: skip


def test_started_work_cannot_be_removed_by_a_change(contract, hanako, taro):
    main = _started(contract, hanako, taro)

    _refused(
        InvalidInput, cs.change_propose, field="remove[0]", actor=hanako,
        contract_id=contract.pk, message="削除", removals=[main.pk],
    )  # fmt: skip


def test_a_removed_funded_milestone_is_refunded(contract, hanako, taro):
    first = _funded(contract, hanako)
    change = cs.change_propose(
        actor=hanako, contract_id=contract.pk, message="実作業は不要に", removals=[first.pk],
    )  # fmt: skip

    cs.change_accept(actor=taro, change_id=change.pk)

    assert _fresh(first).state == S.REFUNDED
    assert _wallet(hanako) == 500_000
    # The next milestone is asked for now that the removed one is gone.
    assert _milestones(contract)[1].state == S.AWAITING_FUNDING


def test_a_change_is_answered_once_by_the_other_party(contract, hanako, taro, third, time_machine):
    change = cs.change_propose(
        actor=hanako, contract_id=contract.pk, message="追加", additions=[_addition()]
    )

    _refused(
        Conflict,
        cs.change_propose,
        code="change_pending",
        actor=taro,
        contract_id=contract.pk,
        message="別の変更",
        additions=[_addition()],
    )
    for call in (cs.change_accept, cs.change_decline, cs.change_withdraw):
        _refused(NotFound, call, code="not_found", actor=third, change_id=change.pk)
        _refused(NotFound, call, code="not_found", actor=hanako, change_id=10**9)
    _refused(
        NotFound,
        cs.change_propose,
        actor=third,
        contract_id=contract.pk,
        message="追加",
        additions=[_addition()],
    )
    _refused(Forbidden, cs.change_decline, actor=hanako, change_id=change.pk)
    _refused(Forbidden, cs.change_withdraw, actor=taro, change_id=change.pk)

    declined = cs.change_decline(actor=taro, change_id=change.pk, note="納期内では無理です")

    assert declined.state == ChangeState.DECLINED
    assert declined.answer_note == "納期内では無理です"
    contract.refresh_from_db()
    assert contract.terms_version == 1
    assert len(_milestones(contract)) == 2
    for call in (cs.change_accept, cs.change_decline):
        _refused(Conflict, call, code="change_closed", actor=taro, change_id=change.pk)
    _refused(Conflict, cs.change_withdraw, code="change_closed", actor=hanako, change_id=change.pk)

    again = cs.change_propose(
        actor=hanako, contract_id=contract.pk, message="再提案", additions=[_addition()]
    )
    assert cs.change_withdraw(actor=hanako, change_id=again.pk).state == ChangeState.WITHDRAWN


def test_an_unanswered_change_expires_and_the_terms_stay(contract, hanako, taro, time_machine):
    change = cs.change_propose(
        actor=hanako, contract_id=contract.pk, message="追加", additions=[_addition()]
    )
    time_machine.move_to(NOW + 7 * DAY, tick=False)

    # Past its deadline it cannot be accepted even before the sweeper gets to it.
    _refused(Conflict, cs.change_accept, code="change_expired", actor=taro, change_id=change.pk)
    assert cs.changes_expire_due() == 1
    assert cs.changes_expire_due() == 0

    change.refresh_from_db()
    contract.refresh_from_db()
    assert change.state == ChangeState.EXPIRED
    assert contract.terms_version == 1
    assert ContractTerms.objects.filter(contract=contract).count() == 1
    assert len(_milestones(contract)) == 2
    assert _actions(contract)[-1] == "change_expired"


def test_a_change_that_no_longer_fits_the_milestones_is_refused_at_acceptance(
    contract, hanako, taro
):
    first = _first(contract)
    change = cs.change_propose(
        actor=taro,
        contract_id=contract.pk,
        message="値上げ",
        edits=[MilestoneEdit(id=first.pk, amount_jpy=80_000)],
    )
    cs.milestone_fund(client=hanako, milestone_id=first.pk)

    _refused(
        InvalidInput,
        cs.change_accept,
        field="milestones[0].amount_jpy",
        actor=hanako,
        change_id=change.pk,
    )

    assert _escrow(first) == 60_000


# --- every use case, by somebody it is not for ---------------------------------------------------


@pytest.fixture
def scene(contract, hanako, taro):
    """A delivered milestone, a draft one, and a change the client proposed, all in one contract."""
    delivery = _delivered(contract, hanako, taro)
    change = cs.change_propose(
        actor=hanako, contract_id=contract.pk, message="追加", additions=[_addition()]
    )
    return {
        "contract": contract.pk,
        "delivered": delivery.milestone_id,
        "draft": _milestones(contract)[1].pk,
        "delivery": delivery.pk,
        "change": change.pk,
    }


# (use case, keyword arguments given the scene ids); the actor is added by each test.
USE_CASES = {
    "request_funding": (cs.milestone_request_funding, "actor", lambda s: {"milestone_id": s["draft"]}),
    "fund": (cs.milestone_fund, "client", lambda s: {"milestone_id": s["draft"]}),
    "start": (cs.milestone_start, "worker", lambda s: {"milestone_id": s["draft"]}),
    "deliver": (cs.delivery_create, "worker", lambda s: {"milestone_id": s["draft"], "message": "納品", "uploads": _files(("x.pdf", "full"))}),
    "approve": (cs.delivery_approve, "client", lambda s: {"delivery_id": s["delivery"]}),
    "request_revision": (cs.delivery_request_revision, "client", lambda s: {"delivery_id": s["delivery"], "reason": "直して"}),
    "dispute": (cs.milestone_dispute, "actor", lambda s: {"milestone_id": s["delivered"], "reason": "不当"}),
    "freeze": (cs.milestone_dispute_freeze, "operator", lambda s: {"milestone_id": s["delivered"], "note": "止める"}),
    "resolve": (cs.milestone_dispute_resolve, "operator", lambda s: {"milestone_id": s["delivered"], "worker_amount_jpy": 0, "note": "裁定"}),
    "accept_cancellation": (cs.milestone_cancellation_accept, "worker", lambda s: {"milestone_id": s["delivered"]}),
    "flag": (cs.contract_flag, "worker", lambda s: {"contract_id": s["contract"], "kind": "asked_before_escrow"}),
    "message": (cs.contract_message_post, "author", lambda s: {"contract_id": s["contract"], "body": "こんにちは"}),
    "cancel": (cs.contract_cancel, "actor", lambda s: {"contract_id": s["contract"], "reason": "やめます"}),
    "accept_early_termination": (cs.contract_termination_accept_early, "worker", lambda s: {"contract_id": s["contract"]}),
    "propose_change": (cs.change_propose, "actor", lambda s: {"contract_id": s["contract"], "message": "変更", "scope": "新しい範囲"}),
    "accept_change": (cs.change_accept, "actor", lambda s: {"change_id": s["change"]}),
    "decline_change": (cs.change_decline, "actor", lambda s: {"change_id": s["change"]}),
    "withdraw_change": (cs.change_withdraw, "actor", lambda s: {"change_id": s["change"]}),
}  # fmt: skip


def test_a_stranger_is_told_the_contract_does_not_exist(scene, third):
    for use_case, (call, actor_argument, arguments) in sorted(USE_CASES.items()):
        with _case(use_case):
            error = _refused(
                NotFound, call, code="not_found", **{actor_argument: third}, **arguments(scene)
            )
            assert "No such" in str(error.message) or "見つかりません" in str(error.message)


@pytest.mark.parametrize(
    ("use_case", "who"),
    [
        ("fund", "taro"),
        ("start", "hanako"),
        ("deliver", "hanako"),
        ("approve", "taro"),
        ("request_revision", "taro"),
        ("freeze", "hanako"),
        ("freeze", "taro"),
        ("resolve", "hanako"),
        ("resolve", "taro"),
        ("accept_cancellation", "hanako"),
        ("flag", "hanako"),
        ("accept_early_termination", "hanako"),
        ("accept_change", "hanako"),  # its own proposal
        ("decline_change", "hanako"),
        ("withdraw_change", "taro"),  # not theirs to withdraw
    ],
)
def test_the_other_partys_action_is_refused_as_theirs(scene, hanako, taro, use_case, who):
    call, actor_argument, arguments = USE_CASES[use_case]
    actor = {"hanako": hanako, "taro": taro}[who]
    # Each action is tried where its state allows it, so only the actor is wrong.
    if use_case == "fund":
        cs.milestone_request_funding(actor=taro, milestone_id=scene["draft"])
    if use_case in ("start", "deliver"):
        cs.milestone_fund(client=hanako, milestone_id=scene["draft"])
    if use_case in ("freeze", "resolve"):
        cs.milestone_dispute(actor=taro, milestone_id=scene["delivered"], reason="検収されない")

    _refused(Forbidden, call, **{actor_argument: actor}, **arguments(scene))


# --- the event chain ---------------------------------------------------------------------------


def test_the_event_chain_verifies_through_a_whole_contract_and_shows_tampering(
    contract, hanako, taro, time_machine
):
    first = _delivered(contract, hanako, taro)
    cs.delivery_approve(client=hanako, delivery_id=first.pk)
    second = _milestones(contract)[1]
    cs.milestone_fund(client=hanako, milestone_id=second.pk)
    cs.delivery_create(worker=taro, milestone_id=second.pk, message="確認完了の報告です")
    _sweep_at(time_machine, NOW + 7 * DAY)
    contract.refresh_from_db()
    assert contract.state == ContractState.COMPLETED
    assert _stats(hanako).contracts_completed == 1
    events = list(ContractEvent.objects.filter(contract=contract).order_by("sequence"))
    assert [e.sequence for e in events] == list(range(1, len(events) + 1))
    assert events[-1].action == "contract_complete"
    assert cs.events_verify(contract=contract) is None

    release = next(e for e in events if e.action == "release")
    ContractEvent.objects.filter(pk=release.pk).update(payload={**release.payload, "amount_jpy": 6})

    assert cs.events_verify(contract=contract) == release.sequence


def test_an_event_removed_from_the_middle_breaks_the_chain(contract, hanako):
    cs.milestone_fund(client=hanako, milestone_id=_first(contract).pk)
    events = list(ContractEvent.objects.filter(contract=contract).order_by("sequence"))
    assert len(events) == 3

    ContractEvent.objects.filter(pk=events[1].pk).delete()

    assert cs.events_verify(contract=contract) == events[2].sequence


def test_milestone_escrows_match_their_states(contract, hanako, taro):
    _delivered(contract, hanako, taro)

    assert selectors.escrow_problems() == []
    assert books_check() == []


def test_every_milestone_of_the_seed_split_can_be_paid_in_turn(hanako, taro, time_machine):
    contract = hire(hanako, taro, split=SEED_SPLIT)
    for index, (_title, kind, _amount) in enumerate(SEED_SPLIT):
        milestone = _milestones(contract)[index]
        assert milestone.state == S.AWAITING_FUNDING
        cs.milestone_fund(client=hanako, milestone_id=milestone.pk)
        uploads = [] if kind != "main_work" else _files(("site.zip", "full"))
        delivery = cs.delivery_create(
            worker=taro, milestone_id=milestone.pk, message="完了", uploads=uploads
        )
        cs.delivery_approve(client=hanako, delivery_id=delivery.pk)
        assert _fresh(milestone).state == S.RELEASED
        assert _escrow(milestone) == 0
        assert _earnings(taro) == sum(_net(a) for _t, _k, a in SEED_SPLIT[: index + 1])
    contract.refresh_from_db()
    assert contract.state == ContractState.COMPLETED
    assert _wallet(hanako) == 500_000 - sum(a for _t, _k, a in SEED_SPLIT)
