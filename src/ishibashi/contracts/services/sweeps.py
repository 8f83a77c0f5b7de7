"""The deadline sweeper: reminders, automatic approval, expiry and the legal release."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.db.models import Q

from ishibashi.contracts import clocks, notices
from ishibashi.contracts.events import event_append
from ishibashi.contracts.models import (
    ClockKind,
    Milestone,
)
from ishibashi.contracts.services.settlement import (
    approve_and_release,
    cancel_unstarted,
    cancel_with_kill_fee,
    contract_settle,
    stats_bump,
)
from ishibashi.contracts.states import (
    Action,
    Locked,
    lock,
    transition,
)
from ishibashi.core import clock, limits
from ishibashi.core.errors import ApplicationError

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

    Each milestone is handled in its own transaction under its row lock and re-checked there,
    so a second sweeper, a client acting at the same moment or a replay after a crash finds
    the work done and does nothing.
    """
    now = clock.now()
    handled = 0
    for milestone_id in milestones_claim_due(now=now, batch=batch):
        try:
            if milestone_act_on_due(milestone_id=milestone_id, now=now):
                handled += 1
        except ApplicationError:
            # A refusal (say, the contract ended meanwhile) is not a crash: log and move on.
            logger.warning("sweep: milestone %s refused", milestone_id, exc_info=True)
            Milestone.objects.filter(pk=milestone_id).update(sweep_lease_until=None)
    return handled


def milestone_act_on_due(*, milestone_id: int, now: dt.datetime) -> bool:
    """Do what is due on one milestone now; False if nothing was (someone acted first)."""
    with transaction.atomic():
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


def _send_reminder(locked: Locked, *, now: dt.datetime) -> bool:
    milestone = locked.milestone
    # A sweeper that was down sends one reminder for the latest step due, not a burst.
    assert milestone.clock_started_at is not None
    assert milestone.clock_deadline_at is not None
    times = clocks.reminder_times(milestone.clock_started_at, milestone.clock_deadline_at)
    milestone.reminders_sent = sum(1 for moment in times if moment <= now)
    clocks.refresh_action_due(milestone)
    milestone.save(update_fields=["reminders_sent", "action_due_at", "sweep_lease_until"])
    event_append(
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
