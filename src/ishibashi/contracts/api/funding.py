"""Escrow and the start of work: a milestone, request funding, fund (仮払い), start."""

from __future__ import annotations

from django.http import HttpRequest

from ishibashi.accounts.auth import request_user
from ishibashi.contracts import services
from ishibashi.contracts.api.base import ERRORS, milestone_read, milestones_router
from ishibashi.contracts.api.schemas import MilestoneOut
from ishibashi.contracts.models import (
    Milestone,
)


@milestones_router.get(
    "/{milestone_id}", response={200: MilestoneOut, **ERRORS}, summary="One milestone"
)
def milestone_endpoint(request: HttpRequest, milestone_id: int) -> Milestone:
    return milestone_read(request_user(request), milestone_id)


@milestones_router.post(
    "/{milestone_id}/request-funding",
    response={200: MilestoneOut, **ERRORS},
    summary="Ask the client to fund a milestone not yet requested",
)
def milestone_request_funding_endpoint(request: HttpRequest, milestone_id: int) -> Milestone:
    user = request_user(request)
    services.milestone_request_funding(actor=user, milestone_id=milestone_id)
    return milestone_read(user, milestone_id)


@milestones_router.post(
    "/{milestone_id}/fund",
    response={200: MilestoneOut, **ERRORS},
    summary="Fund the escrow (仮払い) from your balance (client)",
)
def milestone_fund_endpoint(request: HttpRequest, milestone_id: int) -> Milestone:
    """The amount moves from your balance into this milestone's escrow, once.

    Not enough balance: 409 `exceeds_balance` and nothing moves. Funding again: 409.
    """
    user = request_user(request)
    services.milestone_fund(client=user, milestone_id=milestone_id)
    return milestone_read(user, milestone_id)


@milestones_router.post(
    "/{milestone_id}/start",
    response={200: MilestoneOut, **ERRORS},
    summary="Mark the work started (worker); refused before escrow",
)
def milestone_start_endpoint(request: HttpRequest, milestone_id: int) -> Milestone:
    """Before the escrow is funded: 409 `milestone_not_funded` — do not start the work."""
    user = request_user(request)
    services.milestone_start(worker=user, milestone_id=milestone_id)
    return milestone_read(user, milestone_id)
