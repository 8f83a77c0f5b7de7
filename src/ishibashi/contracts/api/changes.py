"""Change requests (変更依頼): list, propose, accept, decline, withdraw."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Status

from ishibashi.accounts.auth import request_user
from ishibashi.contracts import selectors, services
from ishibashi.contracts.api.base import (
    ERRORS,
    change_read,
    changes_router,
    contract_read,
    contracts_router,
)
from ishibashi.contracts.api.schemas import (
    EMPTY_NOTE,
    ChangeOut,
    ChangePageOut,
    ChangeProposeIn,
    OptionalNoteIn,
)
from ishibashi.contracts.models import (
    ChangeRequest,
)
from ishibashi.core.pagination import page_of
from ishibashi.core.schemas import PageQuery


@contracts_router.get(
    "/{contract_id}/changes",
    response={200: ChangePageOut, **ERRORS},
    summary="Change requests (変更依頼), newest first",
)
def contract_changes_endpoint(
    request: HttpRequest, contract_id: int, query: Query[PageQuery]
) -> dict[str, object]:
    contract = contract_read(request_user(request), contract_id)
    changes, has_next = page_of(selectors.changes_for_contract(contract=contract), query.page)
    return {"items": changes, "page": query.page, "has_next": has_next}


@contracts_router.post(
    "/{contract_id}/changes",
    response={201: ChangeOut, **ERRORS},
    summary="Propose a change (変更依頼); it applies once the other party accepts",
)
def change_propose_endpoint(
    request: HttpRequest, contract_id: int, payload: ChangeProposeIn
) -> Status[ChangeRequest]:
    """Scope, milestone titles, prices and dates, added or removed milestones, the kill fee.

    Added money comes as a new milestone, funded before its work starts.
    """
    user = request_user(request)
    change = services.change_propose(
        actor=user,
        contract_id=contract_id,
        message=payload.message,
        scope=payload.scope,
        edits=[services.MilestoneEdit(**edit.dict()) for edit in payload.milestones],
        additions=[services.MilestoneAddition(**addition.dict()) for addition in payload.add],
        removals=payload.remove,
        kill_fee_percent=payload.kill_fee_percent,
    )
    return Status(201, change_read(user, change))


@changes_router.post(
    "/{change_id}/accept",
    response={200: ChangeOut, **ERRORS},
    summary="Accept a change (the other party): it becomes the next terms version",
)
def change_accept_endpoint(request: HttpRequest, change_id: int) -> ChangeRequest:
    user = request_user(request)
    return change_read(user, services.change_accept(actor=user, change_id=change_id))


@changes_router.post(
    "/{change_id}/decline", response={200: ChangeOut, **ERRORS}, summary="Decline a change"
)
def change_decline_endpoint(
    request: HttpRequest, change_id: int, payload: OptionalNoteIn = EMPTY_NOTE
) -> ChangeRequest:
    user = request_user(request)
    change = services.change_decline(actor=user, change_id=change_id, note=payload.note)
    return change_read(user, change)


@changes_router.post(
    "/{change_id}/withdraw",
    response={200: ChangeOut, **ERRORS},
    summary="Withdraw your own change before it is answered",
)
def change_withdraw_endpoint(request: HttpRequest, change_id: int) -> ChangeRequest:
    user = request_user(request)
    return change_read(user, services.change_withdraw(actor=user, change_id=change_id))
