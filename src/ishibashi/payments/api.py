"""Wallet API: balances, history with running balance, deposits and payouts."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router, Schema, Status

from ishibashi.accounts.auth import request_user, user_auth
from ishibashi.core import limits
from ishibashi.core.errors import InvalidInput
from ishibashi.core.idempotency import HEADER as IDEMPOTENCY_HEADER
from ishibashi.core.schemas import ERRORS, BodyIn, WholeNumber
from ishibashi.ledger.models import AccountKind, Entry
from ishibashi.ledger.selectors import WalletSummary, entry_list_for_user, wallet_summary_for_user
from ishibashi.payments import services
from ishibashi.payments.models import Deposit, Payout

wallet_router = Router(tags=["wallet"], auth=user_auth)
sandbox_router = Router(tags=["sandbox"], auth=user_auth)

HISTORY_KINDS = {
    "wallet": (AccountKind.WALLET,),
    "earnings": (AccountKind.EARNINGS, AccountKind.PAYOUT_PENDING),
    "all": (AccountKind.WALLET, AccountKind.EARNINGS, AccountKind.PAYOUT_PENDING),
}


def idempotency_key_of(request: HttpRequest) -> str:
    """The client's Idempotency-Key header; without one, the request is simply not retry-safe."""
    return request.headers.get(IDEMPOTENCY_HEADER) or f"auto:{uuid.uuid4()}"


class WalletOut(Schema):
    wallet_jpy: int
    escrow_jpy: int
    earnings_jpy: int
    payout_pending_jpy: int


class EntryOut(Schema):
    id: int
    created_at: datetime
    account: str
    reason: str
    reason_label: str
    amount_jpy: int
    balance_after_jpy: int
    reference: str

    @staticmethod
    def resolve_account(entry: Entry) -> str:
        return entry.account.kind

    @staticmethod
    def resolve_reason(entry: Entry) -> str:
        return entry.transfer.reason

    @staticmethod
    def resolve_reason_label(entry: Entry) -> str:
        return str(entry.transfer.get_reason_display())

    @staticmethod
    def resolve_reference(entry: Entry) -> str:
        return entry.transfer.reference


class EntryPageOut(Schema):
    items: list[EntryOut]
    next_before: int | None


class HistoryQuery(Schema):
    account: str = "all"
    before: int | None = None
    limit: int = limits.PAGE_SIZE_DEFAULT


class DepositIn(BodyIn):
    amount_jpy: WholeNumber
    method: str
    card_number: str = ""


class DepositOut(Schema):
    id: int
    amount_jpy: int
    method: str
    status: str
    transfer_code: str
    card_last4: str
    failure_reason: str
    created_at: datetime
    completed_at: datetime | None


class PayoutIn(BodyIn):
    amount_jpy: WholeNumber
    bank_name: str
    branch_name: str
    account_type: str
    account_number: str
    account_holder: str


class PayoutOut(Schema):
    id: int
    amount_jpy: int
    status: str
    bank_name: str
    branch_name: str
    account_number_last4: str
    account_holder: str
    failure_reason: str
    created_at: datetime
    expected_at: datetime | None
    completed_at: datetime | None


@wallet_router.get("", response={200: WalletOut, **ERRORS}, summary="Your balances")
def wallet_endpoint(request: HttpRequest) -> WalletSummary:
    return wallet_summary_for_user(user=request_user(request))


@wallet_router.get(
    "/transactions", response={200: EntryPageOut, **ERRORS}, summary="History, newest first"
)
def wallet_transactions_endpoint(
    request: HttpRequest, query: Query[HistoryQuery]
) -> dict[str, object]:
    kinds = HISTORY_KINDS.get(query.account)
    if kinds is None:
        raise InvalidInput(_("Choose wallet, earnings or all."), field="account")
    limit = max(1, min(query.limit, limits.PAGE_SIZE_MAX))
    items = entry_list_for_user(
        user=request_user(request), kinds=kinds, before_id=query.before, limit=limit
    )
    return {"items": items, "next_before": items[-1].pk if len(items) == limit else None}


@wallet_router.post(
    "/deposits", response={201: DepositOut, **ERRORS}, summary="Deposit money (入金)"
)
def deposit_create_endpoint(request: HttpRequest, payload: DepositIn) -> Status[Deposit]:
    deposit = services.deposit_start(
        user=request_user(request),
        amount_jpy=payload.amount_jpy,
        method=payload.method,
        card_number=payload.card_number,
        idempotency_key=idempotency_key_of(request),
    )
    return Status(201, deposit)


@wallet_router.get("/deposits", response={200: list[DepositOut], **ERRORS})
def deposit_list_endpoint(request: HttpRequest) -> list[Deposit]:
    return list(Deposit.objects.filter(user=request_user(request))[: limits.PAGE_SIZE_MAX])


@wallet_router.get("/deposits/{deposit_id}", response={200: DepositOut, **ERRORS})
def deposit_endpoint(request: HttpRequest, deposit_id: int) -> Deposit:
    return services.deposit_get_for_user(user=request_user(request), deposit_id=deposit_id)


@wallet_router.post(
    "/payouts", response={201: PayoutOut, **ERRORS}, summary="Withdraw earnings (出金)"
)
def payout_create_endpoint(request: HttpRequest, payload: PayoutIn) -> Status[Payout]:
    destination = services.PayoutDestination(
        bank_name=payload.bank_name,
        branch_name=payload.branch_name,
        account_type=payload.account_type,
        account_number=payload.account_number,
        account_holder=payload.account_holder,
    )
    payout = services.payout_request(
        user=request_user(request),
        amount_jpy=payload.amount_jpy,
        destination=destination,
        idempotency_key=idempotency_key_of(request),
    )
    return Status(201, payout)


@wallet_router.get("/payouts", response={200: list[PayoutOut], **ERRORS})
def payout_list_endpoint(request: HttpRequest) -> list[Payout]:
    return list(Payout.objects.filter(user=request_user(request))[: limits.PAGE_SIZE_MAX])


@sandbox_router.post(
    "/deposits/{deposit_id}/arrive",
    response={200: DepositOut, **ERRORS},
    summary="Sandbox: simulate the arrival of a bank transfer",
)
def sandbox_arrive_endpoint(request: HttpRequest, deposit_id: int) -> Deposit:
    return services.sandbox_bank_transfer_arrive(user=request_user(request), deposit_id=deposit_id)
