"""Disputes: open one; the operator's freeze and ruling."""

from __future__ import annotations

from django.http import HttpRequest

from ishibashi.accounts.auth import request_user
from ishibashi.contracts import services
from ishibashi.contracts.api.base import ERRORS, milestone_read, milestones_router
from ishibashi.contracts.api.schemas import DisputeResolveIn, MilestoneOut, NoteIn, ReasonIn
from ishibashi.contracts.models import (
    Milestone,
)


@milestones_router.post(
    "/{milestone_id}/dispute",
    response={200: MilestoneOut, **ERRORS},
    summary="Open a dispute (トラブル) on funded work, with a reason",
)
def milestone_dispute_endpoint(
    request: HttpRequest, milestone_id: int, payload: ReasonIn
) -> Milestone:
    user = request_user(request)
    services.milestone_dispute(actor=user, milestone_id=milestone_id, reason=payload.reason)
    return milestone_read(user, milestone_id)


@milestones_router.post(
    "/{milestone_id}/dispute/freeze",
    response={200: MilestoneOut, **ERRORS},
    summary="Stop the legal-deadline release while deciding (operator)",
)
def milestone_dispute_freeze_endpoint(
    request: HttpRequest, milestone_id: int, payload: NoteIn
) -> Milestone:
    user = request_user(request)
    services.milestone_dispute_freeze(operator=user, milestone_id=milestone_id, note=payload.note)
    return milestone_read(user, milestone_id)


@milestones_router.post(
    "/{milestone_id}/dispute/resolve",
    response={200: MilestoneOut, **ERRORS},
    summary="Rule on a dispute: split the escrow (operator)",
)
def milestone_dispute_resolve_endpoint(
    request: HttpRequest, milestone_id: int, payload: DisputeResolveIn
) -> Milestone:
    user = request_user(request)
    services.milestone_dispute_resolve(
        operator=user,
        milestone_id=milestone_id,
        worker_amount_jpy=payload.worker_amount_jpy,
        note=payload.note,
    )
    return milestone_read(user, milestone_id)
