"""Reading contracts: the list, one contract with its clocks and actions, the event log."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query

from ishibashi.accounts.auth import request_user
from ishibashi.contracts import selectors
from ishibashi.contracts.api.base import ERRORS, contract_read, contracts_router
from ishibashi.contracts.api.schemas import ContractOut, ContractPageOut, EventLogOut
from ishibashi.contracts.models import (
    Contract,
)
from ishibashi.contracts.services import events_verify
from ishibashi.core.pagination import page_of
from ishibashi.core.schemas import PageQuery


@contracts_router.get(
    "", response={200: ContractPageOut, **ERRORS}, summary="Your contracts (client or worker)"
)
def contract_list_endpoint(request: HttpRequest, query: Query[PageQuery]) -> dict[str, object]:
    contracts, has_next = page_of(
        selectors.contract_list_for_user(user=request_user(request)), query.page
    )
    return {"items": contracts, "page": query.page, "has_next": has_next}


@contracts_router.get(
    "/{contract_id}", response={200: ContractOut, **ERRORS}, summary="One contract and its terms"
)
def contract_endpoint(request: HttpRequest, contract_id: int) -> Contract:
    """Only the two parties (and operators) see a contract; anyone else gets 404."""
    return contract_read(request_user(request), contract_id)


@contracts_router.get(
    "/{contract_id}/events",
    response={200: EventLogOut, **ERRORS},
    summary="The contract's hash-chained history",
)
def contract_events_endpoint(request: HttpRequest, contract_id: int) -> dict[str, object]:
    contract = contract_read(request_user(request), contract_id)
    return {
        "chain_intact": events_verify(contract=contract) is None,
        "items": list(selectors.contract_events(contract=contract)),
    }
