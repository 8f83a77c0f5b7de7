"""Inspection (検収): approve a delivery, or ask for a revision."""

from __future__ import annotations

from django.http import HttpRequest

from ishibashi.accounts.auth import request_user
from ishibashi.contracts import services
from ishibashi.contracts.api.base import ERRORS, deliveries_router, milestone_read
from ishibashi.contracts.api.schemas import MilestoneOut, ReasonIn
from ishibashi.contracts.models import (
    Milestone,
)


@deliveries_router.post(
    "/{delivery_id}/approve",
    response={200: MilestoneOut, **ERRORS},
    summary="Approve the delivery (検収): the escrow is released (client)",
)
def delivery_approve_endpoint(request: HttpRequest, delivery_id: int) -> Milestone:
    user = request_user(request)
    milestone = services.delivery_approve(client=user, delivery_id=delivery_id)
    return milestone_read(user, milestone.pk)


@deliveries_router.post(
    "/{delivery_id}/request-revision",
    response={200: MilestoneOut, **ERRORS},
    summary="Request a revision (修正依頼) with a reason (client)",
)
def delivery_request_revision_endpoint(
    request: HttpRequest, delivery_id: int, payload: ReasonIn
) -> Milestone:
    """Within the contract's revision rounds; beyond them 409 `revision_limit_reached`."""
    user = request_user(request)
    milestone = services.delivery_request_revision(
        client=user, delivery_id=delivery_id, reason=payload.reason
    )
    return milestone_read(user, milestone.pk)
