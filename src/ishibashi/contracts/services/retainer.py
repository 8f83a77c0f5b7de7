"""Monthly retainers: each month's milestone, created and funded ahead."""

from __future__ import annotations

import calendar
import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from ishibashi.contracts.events import event_append
from ishibashi.contracts.models import (
    Contract,
    ContractState,
    Milestone,
)
from ishibashi.contracts.services.settlement import request_funding
from ishibashi.contracts.states import (
    Locked,
    Role,
)
from ishibashi.core import clock, limits
from ishibashi.jobs.models import (
    MilestoneKind,
)
from ishibashi.notifications.notices import notices_batched


def _month_after(day: dt.date) -> dt.date:
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    last = calendar.monthrange(year, month)[1]
    return dt.date(year, month, min(day.day, last))


def monthly_periods_open(*, batch: int = limits.SWEEP_BATCH_MAX) -> int:
    """Sweep: create next month's milestone of each retainer and ask for its escrow ahead."""
    now = clock.now()
    horizon = timezone.localdate(now) + dt.timedelta(days=settings.MONTHLY_FUNDING_LEAD_DAYS)
    due = list(
        Contract.objects.filter(
            next_period_starts_on__lte=horizon,
            cancelled_at__isnull=True,
            state=ContractState.ACTIVE,
        )
        .order_by("next_period_starts_on")
        .values_list("pk", flat=True)[:batch]
    )
    opened = 0
    for contract_id in due:
        with transaction.atomic(), notices_batched():
            contract = (
                Contract.objects.select_for_update()
                .filter(
                    pk=contract_id,
                    next_period_starts_on__lte=horizon,
                    cancelled_at__isnull=True,
                    state=ContractState.ACTIVE,
                )
                .first()
            )
            if contract is None or contract.next_period_starts_on is None:
                continue
            starts = contract.next_period_starts_on
            ends = _month_after(starts) - dt.timedelta(days=1)
            if contract.termination_effective_at is not None and (
                timezone.make_aware(dt.datetime.combine(starts, dt.time.min))
                >= contract.termination_effective_at
            ):
                contract.next_period_starts_on = None
                contract.save(update_fields=["next_period_starts_on"])
                continue
            position = (contract.milestones.aggregate(p=Max("position"))["p"] or 0) + 1
            milestone = Milestone.objects.create(
                contract=contract,
                position=position,
                title=f"{starts:%Y-%m-%d}〜{ends:%Y-%m-%d}",
                kind=MilestoneKind.MONTHLY,
                amount_jpy=contract.period_amount_jpy or 0,
                due_on=ends,
                created_at=now,
                added_in_terms_version=contract.terms_version,
            )
            contract.next_period_starts_on = ends + dt.timedelta(days=1)
            contract.save(update_fields=["next_period_starts_on"])
            event_append(
                contract=contract,
                action="period_opened",
                actor=None,
                now=now,
                milestone=milestone,
                to_state=milestone.state,
                payload={"starts_on": starts, "ends_on": ends, "amount_jpy": milestone.amount_jpy},
            )
            request_funding(
                Locked(contract=contract, milestone=milestone, role=Role.SYSTEM),
                actor=None,
                now=now,
            )
            opened += 1
    return opened
