"""Operator API: the books and manual adjustments (staff only; others get 404)."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Router, Schema, Status

from ishibashi.accounts.auth import request_user, user_auth
from ishibashi.core.errors import NotFound
from ishibashi.core.schemas import ERRORS, BodyIn, WholeNumber
from ishibashi.ledger.models import Transfer
from ishibashi.ledger.services import adjustment_post
from ishibashi.operations.selectors import books_report, is_operator
from ishibashi.payments.api import idempotency_key_of

operations_router = Router(tags=["operations"], auth=user_auth)


class ProblemOut(Schema):
    check: str
    detail: str


class BooksOut(Schema):
    is_balanced: bool
    totals_by_kind: dict[str, int]
    accounts: int
    transfers: int
    problems: list[ProblemOut]


class AdjustmentIn(BodyIn):
    account_id: int
    amount_jpy: WholeNumber
    reason: str


class TransferOut(Schema):
    id: int
    reason: str
    reference: str
    memo: str


def _require_staff(request: HttpRequest) -> None:
    if not is_operator(request_user(request)):
        raise NotFound(_("Not found."))


@operations_router.get("/books", response={200: BooksOut, **ERRORS}, summary="Check the books")
def books_endpoint(request: HttpRequest) -> dict[str, object]:
    _require_staff(request)
    report = books_report()
    return {**report.__dict__, "is_balanced": report.is_balanced}


@operations_router.post("/adjustments", response={201: TransferOut, **ERRORS})
def adjustment_endpoint(request: HttpRequest, payload: AdjustmentIn) -> Status[Transfer]:
    """A balanced correction against the adjustments account; the reason is required."""
    transfer = adjustment_post(
        operator=request_user(request),
        account_id=payload.account_id,
        amount_jpy=payload.amount_jpy,
        reason=payload.reason,
        idempotency_key=idempotency_key_of(request),
    )
    return Status(201, transfer)
