"""Hiring (契約): a proposal becomes a contract with its milestones and terms version 1."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ishibashi.accounts.models import User
from ishibashi.accounts.selectors import check_email_verified
from ishibashi.contracts import clocks, notices
from ishibashi.contracts.events import canonical_json, event_append
from ishibashi.contracts.models import (
    ClockKind,
    Contract,
    ContractTerms,
    Milestone,
    MilestoneState,
)
from ishibashi.contracts.services.terms import terms_snapshot, withholding_applies
from ishibashi.core import clock
from ishibashi.core.errors import Conflict, InvalidInput
from ishibashi.core.invariants import require
from ishibashi.jobs.models import (
    ContractType,
    Job,
    JobState,
    Proposal,
    ProposalKind,
    ProposalState,
    ProposedMilestone,
)
from ishibashi.jobs.services import (
    client_job_stats_bump,
    open_proposals_decline,
    proposal_for_party,
    today,
)
from ishibashi.notifications.notices import notices_batched


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
    # The hire's own notice (notices.contract_started) asks the client for this escrow.
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


@transaction.atomic
@notices_batched()
def proposal_hire(
    *,
    client: User,
    proposal_id: int,
    inspection_days: int | None = None,
    expected_total_jpy: int | None = None,
    expected_revision: int | None = None,
    kill_fee_percent: int = 0,
) -> Contract:
    """契約: hire one proposal. Creates the contract with terms version 1; declines the rest.

    Two hires racing on one job end with exactly one contract: the job row is locked first,
    and a unique constraint on (job) backs it up.
    """
    check_email_verified(client)
    # Job first, then the proposal: the order job_close and the expiry sweep lock them in.
    seen = proposal_for_party(user=client, proposal_id=proposal_id, as_client=True, lock=False)
    job = Job.objects.select_for_update().get(pk=seen.job_id)
    proposal = proposal_for_party(user=client, proposal_id=proposal_id, as_client=True)
    if inspection_days is None:
        inspection_days = settings.INSPECTION_DAYS_DEFAULT
    if (
        type(inspection_days) is not int
        or not settings.INSPECTION_DAYS_MIN <= inspection_days <= settings.INSPECTION_DAYS_MAX
    ):
        raise InvalidInput(
            _("The inspection period must be %(min)d to %(max)d days.")
            % {"min": settings.INSPECTION_DAYS_MIN, "max": settings.INSPECTION_DAYS_MAX},
            field="inspection_days",
        )
    if type(kill_fee_percent) is not int or not (
        0 <= kill_fee_percent <= settings.KILL_FEE_PERCENT_MAX
    ):
        raise InvalidInput(
            _("The kill fee must be 0 to %(max)d percent.")
            % {"max": settings.KILL_FEE_PERCENT_MAX},
            field="kill_fee_percent",
        )
    if proposal.state != ProposalState.OPEN:
        raise Conflict(_("This proposal is no longer open."), code="proposal_not_open")
    if job.state != JobState.OPEN:
        raise Conflict(_("This job has already been hired or closed."), code="job_not_open")
    if expected_total_jpy is not None and expected_total_jpy != proposal.total_jpy:
        raise Conflict(
            _("The proposal changed while you were looking at it. Check it again."),
            code="proposal_changed",
            field="expected_total_jpy",
        )
    if expected_revision is not None and expected_revision != proposal.revision:
        raise Conflict(
            _("The proposal changed while you were looking at it. Check it again."),
            code="proposal_changed",
            field="expected_revision",
        )
    milestones = list(proposal.milestones.all())
    if any(milestone.due_on <= today() for milestone in milestones):
        raise Conflict(
            _(
                "A milestone of this proposal is due today or earlier. Ask the worker to "
                "update the plan before hiring."
            ),
            code="milestone_due_passed",
        )
    now = clock.now()
    contract = contract_create_from_proposal(
        proposal=proposal,
        milestones=milestones,
        inspection_days=inspection_days,
        now=now,
        kill_fee_percent=kill_fee_percent,
    )
    proposal.state = ProposalState.HIRED
    proposal.decided_at = now
    proposal.save(update_fields=["state", "decided_at"])
    if proposal.kind == ProposalKind.CONSULTATION:
        client_job_stats_bump(job.client, consultations_sold=1)
    else:
        job.state = JobState.HIRED
        job.ended_at = job.updated_at = now
        job.save(update_fields=["state", "ended_at", "updated_at"])
        open_proposals_decline(
            job,
            reason=str(_("The client hired another proposal.")),
            now=now,
            except_id=proposal.pk,
        )
        assert job.published_at is not None
        client_job_stats_bump(
            job.client,
            hires=1,
            publish_to_hire_seconds_total=int((now - job.published_at).total_seconds()),
        )
    notices.contract_started(contract=contract)
    return contract
