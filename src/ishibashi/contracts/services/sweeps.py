"""The deadline sweeper: reminders, automatic approval, expiry and the legal release."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import DatabaseError, transaction
from django.db.models import Q

from ishibashi.contracts import clocks, notices
from ishibashi.contracts.events import EventChains, event_append
from ishibashi.contracts.models import (
    ClockKind,
    Contract,
    ContractState,
    Milestone,
    MilestoneState,
)
from ishibashi.contracts.services.settlement import (
    approve_and_release,
    cancel_unstarted,
    cancel_with_kill_fee,
    contract_settle,
    release_escrow_many,
    stats_bump,
)
from ishibashi.contracts.states import (
    MILESTONE_TERMINAL,
    Action,
    Locked,
    Pending,
    Role,
    check,
    lock,
    lock_batch,
    transition,
)
from ishibashi.core import clock, limits
from ishibashi.core.errors import ApplicationError
from ishibashi.notifications.notices import notices_batched

logger = logging.getLogger(__name__)


# A claimed batch is worked off within this; a crashed worker's claim lapses and is retried.
SWEEP_LEASE = dt.timedelta(minutes=5)


def milestones_claim_due(*, now: dt.datetime, batch: int) -> list[int]:
    """Claim up to `batch` due milestones for this worker, skipping rows others hold.

    On PostgreSQL `FOR UPDATE SKIP LOCKED` lets many sweepers claim disjoint batches at once;
    SQLite has one writer at a time, so there the claim is plain.
    """
    with transaction.atomic():
        claim = (
            Milestone.objects.select_for_update(skip_locked=True)
            .filter(action_due_at__lte=now)
            .filter(Q(sweep_lease_until__isnull=True) | Q(sweep_lease_until__lt=now))
            .order_by("action_due_at")
            .values_list("pk", flat=True)[:batch]
        )
        ids = list(claim)
        if ids:
            Milestone.objects.filter(pk__in=ids).update(sweep_lease_until=now + SWEEP_LEASE)
        return ids


def milestones_sweep_due(*, batch: int = limits.SWEEP_BATCH_MAX) -> int:
    """Sweep: reminders, automatic approval, unfunded closing, and the legal release.

    The claimed milestones are handled together in one transaction (`_sweep_batch`): locked,
    each re-checked under its lock, and written in a few statements, so a second sweeper, a
    client acting at the same moment or a replay after a crash finds the work done and does
    nothing. What the batch does not handle (the rarer deadlines, disputed or monthly contracts,
    a refusal) is then handled one milestone per transaction, as is the whole batch if it fails.
    """
    now = clock.now()
    claimed = milestones_claim_due(now=now, batch=batch)
    if not claimed:
        return 0
    try:
        handled, one_by_one = _sweep_batch(claimed, now=now)
    except (ApplicationError, DatabaseError):
        # Nothing of the batch was written: each milestone then gets its own transaction.
        logger.warning("sweep: batch of %s failed, one by one", len(claimed), exc_info=True)
        handled, one_by_one = 0, claimed
    for milestone_id in one_by_one:
        try:
            if milestone_act_on_due(milestone_id=milestone_id, now=now):
                handled += 1
        except ApplicationError:
            # A refusal (say, the contract ended meanwhile) is not a crash: log and move on.
            logger.warning("sweep: milestone %s refused", milestone_id, exc_info=True)
            Milestone.objects.filter(pk=milestone_id).update(sweep_lease_until=None)
    return handled


def _sweep_batch(claimed: list[int], *, now: dt.datetime) -> tuple[int, list[int]]:
    """Handle the claimed milestones in one transaction: (how many acted on, those left over).

    The same decisions as milestone_act_on_due, taken on rows locked by lock_batch; the
    transitions go through states.transition with a Pending, so the table and its events hold.
    The release transfers go last, in one ledger statement, so the platform's fee account (the
    row every release shares) is locked only for that statement and the commit.
    """
    with transaction.atomic():
        locked = lock_batch(milestone_ids=claimed)
        pending = Pending(locked=locked, events=EventChains(list(locked.contracts)))
        open_by_contract: dict[int, list[Milestone]] = {}
        for row in locked.milestones.values():
            if row.state not in MILESTONE_TERMINAL:
                open_by_contract.setdefault(row.contract_id, []).append(row)
        released: list[Locked] = []
        handled, one_by_one = 0, []
        with notices_batched():
            for milestone_id in claimed:
                milestone = locked.milestones.get(milestone_id)
                if milestone is None:  # gone between the claim and the lock: nothing to do
                    continue
                outcome = _act_batched(
                    Locked(
                        contract=locked.contracts[milestone.contract_id],
                        milestone=milestone,
                        role=Role.SYSTEM,
                    ),
                    now=now,
                    pending=pending,
                    open_milestones=open_by_contract.get(milestone.contract_id, []),
                    released=released,
                )
                if outcome is None:
                    one_by_one.append(milestone_id)
                    continue
                milestone.sweep_lease_until = None
                pending.milestone_changed(milestone)
                handled += outcome
        pending.write()
        if released:
            release_escrow_many(released)
    return handled, one_by_one


def _plain(contract: Contract, open_milestones: list[Milestone]) -> bool:
    """A contract whose settling after a release the batch does itself (contract_settle's
    common case): active, not monthly, no milestone in dispute."""
    return (
        contract.state == ContractState.ACTIVE
        and not contract.is_monthly
        and all(m.state != MilestoneState.DISPUTED for m in open_milestones)
    )


def _act_batched(
    locked: Locked,
    *,
    now: dt.datetime,
    pending: Pending,
    open_milestones: list[Milestone],
    released: list[Locked],
) -> bool | None:
    """milestone_act_on_due's decision under the batch's locks: True if acted on, False if
    nothing was due, None if it is left to milestone_act_on_due (its own transaction)."""
    milestone, contract = locked.milestone, locked.contract
    if milestone.action_due_at is None or milestone.action_due_at > now:
        return False
    if clocks.legal_deadline_applies(milestone) and (
        milestone.legal_release_due_at is not None and milestone.legal_release_due_at <= now
    ):
        if not _approvable(locked, Action.LEGAL_RELEASE, open_milestones):
            return None
        pending.stats_add(contract.client_id, legal_deadline_releases=1)
        approve_and_release(
            locked,
            action=Action.LEGAL_RELEASE,
            actor=None,
            now=now,
            payload={
                "legal_release_due_at": milestone.legal_release_due_at,
                "first_delivered_at": milestone.first_delivered_at,
            },
            pending=pending,
        )
        contract_settle(contract, actor=None, now=now, pending=pending, milestones=open_milestones)
        released.append(locked)
        return True
    if milestone.clock and milestone.clock_deadline_at and milestone.clock_deadline_at <= now:
        if milestone.clock != ClockKind.INSPECTION:
            return None
        if not _approvable(locked, Action.AUTO_APPROVE, open_milestones):
            return None
        # The client stayed silent to the end: approved as delivered, and recorded as such.
        pending.stats_add(contract.client_id, auto_approvals=1)
        approve_and_release(
            locked,
            action=Action.AUTO_APPROVE,
            actor=None,
            now=now,
            payload={"silent_client": True, "deadline": milestone.clock_deadline_at},
            pending=pending,
        )
        contract_settle(contract, actor=None, now=now, pending=pending, milestones=open_milestones)
        released.append(locked)
        return True
    reminder = clocks.next_reminder_at(milestone)
    if reminder is not None and reminder <= now:
        return _send_reminder(locked, now=now, pending=pending)
    clocks.refresh_action_due(milestone)
    return False


def _approvable(locked: Locked, action: Action, open_milestones: list[Milestone]) -> bool:
    if not _plain(locked.contract, open_milestones):
        return False
    try:
        check(contract=locked.contract, milestone=locked.milestone, action=action, role=Role.SYSTEM)
    except ApplicationError:
        return False  # milestone_act_on_due meets the same refusal and logs it
    return True


def milestone_act_on_due(*, milestone_id: int, now: dt.datetime) -> bool:
    """Do what is due on one milestone now; False if nothing was (someone acted first)."""
    with transaction.atomic(), notices_batched():
        locked = lock(milestone_id=milestone_id, actor=None)
        milestone = locked.milestone
        milestone.sweep_lease_until = None
        if milestone.action_due_at is None or milestone.action_due_at > now:
            milestone.save(update_fields=["sweep_lease_until"])
            return False
        if clocks.legal_deadline_applies(milestone) and (
            milestone.legal_release_due_at is not None and milestone.legal_release_due_at <= now
        ):
            stats_bump(locked.contract.client_id, legal_deadline_releases=1)
            approve_and_release(
                locked,
                action=Action.LEGAL_RELEASE,
                actor=None,
                now=now,
                payload={
                    "legal_release_due_at": milestone.legal_release_due_at,
                    "first_delivered_at": milestone.first_delivered_at,
                },
            )
            return True
        if milestone.clock and milestone.clock_deadline_at and milestone.clock_deadline_at <= now:
            _act_on_deadline(locked, now=now)
            return True
        reminder = clocks.next_reminder_at(milestone)
        if reminder is not None and reminder <= now:
            return _send_reminder(locked, now=now)
        clocks.refresh_action_due(milestone)
        milestone.save(update_fields=["sweep_lease_until", "action_due_at"])
        return False


def _send_reminder(locked: Locked, *, now: dt.datetime, pending: Pending | None = None) -> bool:
    milestone = locked.milestone
    # A sweeper that was down sends one reminder for the latest step due, not a burst.
    assert milestone.clock_started_at is not None
    assert milestone.clock_deadline_at is not None
    times = clocks.reminder_times(milestone.clock_started_at, milestone.clock_deadline_at)
    milestone.reminders_sent = sum(1 for moment in times if moment <= now)
    clocks.refresh_action_due(milestone)
    if pending is None:
        milestone.save(update_fields=["reminders_sent", "action_due_at", "sweep_lease_until"])
    else:
        pending.milestone_changed(milestone)
    (event_append if pending is None else pending.events.append)(
        contract=locked.contract,
        action="reminder_sent",
        actor=None,
        now=now,
        milestone=milestone,
        from_state=milestone.state,
        to_state=milestone.state,
        payload={
            "clock": milestone.clock,
            "reminder": milestone.reminders_sent,
            "deadline": milestone.clock_deadline_at,
        },
    )
    notices.reminder(milestone=milestone, contract=locked.contract)
    return True


def _act_on_deadline(locked: Locked, *, now: dt.datetime) -> None:
    milestone, contract = locked.milestone, locked.contract
    kind = milestone.clock
    if kind == ClockKind.INSPECTION:
        # The client stayed silent to the end: approved as delivered, and recorded as such.
        stats_bump(contract.client_id, auto_approvals=1)
        approve_and_release(
            locked,
            action=Action.AUTO_APPROVE,
            actor=None,
            now=now,
            payload={"silent_client": True, "deadline": milestone.clock_deadline_at},
        )
    elif kind == ClockKind.FUNDING:
        stats_bump(contract.client_id, funding_requests_unanswered=1)
        clocks.clock_stop(milestone)
        transition(
            locked,
            action=Action.EXPIRE_FUNDING,
            actor=None,
            now=now,
            effect=lambda lk: {"silent_client": True},
            notify=notices.funding_expired,
        )
        # Nothing was paid in, so nothing is lost; the rest of the contract ends with it.
        contract.cancelled_at = contract.cancelled_at or now
        contract.save(update_fields=["cancelled_at"])
        cancel_unstarted(contract, actor=None, now=now)
        contract_settle(contract, actor=None, now=now)
    elif kind == ClockKind.CLIENT_REPLY:
        clocks.clock_stop(milestone)
        milestone.client_silence_expired_at = now
        milestone.save()
        # Silence during work, counted on the client's profile (the event below is its record).
        stats_bump(contract.client_id, client_reply_silences=1)
        event_append(
            contract=contract,
            action="client_silence_expired",
            actor=None,
            now=now,
            milestone=milestone,
            from_state=milestone.state,
            to_state=milestone.state,
            payload={"silent_client": True},
        )
        notices.client_silence_expired(milestone=milestone, contract=contract)
    elif kind == ClockKind.CANCELLATION_ANSWER:
        # The worker let the answer period pass: the client's cancellation stands, kill fee paid.
        cancel_with_kill_fee(locked, actor=None, now=now)
        contract_settle(contract, actor=None, now=now)
