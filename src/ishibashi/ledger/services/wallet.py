"""Money in and out of a wallet: deposits credited, payouts reserved, settled or returned."""

from __future__ import annotations

from ishibashi.accounts.models import User
from ishibashi.ledger.models import (
    AccountKind,
    Transfer,
    TransferReason,
)
from ishibashi.ledger.services.accounts import account_get_or_create
from ishibashi.ledger.services.transfer import positive_amount, transfer_between


def deposit_credit(
    *, user: User, amount_jpy: int, idempotency_key: str, reference: str
) -> Transfer:
    """A confirmed deposit: the provider holds the money, the client's wallet shows it."""
    amount_jpy = positive_amount(amount_jpy)
    clearing = account_get_or_create(kind=AccountKind.PROVIDER_CLEARING)
    wallet = account_get_or_create(kind=AccountKind.WALLET, owner=user)
    return transfer_between(
        source=clearing,
        target=wallet,
        amount_jpy=amount_jpy,
        reason=TransferReason.DEPOSIT,
        idempotency_key=idempotency_key,
        reference=reference,
    )


def payout_reserve(
    *, user: User, amount_jpy: int, idempotency_key: str, reference: str
) -> Transfer:
    """出金申請: earnings move aside while the bank transfer is under way."""
    amount_jpy = positive_amount(amount_jpy)
    earnings = account_get_or_create(kind=AccountKind.EARNINGS, owner=user)
    pending = account_get_or_create(kind=AccountKind.PAYOUT_PENDING, owner=user)
    return transfer_between(
        source=earnings,
        target=pending,
        amount_jpy=amount_jpy,
        reason=TransferReason.PAYOUT_RESERVE,
        idempotency_key=idempotency_key,
        reference=reference,
    )


def payout_settle(*, user: User, amount_jpy: int, idempotency_key: str, reference: str) -> Transfer:
    """The bank transfer arrived: the money leaves the platform, in full (L-31: no fee deducted)."""
    amount_jpy = positive_amount(amount_jpy)
    pending = account_get_or_create(kind=AccountKind.PAYOUT_PENDING, owner=user)
    clearing = account_get_or_create(kind=AccountKind.PROVIDER_CLEARING)
    return transfer_between(
        source=pending,
        target=clearing,
        amount_jpy=amount_jpy,
        reason=TransferReason.PAYOUT_SETTLE,
        idempotency_key=idempotency_key,
        reference=reference,
    )


def payout_return(*, user: User, amount_jpy: int, idempotency_key: str, reference: str) -> Transfer:
    """The bank transfer failed: the money goes back to earnings, nothing lost."""
    amount_jpy = positive_amount(amount_jpy)
    pending = account_get_or_create(kind=AccountKind.PAYOUT_PENDING, owner=user)
    earnings = account_get_or_create(kind=AccountKind.EARNINGS, owner=user)
    return transfer_between(
        source=pending,
        target=earnings,
        amount_jpy=amount_jpy,
        reason=TransferReason.PAYOUT_RETURN,
        idempotency_key=idempotency_key,
        reference=reference,
    )
