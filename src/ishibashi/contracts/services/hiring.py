"""Hiring: the contract, its milestones and terms v1 made from an accepted proposal."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence

from django.conf import settings
from django.utils import timezone

from ishibashi.contracts import clocks
from ishibashi.contracts.events import canonical_json, event_append
from ishibashi.contracts.models import (
    ClockKind,
    Contract,
    ContractTerms,
    Milestone,
    MilestoneState,
)
from ishibashi.contracts.services.terms import terms_snapshot, withholding_applies
from ishibashi.core.invariants import require
from ishibashi.jobs.models import (
    ContractType,
    Proposal,
    ProposalKind,
    ProposedMilestone,
)


def contract_create_from_proposal(
    *,
    proposal: Proposal,
    milestones: Sequence[ProposedMilestone],
    inspection_days: int,
    now: dt.datetime,
    kill_fee_percent: int = 0,
) -> Contract:
    """Called by the hire use case inside its transaction, with the job and proposal locked."""
    require(bool(milestones), "a contract needs milestones")
    job = proposal.job
    contract = Contract.objects.create(
        job=job,
        proposal=proposal,
        client=job.client,
        worker=proposal.worker,
        title=job.title,
        contract_type=job.contract_type,
        is_consultation=proposal.kind == ProposalKind.CONSULTATION,
        fee_rate_bps=settings.PLATFORM_FEE_RATE_BPS,
        withholding_applies=withholding_applies(
            client=job.client, worker=proposal.worker, category=job.category
        ),
        inspection_days=inspection_days,
        revision_rounds=job.revision_rounds,
        kill_fee_percent=kill_fee_percent,
        created_at=now,
    )
    if contract.contract_type == ContractType.MONTHLY:
        # Later months repeat the last agreed month's pay, from the day after it ends.
        contract.period_amount_jpy = milestones[-1].amount_jpy
        contract.next_period_starts_on = milestones[-1].due_on + dt.timedelta(days=1)
        contract.save(update_fields=["period_amount_jpy", "next_period_starts_on"])
    created = Milestone.objects.bulk_create(
        Milestone(
            contract=contract,
            position=m.position,
            title=m.title,
            kind=m.kind,
            amount_jpy=m.amount_jpy,
            due_on=m.due_on,
            state=MilestoneState.AWAITING_FUNDING if index == 0 else MilestoneState.DRAFT,
            funding_requested_at=now if index == 0 else None,
            created_at=now,
        )
        for index, m in enumerate(milestones)
    )
    snapshot = terms_snapshot(
        contract=contract,
        proposal=proposal,
        milestones=milestones,
        commissioned_on=timezone.localdate(now),
    )
    terms = ContractTerms.objects.create(
        contract=contract,
        version=1,
        snapshot=snapshot,
        snapshot_sha256=hashlib.sha256(canonical_json(snapshot)).hexdigest(),
        agreed_at=now,
    )
    event_append(
        contract=contract,
        action="contract_created",
        actor=job.client,
        now=now,
        to_state=contract.state,
        payload={
            "proposal": proposal.pk,
            "terms_version": 1,
            "terms_sha256": terms.snapshot_sha256,
        },
    )
    first = created[0]  # bulk_create sets primary keys on SQLite and PostgreSQL alike
    clocks.clock_start(
        first,
        kind=ClockKind.FUNDING,
        now=now,
        deadline=now + dt.timedelta(days=settings.FUNDING_DAYS),
    )
    # The hire's own notice (jobs.notices.contract_started) asks the client for this escrow.
    first.save()
    event_append(
        contract=contract,
        action="funding_requested",
        actor=None,
        now=now,
        milestone=first,
        from_state=MilestoneState.DRAFT,
        to_state=MilestoneState.AWAITING_FUNDING,
        payload={"amount_jpy": first.amount_jpy, "deadline": first.clock_deadline_at},
    )
    return contract
