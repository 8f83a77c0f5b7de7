"""Contract writes: creation from a hired proposal, terms versions, and the event chain.

The milestone state machine and its actions (fund, start, deliver, approve…) build on
`event_append` here; every write to a contract appends an event in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.utils import timezone

from ishibashi.accounts.models import EntityType, User
from ishibashi.contracts.models import (
    Contract,
    ContractEvent,
    ContractTerms,
    Milestone,
    MilestoneState,
)
from ishibashi.core.invariants import require
from ishibashi.jobs.models import Proposal, ProposalKind, ProposedMilestone

GENESIS_HASH = "0" * 64
# Freelance Act art. 4: pay within 60 days of receipt, the receipt day being day 1 (law.md L-20).
PAYMENT_DAYS_AFTER_DELIVERY_MAX = 59


def canonical_json(value: Any) -> bytes:
    """The bytes every hash is computed over: sorted keys, no spaces, UTF-8."""
    return json.dumps(
        value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    ).encode()


def event_hash(*, previous_hash: str, event: dict[str, Any]) -> str:
    return hashlib.sha256(previous_hash.encode() + canonical_json(event)).hexdigest()


def _event_body(event: ContractEvent) -> dict[str, Any]:
    return {
        "contract": event.contract_id,
        "sequence": event.sequence,
        "milestone": event.milestone_id,
        "actor": event.actor_id,
        "action": event.action,
        "from": event.from_state,
        "to": event.to_state,
        "payload": event.payload,
        "at": event.created_at.isoformat(),
    }


def event_append(
    *,
    contract: Contract,
    action: str,
    actor: User | None,
    now: dt.datetime,
    milestone: Milestone | None = None,
    from_state: str = "",
    to_state: str = "",
    payload: dict[str, Any] | None = None,
) -> ContractEvent:
    """Append one event to the contract's chain. The caller holds the contract row's lock."""
    last = ContractEvent.objects.filter(contract=contract).order_by("-sequence").first()
    event = ContractEvent(
        contract=contract,
        sequence=(last.sequence + 1) if last else 1,
        milestone=milestone,
        actor=actor,
        action=action,
        from_state=from_state,
        to_state=to_state,
        payload=payload or {},
        created_at=now,
        previous_hash=last.hash if last else GENESIS_HASH,
    )
    event.hash = event_hash(previous_hash=event.previous_hash, event=_event_body(event))
    event.save()
    return event


def events_verify(*, contract: Contract) -> int | None:
    """The sequence of the first event whose hash or link does not hold, or None if all hold."""
    previous = GENESIS_HASH
    for event in ContractEvent.objects.filter(contract=contract).order_by("sequence"):
        expected = event_hash(previous_hash=previous, event=_event_body(event))
        if event.previous_hash != previous or event.hash != expected:
            return event.sequence
        previous = event.hash
    return None


def withholding_applies(*, client: User, worker: User, category: str) -> bool:
    """law.md L-50/L-51: an individual paid by a withholding agent for a listed kind of work."""
    return (
        worker.entity_type == EntityType.INDIVIDUAL
        and client.is_withholding_agent
        and category in settings.WITHHOLDING_CATEGORIES
    )


def _party(user: User) -> dict[str, Any]:
    return {
        "id": user.pk,
        "display_name": user.display_name,
        "entity_type": user.entity_type,
        "invoice_registration_number": user.invoice_registration_number,
        # Freelance Act art. 2: a business with employees or two or more officers is "specified".
        "is_specified_business": user.has_employees,
    }


def terms_snapshot(
    *,
    contract: Contract,
    proposal: Proposal,
    milestones: Sequence[ProposedMilestone],
    commissioned_on: dt.date,
) -> dict[str, Any]:
    """Every item art. 3 requires (law.md L-10), so the disclosure needs nothing else."""
    job = proposal.job
    inspection = dt.timedelta(days=contract.inspection_days)
    return {
        "version": contract.terms_version,
        "contract_id": contract.pk,
        "client": _party(contract.client),
        "worker": _party(contract.worker),
        "commissioned_on": commissioned_on.isoformat(),
        "title": contract.title,
        "contract_type": contract.contract_type,
        "is_consultation": contract.is_consultation,
        "work_content": job.description,
        "scope": {
            "deliverables": job.scope_deliverables,
            "acceptance_criteria": job.scope_acceptance_criteria,
            "out_of_scope": job.scope_out_of_scope,
        },
        "revision_rounds": contract.revision_rounds,
        "inspection_days": contract.inspection_days,
        "delivery_place": "ishibashi:contract-delivery-box",
        "milestones": [
            {
                "position": m.position,
                "title": m.title,
                "kind": m.kind,
                "amount_jpy": m.amount_jpy,
                "due_on": m.due_on.isoformat(),
                # Delivered on its due date: inspection ends, and payment is due, by these dates.
                "inspection_complete_by": (m.due_on + inspection).isoformat(),
                "payment_due_on": (m.due_on + inspection).isoformat(),
            }
            for m in milestones
        ],
        "total_jpy": proposal.total_jpy,
        "payment_terms": {
            "method": "escrow",
            "provider": settings.PAYMENT_PROVIDER,
            "rule": "released on approval or automatic approval at the end of inspection; "
            f"never later than {PAYMENT_DAYS_AFTER_DELIVERY_MAX} days after delivery",
            "fee_rate_bps": contract.fee_rate_bps,
            "withholding_applies": contract.withholding_applies,
            "transfer_fee_borne_by": "client_or_platform",
        },
    }


def contract_create_from_proposal(
    *,
    proposal: Proposal,
    milestones: Sequence[ProposedMilestone],
    inspection_days: int,
    now: dt.datetime,
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
        created_at=now,
    )
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
    event_append(
        contract=contract,
        action="funding_requested",
        actor=None,
        now=now,
        milestone=first,
        from_state=MilestoneState.DRAFT,
        to_state=MilestoneState.AWAITING_FUNDING,
        payload={"amount_jpy": first.amount_jpy},
    )
    return contract
