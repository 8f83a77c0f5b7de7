"""Cancellation, early termination, and the worker's answer to a cancellation."""

from __future__ import annotations

from django.http import HttpRequest

from ishibashi.accounts.auth import request_user
from ishibashi.contracts import services
from ishibashi.contracts.api.base import (
    ERRORS,
    contract_read,
    contracts_router,
    milestone_read,
    milestones_router,
)
from ishibashi.contracts.api.schemas import ContractOut, MilestoneOut, ReasonIn
from ishibashi.contracts.models import (
    Contract,
    Milestone,
)


@contracts_router.post(
    "/{contract_id}/cancel",
    response={200: ContractOut, **ERRORS},
    summary="Cancel the contract (キャンセル), with a reason",
)
def contract_cancel_endpoint(request: HttpRequest, contract_id: int, payload: ReasonIn) -> Contract:
    """Unfunded milestones close, funded unstarted ones are refunded, approved ones stay paid.

    Started work waits for the worker's answer when the client cancels (kill fee); a client's
    notice on a monthly contract takes effect after 30 days.
    """
    user = request_user(request)
    services.contract_cancel(actor=user, contract_id=contract_id, reason=payload.reason)
    return contract_read(user, contract_id)


@contracts_router.post(
    "/{contract_id}/accept-early-termination",
    response={200: ContractOut, **ERRORS},
    summary="End a monthly contract now instead of after the notice (worker)",
)
def contract_termination_accept_early_endpoint(request: HttpRequest, contract_id: int) -> Contract:
    user = request_user(request)
    services.contract_termination_accept_early(worker=user, contract_id=contract_id)
    return contract_read(user, contract_id)


@milestones_router.post(
    "/{milestone_id}/accept-cancellation",
    response={200: MilestoneOut, **ERRORS},
    summary="Accept the client's cancellation of started work: kill fee paid (worker)",
)
def milestone_cancellation_accept_endpoint(request: HttpRequest, milestone_id: int) -> Milestone:
    user = request_user(request)
    services.milestone_cancellation_accept(worker=user, milestone_id=milestone_id)
    return milestone_read(user, milestone_id)
