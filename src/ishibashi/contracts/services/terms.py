"""Contract terms: the art. 3 snapshot, its versions, and the withholding rule."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.utils import timezone

from ishibashi.accounts.models import EntityType, User
from ishibashi.contracts.events import canonical_json
from ishibashi.contracts.models import (
    ChangeRequest,
    Contract,
    ContractTerms,
    Milestone,
    MilestoneState,
)
from ishibashi.jobs.models import (
    Proposal,
    ProposedMilestone,
)

# Freelance Act art. 4: pay within 60 days of receipt, the receipt day being day 1 (law.md L-20).
PAYMENT_DAYS_AFTER_DELIVERY_MAX = 59


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
        "kill_fee_percent": contract.kill_fee_percent,
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


def terms_version_create(
    *, contract: Contract, now: dt.datetime, change: ChangeRequest
) -> ContractTerms:
    """The next terms version: the previous one with the change applied (law.md L-14)."""
    previous = ContractTerms.objects.get(contract=contract, version=contract.terms_version - 1)
    snapshot = dict(previous.snapshot)
    if change.changes.get("scope"):
        snapshot["work_content"] = change.changes["scope"]
    inspection = dt.timedelta(days=contract.inspection_days)
    live = [
        m
        for m in Milestone.objects.filter(contract=contract).order_by("position")
        if m.state not in (MilestoneState.CANCELLED, MilestoneState.REFUNDED)
    ]
    snapshot.update(
        version=contract.terms_version,
        kill_fee_percent=contract.kill_fee_percent,
        milestones=[
            {
                "position": m.position,
                "title": m.title,
                "kind": m.kind,
                "amount_jpy": m.amount_jpy,
                "due_on": m.due_on.isoformat(),
                "inspection_complete_by": (m.due_on + inspection).isoformat(),
                "payment_due_on": (m.due_on + inspection).isoformat(),
            }
            for m in live
        ],
        total_jpy=sum(m.amount_jpy for m in live),
        change_request=change.pk,
        previous_sha256=previous.snapshot_sha256,
        agreed_on=timezone.localdate(now).isoformat(),
    )
    return ContractTerms.objects.create(
        contract=contract,
        version=contract.terms_version,
        snapshot=snapshot,
        snapshot_sha256=hashlib.sha256(canonical_json(snapshot)).hexdigest(),
        agreed_at=now,
    )
