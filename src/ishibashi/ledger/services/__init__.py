"""Every movement of money: one primitive (transfer_create) and one function per use case.

Each function must run inside the caller's transaction (`require` checks it), locks the
accounts it touches in id order (no deadlocks between two transfers over the same accounts),
and takes an idempotency key: a repeat with the same key and the same movement returns the
first transfer and moves nothing; a repeat with another movement is refused."""

from ishibashi.ledger.services.accounts import (
    CURRENCY,
    account_get_or_create,
    account_ids_by_key,
    ledger_account_key,
)
from ishibashi.ledger.services.adjustments import (
    adjustment_post,
)
from ishibashi.ledger.services.batch import (
    TransferRequest,
    transfers_create,
)
from ishibashi.ledger.services.escrow import (
    EscrowRelease,
    escrow_fund,
    escrow_refund,
    escrow_release,
    escrow_release_many,
    escrow_split,
)
from ishibashi.ledger.services.transfer import (
    ACCOUNTS_TABLE,
    ENTRIES_TABLE,
    TRANSFERS_TABLE,
    Leg,
    check_shape,
    int_array_literal,
    ledger_refusal,
    nullable_int_array_literal,
    positive_amount,
    transfer_create,
    transfer_fingerprint,
)
from ishibashi.ledger.services.wallet import (
    deposit_credit,
    payout_reserve,
    payout_return,
    payout_settle,
)

__all__ = [
    "ACCOUNTS_TABLE",
    "CURRENCY",
    "ENTRIES_TABLE",
    "TRANSFERS_TABLE",
    "EscrowRelease",
    "Leg",
    "TransferRequest",
    "account_get_or_create",
    "account_ids_by_key",
    "adjustment_post",
    "check_shape",
    "deposit_credit",
    "escrow_fund",
    "escrow_refund",
    "escrow_release",
    "escrow_release_many",
    "escrow_split",
    "int_array_literal",
    "ledger_account_key",
    "ledger_refusal",
    "nullable_int_array_literal",
    "payout_reserve",
    "payout_return",
    "payout_settle",
    "positive_amount",
    "transfer_create",
    "transfer_fingerprint",
    "transfers_create",
]
