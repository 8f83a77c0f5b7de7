"""The contract thread and the worker's flags."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Status

from ishibashi.accounts.auth import request_user
from ishibashi.contracts import selectors, services
from ishibashi.contracts.api.base import ERRORS, contract_read, contracts_router
from ishibashi.contracts.api.schemas import (
    ContractMessageIn,
    ContractMessageOut,
    ContractMessageThreadOut,
    FlagIn,
    FlagOut,
    MessageQuery,
)
from ishibashi.contracts.models import (
    ContractFlag,
    ContractMessage,
)
from ishibashi.core import limits


@contracts_router.post(
    "/{contract_id}/flags",
    response={201: FlagOut, **ERRORS},
    summary="Report that the client asked for work before escrow (worker)",
)
def contract_flag_endpoint(
    request: HttpRequest, contract_id: int, payload: FlagIn
) -> Status[ContractFlag]:
    """Counted once per contract on the client's reliability profile; a second report is
    409 `already_flagged`. `message_id` names the client's message it is about (the one a
    `before_escrow` caution was shown on)."""
    flag = services.contract_flag(
        worker=request_user(request),
        contract_id=contract_id,
        kind=payload.kind,
        note=payload.note,
        message_id=payload.message_id,
    )
    return Status(201, flag)


@contracts_router.get(
    "/{contract_id}/messages",
    response={200: ContractMessageThreadOut, **ERRORS},
    summary="The contract's thread, oldest first",
)
def contract_messages_endpoint(
    request: HttpRequest, contract_id: int, query: Query[MessageQuery]
) -> dict[str, object]:
    contract = contract_read(request_user(request), contract_id)
    messages = list(
        selectors.messages_for_contract(contract=contract).filter(pk__gt=query.after)[
            : limits.PAGE_SIZE_MAX
        ]
    )
    full = len(messages) == limits.PAGE_SIZE_MAX
    return {"items": messages, "next_after": messages[-1].pk if full else None}


@contracts_router.post(
    "/{contract_id}/messages",
    response={201: ContractMessageOut, **ERRORS},
    summary="Write in the contract's thread",
)
def contract_message_post_endpoint(
    request: HttpRequest, contract_id: int, payload: ContractMessageIn
) -> Status[ContractMessage]:
    """A worker's message during the work starts the client's reply clock. The message guards'
    result comes back in `guards`; a hit is never refused (warn with POST /messages/check)."""
    message = services.contract_message_post(
        author=request_user(request), contract_id=contract_id, body=payload.body
    )
    return Status(201, message)
