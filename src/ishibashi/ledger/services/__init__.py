"""Every movement of money: one primitive (transfer_create) and one function per use case.

Each function must run inside the caller's transaction (`require` checks it), locks the
accounts it touches in id order (no deadlocks between two transfers over the same accounts),
and takes an idempotency key: a repeat with the same key and the same movement returns the
first transfer and moves nothing; a repeat with another movement is refused.

This package exports what other apps call; the SQL and the checks behind transfer_create stay
in its modules."""

from ishibashi.ledger.services.accounts import (
    CURRENCY,
    account_get_or_create,
    ledger_account_key,
)
from ishibashi.ledger.services.adjustments import adjustment_post
from ishibashi.ledger.services.batch import TransferRequest, transfers_create
from ishibashi.ledger.services.escrow import (
    EscrowRelease,
    escrow_fund,
    escrow_refund,
    escrow_release,
    escrow_release_many,
    escrow_split,
)
from ishibashi.ledger.services.transfer import Leg, transfer_between, transfer_create
from ishibashi.ledger.services.wallet import (
    deposit_credit,
    payout_reserve,
    payout_return,
    payout_settle,
)

__all__ = [
    "CURRENCY",
    "EscrowRelease",
    "Leg",
    "TransferRequest",
    "account_get_or_create",
    "adjustment_post",
    "deposit_credit",
    "escrow_fund",
    "escrow_refund",
    "escrow_release",
    "escrow_release_many",
    "escrow_split",
    "ledger_account_key",
    "payout_reserve",
    "payout_return",
    "payout_settle",
    "transfer_between",
    "transfer_create",
    "transfers_create",
]
