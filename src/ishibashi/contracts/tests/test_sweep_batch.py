"""The sweeper's batch: many due milestones in one transaction, each re-checked under its lock.

Whatever else happens between the claim and the batch (a client approving, a cancellation, a
second sweeper, a crash), each escrow is released exactly once, the books balance, every event
chain verifies and the milestones nobody else touched get what the one-milestone path gives them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ishibashi.contracts import selectors
from ishibashi.contracts import services as cs
from ishibashi.contracts.models import (
    ClientContractStats,
    ContractEvent,
    ContractState,
    Milestone,
    MilestoneState,
)
from ishibashi.contracts.services import DeliveryUpload, sweeps
from ishibashi.contracts.tests.factories import deposit, hire
from ishibashi.core import clock
from ishibashi.ledger.models import LedgerAccount, Transfer
from ishibashi.ledger.selectors import books_check
from ishibashi.notifications.models import Notification

JST = ZoneInfo("Asia/Tokyo")
NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=JST)
DAY = dt.timedelta(days=1)
S = MilestoneState
ONE = (("実作業", "main_work", 60_000),)


@pytest.fixture(autouse=True)
def _fixed_now(time_machine, settings, tmp_path):
    time_machine.move_to(NOW, tick=False)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def hanako(make_user):
    user = make_user(email="hanako@example.jp", is_worker=False, entity_type="corporation")
    deposit(user, 5_000_000)
    return user


@pytest.fixture
def taro(make_user):
    return make_user(email="taro@example.jp", is_client=False)


def _fresh(milestone: Milestone) -> Milestone:
    return Milestone.objects.get(pk=milestone.pk)


def _first(contract: Any) -> Milestone:
    return Milestone.objects.filter(contract=contract).order_by("position").first()


def _delivered(client: Any, worker: Any, **hire_arguments: Any) -> Milestone:
    contract = hire(client, worker, **hire_arguments)
    milestone = _first(contract)
    cs.milestone_fund(client=client, milestone_id=milestone.pk)
    cs.milestone_start(worker=worker, milestone_id=milestone.pk)
    cs.delivery_create(
        worker=worker, milestone_id=milestone.pk, message="納品します。",
        uploads=[DeliveryUpload(file=SimpleUploadedFile("site.zip", b"PK site"), visibility="full")],
    )  # fmt: skip
    return _fresh(milestone)


def _releases(milestone: Milestone) -> int:
    return Transfer.objects.filter(
        reference=milestone.escrow_reference, reason="escrow_release"
    ).count()


def _escrow(milestone: Milestone) -> int:
    account = LedgerAccount.objects.filter(key=f"escrow:{milestone.escrow_reference}").first()
    return account.balance_jpy if account else 0


def _actions(milestone: Milestone) -> list[str]:
    return list(
        ContractEvent.objects.filter(contract_id=milestone.contract_id)
        .order_by("sequence")
        .values_list("action", flat=True)
    )


def _released_once(*milestones: Milestone) -> None:
    for milestone in milestones:
        assert _fresh(milestone).state == S.RELEASED
        assert _releases(milestone) == 1
        assert _escrow(milestone) == 0
        assert _fresh(milestone).sweep_lease_until is None


def _books_hold(*milestones: Milestone) -> None:
    assert books_check() == []
    assert selectors.escrow_problems() == []
    for milestone in milestones:
        assert cs.events_verify(contract=milestone.contract) is None


def _stats(client: Any) -> ClientContractStats:
    return ClientContractStats.objects.get(client=client)


def _with_claim_then(monkeypatch: Any, meanwhile: Any) -> None:
    """Run `meanwhile()` between the sweeper's claim and its batch: what a person does then."""
    claim = sweeps.milestones_claim_due

    def claim_then(**arguments: Any) -> list[int]:
        claimed = claim(**arguments)
        meanwhile()
        return claimed

    monkeypatch.setattr(sweeps, "milestones_claim_due", claim_then)


def test_a_batch_approves_and_releases_each_silent_clients_milestone_once(
    hanako, taro, make_user, time_machine, mailoutbox, django_capture_on_commit_callbacks
):
    other_worker = make_user(email="jiro@example.jp", is_client=False, preferred_language="en")
    finishing = [_delivered(hanako, taro, split=ONE) for _ in range(2)]  # the contract completes
    continuing = [_delivered(hanako, other_worker) for _ in range(2)]  # the next one is asked for
    mailoutbox.clear()
    Notification.objects.all().delete()
    time_machine.move_to(NOW + 7 * DAY, tick=False)

    with django_capture_on_commit_callbacks(execute=True):
        assert cs.milestones_sweep_due() == 4

    _released_once(*finishing, *continuing)
    for milestone in finishing:
        assert _actions(milestone)[-3:] == ["auto_approve", "release", "contract_complete"]
        assert milestone.contract.__class__.objects.get(pk=milestone.contract_id).state == (
            ContractState.COMPLETED
        )
    for milestone in continuing:
        assert _actions(milestone)[-3:] == ["auto_approve", "release", "request_funding"]
        second = Milestone.objects.get(contract_id=milestone.contract_id, position=2)
        assert second.state == S.AWAITING_FUNDING
        assert second.action_due_at is not None
    stats = _stats(hanako)
    assert (stats.auto_approvals, stats.inspections, stats.contracts_completed) == (4, 4, 2)
    assert stats.inspection_seconds_total == 4 * 7 * 24 * 3600
    # Paid (both parties) for each, completed (both) for two, funding requested for two.
    assert Notification.objects.count() == 4 * 2 + 2 * 2 + 2
    assert len(mailoutbox) == 4 * 2 + 2 * 2 + 2
    assert sum(1 for mail in mailoutbox if mail.to == [other_worker.email]) == 2
    assert any(mail.subject.startswith("Paid:") for mail in mailoutbox)
    _books_hold(*finishing, *continuing)
    assert cs.milestones_sweep_due() == 0


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="on SQLite the ledger makes a batch's transfers one by one (three statements each)",
)
def test_a_batch_costs_the_same_statements_whatever_its_size(hanako, taro, time_machine):
    def statements(milestones: int) -> int:
        time_machine.move_to(NOW, tick=False)
        for _ in range(milestones):
            _delivered(hanako, taro, split=ONE)
        time_machine.move_to(NOW + 7 * DAY, tick=False)
        with CaptureQueriesContext(connection) as captured:
            assert cs.milestones_sweep_due() == milestones
        return len(captured.captured_queries)

    statements(1)  # the first release creates the fee and earnings accounts: not in the count
    assert statements(2) == statements(6)
    _books_hold()


def test_a_milestone_the_client_approves_between_claim_and_batch_is_released_once(
    hanako, taro, time_machine, monkeypatch
):
    approved, silent = (_delivered(hanako, taro, split=ONE) for _ in range(2))
    time_machine.move_to(NOW + 7 * DAY, tick=False)
    delivery = approved.deliveries.get()
    _with_claim_then(
        monkeypatch, lambda: cs.delivery_approve(client=hanako, delivery_id=delivery.pk)
    )

    assert cs.milestones_sweep_due() == 1

    _released_once(approved, silent)
    assert "auto_approve" not in _actions(approved)
    assert _actions(approved).count("approve") == 1
    assert _actions(silent).count("auto_approve") == 1
    stats = _stats(hanako)
    assert (stats.auto_approvals, stats.inspections, stats.contracts_completed) == (1, 2, 2)
    _books_hold(approved, silent)


def test_a_contract_cancelled_between_claim_and_batch_ends_cancelled_after_the_release(
    hanako, taro, time_machine, monkeypatch
):
    delivered = _delivered(hanako, taro)  # its second milestone is still a draft
    untouched = _delivered(hanako, taro, split=ONE)
    time_machine.move_to(NOW + 7 * DAY, tick=False)
    _with_claim_then(
        monkeypatch,
        lambda: cs.contract_cancel(
            actor=hanako, contract_id=delivered.contract_id, reason="不要になった"
        ),
    )

    assert cs.milestones_sweep_due() == 2

    # Delivered work is left to its inspection; the silence approves it and the contract ends.
    _released_once(delivered, untouched)
    second = Milestone.objects.get(contract_id=delivered.contract_id, position=2)
    assert second.state == S.CANCELLED
    contract = delivered.contract.__class__.objects.get(pk=delivered.contract_id)
    assert contract.state == ContractState.CANCELLED
    assert _actions(delivered)[-3:] == ["auto_approve", "release", "contract_cancel"]
    assert _stats(hanako).contracts_completed == 1
    _books_hold(delivered, untouched)


def test_mixed_clocks_in_one_batch_each_get_what_is_due(
    hanako, taro, time_machine, mailoutbox, django_capture_on_commit_callbacks
):
    inspected_late = _delivered(hanako, taro, split=ONE)  # inspection ends at NOW + 7 days
    unfunded = _first(hire(hanako, taro, split=ONE))  # escrow asked for until NOW + 7 days
    assert _fresh(unfunded).clock_deadline_at == NOW + 7 * DAY
    time_machine.move_to(NOW + 4 * DAY, tick=False)
    reminded = _delivered(hanako, taro, split=ONE)  # its first reminder at NOW + 7.5 days
    mailoutbox.clear()
    time_machine.move_to(NOW + 7.5 * DAY, tick=False)

    with django_capture_on_commit_callbacks(execute=True):
        assert cs.milestones_sweep_due() == 3

    _released_once(inspected_late)
    reminded = _fresh(reminded)
    assert reminded.state == S.DELIVERED
    assert reminded.reminders_sent >= 1
    assert reminded.sweep_lease_until is None
    assert _actions(reminded).count("reminder_sent") == 1
    assert _fresh(unfunded).state == S.CANCELLED
    assert "expire_funding" in _actions(unfunded)
    assert _stats(hanako).funding_requests_unanswered == 1
    assert not Milestone.objects.filter(sweep_lease_until__isnull=False).exists()
    _books_hold(inspected_late, reminded, unfunded)


def test_a_reminders_only_batch_sends_each_reminder_once(
    hanako, taro, time_machine, mailoutbox, django_capture_on_commit_callbacks
):
    milestones = [_delivered(hanako, taro) for _ in range(3)]
    mailoutbox.clear()
    time_machine.move_to(NOW + 3.5 * DAY, tick=False)

    with django_capture_on_commit_callbacks(execute=True):
        assert cs.milestones_sweep_due() == 3
        assert cs.milestones_sweep_due() == 0

    for milestone in milestones:
        fresh = _fresh(milestone)
        assert (fresh.state, fresh.reminders_sent) == (S.DELIVERED, 1)
        assert fresh.action_due_at == NOW + 7 * DAY * 0.85
        assert _actions(milestone).count("reminder_sent") == 1
        assert _escrow(milestone) == milestone.amount_jpy
    assert [mail.to for mail in mailoutbox] == [[hanako.email]] * 3
    assert Transfer.objects.filter(reason="escrow_release").count() == 0
    _books_hold(*milestones)


class _Crash(BaseException):
    """The process dying mid-batch: nothing of the sweeper's may catch it."""


def test_a_sweeper_that_dies_mid_batch_leaves_nothing_and_the_next_one_releases_once(
    hanako, taro, time_machine, monkeypatch
):
    milestones = [_delivered(hanako, taro, split=ONE) for _ in range(3)]
    time_machine.move_to(NOW + 7 * DAY, tick=False)
    release = sweeps.release_escrow_many

    def die(released: Any) -> None:
        release(released)  # the transfers are written, then the process dies before COMMIT
        raise _Crash

    monkeypatch.setattr(sweeps, "release_escrow_many", die)
    with pytest.raises(_Crash):
        cs.milestones_sweep_due()
    monkeypatch.undo()

    for milestone in milestones:
        assert _fresh(milestone).state == S.DELIVERED
        assert _fresh(milestone).sweep_lease_until is not None  # the claim committed
        assert _releases(milestone) == 0
        assert _escrow(milestone) == milestone.amount_jpy
    assert not ContractEvent.objects.filter(action="auto_approve").exists()
    assert _stats(hanako).auto_approvals == 0
    # Until the dead sweeper's lease lapses nobody takes its milestones; then one does, once.
    assert cs.milestones_sweep_due() == 0
    time_machine.move_to(NOW + 7 * DAY + sweeps.SWEEP_LEASE + dt.timedelta(seconds=1), tick=False)
    assert cs.milestones_sweep_due() == 3
    assert cs.milestones_sweep_due() == 0
    _released_once(*milestones)
    assert _stats(hanako).auto_approvals == 3
    _books_hold(*milestones)


def test_a_milestone_the_batch_refuses_goes_one_by_one_and_the_rest_are_done(
    hanako, taro, time_machine, monkeypatch
):
    """A refusal inside the batch (here the ledger's, as an overdrawn escrow would give) rolls
    the whole batch back; each milestone is then tried in its own transaction."""
    milestones = [_delivered(hanako, taro, split=ONE) for _ in range(3)]
    time_machine.move_to(NOW + 7 * DAY, tick=False)
    from ishibashi.ledger.errors import InsufficientFunds

    calls = []

    def refuse(released: Any) -> None:
        calls.append(len(released))
        raise InsufficientFunds("refused for the test")

    monkeypatch.setattr(sweeps, "release_escrow_many", refuse)

    assert cs.milestones_sweep_due() == 3

    assert calls == [3]
    _released_once(*milestones)
    assert _stats(hanako).auto_approvals == 3
    _books_hold(*milestones)


def test_the_batch_and_the_one_milestone_path_record_the_same_story(hanako, taro, time_machine):
    batched, alone = _delivered(hanako, taro), _delivered(hanako, taro)
    time_machine.move_to(NOW + 7 * DAY, tick=False)

    # The sweeper's own now: the clock's (UTC), as milestones_sweep_due passes it.
    assert cs.milestone_act_on_due(milestone_id=alone.pk, now=clock.now())
    assert cs.milestones_sweep_due() == 1

    def story(milestone: Milestone) -> list[tuple[Any, ...]]:
        events = ContractEvent.objects.filter(contract_id=milestone.contract_id)
        positions = dict(Milestone.objects.values_list("pk", "position"))
        return [
            (e.action, e.from_state, e.to_state, positions.get(e.milestone_id), e.actor_id,
             e.created_at, sorted(e.payload))
            for e in events.order_by("sequence")
        ]  # fmt: skip

    assert story(batched) == story(alone)
    fields = ["state", "approved_at", "ended_at", "clock", "action_due_at", "reminders_sent"]
    for position in (1, 2):
        a = Milestone.objects.filter(contract_id=batched.contract_id, position=position)
        b = Milestone.objects.filter(contract_id=alone.contract_id, position=position)
        assert list(a.values(*fields)) == list(b.values(*fields))
    _books_hold(batched, alone)


@pytest.mark.django_db
def test_a_sweep_given_japanese_time_writes_a_chain_that_verifies(hanako, taro):
    """milestone_act_on_due is public: a caller's JST `now` must not break the hash chain."""
    contract = hire(hanako, taro, split=(("事前調査", "research", 30_000),))
    milestone = contract.milestones.get()
    cs.milestone_fund(client=hanako, milestone_id=milestone.pk)
    cs.milestone_start(worker=taro, milestone_id=milestone.pk)
    cs.delivery_create(worker=taro, milestone_id=milestone.pk, message="調査が完了しました。")
    due = Milestone.objects.get(pk=milestone.pk).clock_deadline_at
    later = (due + DAY).astimezone(JST)

    assert sweeps.milestone_act_on_due(milestone_id=milestone.pk, now=later)

    assert Milestone.objects.get(pk=milestone.pk).state == S.RELEASED
    assert cs.events_verify(contract=contract) is None
