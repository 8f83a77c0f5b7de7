"""Clocks on a wait: when a milestone's reminders fall due, and when the sweeper must next look.

A clock runs while somebody owes an answer (the client's escrow, inspection or reply; the
worker's answer to a cancellation). Its reminders go out at 50 % and 85 % of the period and
24 hours before the deadline. `action_due_at` is the earliest of the next reminder, the
deadline and the legal payment deadline, so the sweeper reads one indexed column.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from ishibashi.contracts.models import ClockKind, Milestone, MilestoneState

REMINDER_FRACTIONS = (0.50, 0.85)
REMINDER_BEFORE_DEADLINE = dt.timedelta(hours=24)
# Two reminders closer than this would read as one mail sent twice; the later one is dropped.
REMINDER_GAP_MIN = dt.timedelta(hours=1)
# Freelance Act art. 4: the delivery day is day 1, so payment is due by day 60 (law.md L-20).
LEGAL_PAYMENT_DAYS_AFTER_DELIVERY = 59

# States in which the legal deadline releases the escrow (a frozen dispute excepted).
LEGAL_DEADLINE_STATES = frozenset(
    {
        MilestoneState.IN_PROGRESS,
        MilestoneState.REVISION_REQUESTED,
        MilestoneState.DELIVERED,
        MilestoneState.DISPUTED,
    }
)


def reminder_times(start: dt.datetime, deadline: dt.datetime) -> list[dt.datetime]:
    period = deadline - start
    candidates = sorted(
        {start + period * fraction for fraction in REMINDER_FRACTIONS}
        | {deadline - REMINDER_BEFORE_DEADLINE}
    )
    times: list[dt.datetime] = []
    for moment in candidates:
        if moment <= start or deadline - moment < REMINDER_GAP_MIN:
            continue
        if times and moment - times[-1] < REMINDER_GAP_MIN:
            continue
        times.append(moment)
    return times


def next_reminder_at(milestone: Milestone) -> dt.datetime | None:
    if not milestone.clock or milestone.clock_started_at is None:
        return None
    assert milestone.clock_deadline_at is not None
    times = reminder_times(milestone.clock_started_at, milestone.clock_deadline_at)
    return times[milestone.reminders_sent] if milestone.reminders_sent < len(times) else None


def legal_release_due(first_delivered_at: dt.datetime) -> dt.datetime:
    """The start of day 60 in Japan, counting the delivery day as day 1."""
    delivered_on = timezone.localdate(first_delivered_at)
    due_on = delivered_on + dt.timedelta(days=LEGAL_PAYMENT_DAYS_AFTER_DELIVERY)
    return timezone.make_aware(dt.datetime.combine(due_on, dt.time.min))


def legal_deadline_applies(milestone: Milestone) -> bool:
    return (
        milestone.legal_release_due_at is not None
        and milestone.state in LEGAL_DEADLINE_STATES
        and not milestone.dispute_frozen
    )


def refresh_action_due(milestone: Milestone) -> None:
    """Recompute when the sweeper must next look at this milestone (None: never)."""
    candidates: list[dt.datetime | None] = []
    if milestone.clock:
        candidates.append(next_reminder_at(milestone) or milestone.clock_deadline_at)
    if legal_deadline_applies(milestone):
        candidates.append(milestone.legal_release_due_at)
    moments = [m for m in candidates if m is not None]
    milestone.action_due_at = min(moments) if moments else None


def clock_start(
    milestone: Milestone, *, kind: ClockKind, now: dt.datetime, deadline: dt.datetime
) -> None:
    # The legal deadline bounds every wait on the client once work has been delivered.
    if milestone.legal_release_due_at is not None and kind == ClockKind.INSPECTION:
        deadline = min(deadline, milestone.legal_release_due_at)
    milestone.clock = kind
    milestone.clock_started_at = now
    milestone.clock_deadline_at = deadline
    milestone.reminders_sent = 0
    refresh_action_due(milestone)


def clock_stop(milestone: Milestone) -> None:
    milestone.clock = ""
    milestone.clock_started_at = None
    milestone.clock_deadline_at = None
    milestone.reminders_sent = 0
    refresh_action_due(milestone)
