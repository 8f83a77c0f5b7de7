"""Contracts API: the caller's contracts, one contract with its agreed terms, and its event log."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from ishibashi.accounts import api as accounts_api
from ishibashi.accounts.api import ErrorOut
from ishibashi.accounts.auth import request_user, user_auth
from ishibashi.contracts import selectors
from ishibashi.contracts.models import Contract, ContractTerms, Milestone
from ishibashi.contracts.services import events_verify
from ishibashi.core.pagination import page_of

contracts_router = Router(tags=["contracts"], auth=user_auth)

# Besides the errors every endpoint shares: an action that is someone else's to take (403).
ERRORS = {**accounts_api.ERRORS, 403: ErrorOut}
# Deep pages of a newest-first list are never read by a person and cost an OFFSET scan.
PAGES_MAX = 1000


class PageQuery(Schema):
    page: int = Field(1, ge=1, le=PAGES_MAX)


class PersonOut(Schema):
    id: int
    display_name: str


class ContractSummaryOut(Schema):
    id: int
    title: str
    job_id: int
    proposal_id: int
    client: PersonOut
    worker: PersonOut
    contract_type: str
    is_consultation: bool
    state: str
    state_label: str
    created_at: datetime

    @staticmethod
    def resolve_state_label(contract: Contract) -> str:
        return str(contract.get_state_display())


class ContractPageOut(Schema):
    items: list[ContractSummaryOut]
    page: int
    has_next: bool


class MilestoneOut(Schema):
    id: int
    position: int
    title: str
    kind: str
    kind_label: str
    amount_jpy: int
    due_on: date
    state: str
    state_label: str
    funding_requested_at: datetime | None

    @staticmethod
    def resolve_kind_label(milestone: Milestone) -> str:
        return str(milestone.get_kind_display())

    @staticmethod
    def resolve_state_label(milestone: Milestone) -> str:
        return str(milestone.get_state_display())


class TermsOut(Schema):
    version: int
    snapshot: dict[str, Any] = Field(
        description="Every item the Freelance Act art. 3 requires to be stated, as agreed."
    )
    snapshot_sha256: str
    agreed_at: datetime


class ContractOut(ContractSummaryOut):
    terms_version: int
    terms: TermsOut
    fee_rate_bps: int = Field(description="The platform fee in basis points (1000 = 10 %).")
    withholding_applies: bool = Field(description="源泉徴収: the client withholds income tax.")
    inspection_days: int
    revision_rounds: int
    milestones: list[MilestoneOut]

    @staticmethod
    def resolve_terms(contract: Contract) -> ContractTerms:
        return selectors.terms_current(contract=contract)

    @staticmethod
    def resolve_milestones(contract: Contract) -> list[Milestone]:
        return list(contract.milestones.all())


class EventOut(Schema):
    sequence: int
    action: str
    from_state: str
    to_state: str
    milestone_id: int | None
    actor: PersonOut | None
    payload: dict[str, Any]
    created_at: datetime
    hash: str
    previous_hash: str


class EventLogOut(Schema):
    chain_intact: bool = Field(
        description="The server recomputed every hash and link of the chain and all hold."
    )
    items: list[EventOut]


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
    return selectors.contract_get_for_viewer(viewer=request_user(request), contract_id=contract_id)


@contracts_router.get(
    "/{contract_id}/events",
    response={200: EventLogOut, **ERRORS},
    summary="The contract's hash-chained history",
)
def contract_events_endpoint(request: HttpRequest, contract_id: int) -> dict[str, object]:
    contract = selectors.contract_get_for_viewer(
        viewer=request_user(request), contract_id=contract_id
    )
    return {
        "chain_intact": events_verify(contract=contract) is None,
        "items": list(selectors.contract_events(contract=contract)),
    }
