"""Every movement of money: one primitive (transfer_create) and one function per use case.

Each function must run inside the caller's transaction (`require` checks it), locks the
accounts it touches in id order (no deadlocks between two transfers over the same accounts),
and takes an idempotency key: a repeat with the same key and the same movement returns the
first transfer and moves nothing; a repeat with another movement is refused.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext_lazy as _

from ishibashi.accounts.models import User
from ishibashi.core import clock, limits
from ishibashi.core.invariants import require
from ishibashi.ledger import rules
from ishibashi.ledger.errors import (
    IdempotencyConflict,
    InsufficientFunds,
    LedgerAccountNotFound,
    LedgerErrorCode,
    LedgerInputError,
)
from ishibashi.ledger.models import (
    GUARDED_KINDS,
    AccountKind,
    Entry,
    LedgerAccount,
    Transfer,
    TransferReason,
)

CURRENCY = "JPY"


@dataclass(frozen=True)
class Leg:
    """One side of a transfer: a signed amount on an account (credit +, debit -)."""

    account_id: int
    amount_jpy: int


# --- accounts -------------------------------------------------------------------------------


def _account_key(kind: AccountKind, *, owner: User | None, reference: str) -> str:
    if kind == AccountKind.ESCROW:
        require(
            bool(reference) and owner is not None, "an escrow account needs its owner and reference"
        )
        return f"escrow:{reference}"
    if owner is not None:
        return f"{kind.value}:user:{owner.pk}"
    require(kind not in GUARDED_KINDS, "people's accounts need an owner")
    return kind.value


def account_get_or_create(
    *, kind: AccountKind, owner: User | None = None, reference: str = ""
) -> LedgerAccount:
    """The account for (kind, owner or reference), created on first use; safe under races."""
    key = _account_key(kind, owner=owner, reference=reference)
    account = LedgerAccount.objects.filter(key=key).first()
    if account is not None:
        # An escrow is found by its milestone; it must also belong to the client asking, or one
        # client could refund another's escrow into their own wallet.
        if account.kind != kind or account.owner_id != (owner.pk if owner else None):
            raise LedgerAccountNotFound(_("No such account."))
        return account
    try:
        with transaction.atomic():
            return LedgerAccount.objects.create(
                key=key,
                kind=kind,
                owner=owner,
                reference=reference,
                currency=CURRENCY,
                is_guarded=kind in GUARDED_KINDS,
            )
    except IntegrityError:
        # Another transaction created it between the read and the insert.
        return LedgerAccount.objects.get(key=key)


# --- the primitive --------------------------------------------------------------------------


def _refuse(code: LedgerErrorCode, message: object, field: str = "amount_jpy") -> LedgerInputError:
    return LedgerInputError(message, code=code, field=field)  # type: ignore[arg-type]


def _check_shape(*, idempotency_key: str, reason: str, legs: Sequence[Leg]) -> None:
    if not idempotency_key:
        raise _refuse(
            LedgerErrorCode.IDEMPOTENCY_KEY_REQUIRED,
            _("An idempotency key is required."),
            "idempotency_key",
        )
    if len(idempotency_key) > limits.IDEMPOTENCY_KEY_LENGTH_MAX:
        raise _refuse(
            LedgerErrorCode.IDEMPOTENCY_KEY_TOO_LONG,
            _("The idempotency key is too long."),
            "idempotency_key",
        )
    if reason not in TransferReason.values:
        raise _refuse(LedgerErrorCode.REASON_UNKNOWN, _("Unknown reason for a transfer."), "reason")
    if len(legs) < 2:
        raise _refuse(LedgerErrorCode.TOO_FEW_LEGS, _("A transfer needs at least two accounts."))
    if len(legs) > limits.TRANSFER_LEGS_MAX:
        raise _refuse(LedgerErrorCode.TOO_MANY_LEGS, _("A transfer touches too many accounts."))
    for leg in legs:
        if type(leg.amount_jpy) is not int:
            raise _refuse(LedgerErrorCode.AMOUNT_MUST_BE_INTEGER, _("Amounts are whole yen."))
        if leg.amount_jpy == 0:
            raise _refuse(LedgerErrorCode.AMOUNT_MUST_NOT_BE_ZERO, _("An amount cannot be zero."))
        if abs(leg.amount_jpy) > limits.TRANSFER_AMOUNT_JPY_MAX:
            raise _refuse(
                LedgerErrorCode.AMOUNT_EXCEEDS_MAXIMUM,
                _("The amount exceeds the maximum of ¥%(max)s.")
                % {"max": f"{limits.TRANSFER_AMOUNT_JPY_MAX:,}"},
            )
    if len({leg.account_id for leg in legs}) != len(legs):
        raise _refuse(
            LedgerErrorCode.ACCOUNTS_MUST_BE_DIFFERENT,
            _("Each account may appear once in a transfer."),
        )
    if sum(leg.amount_jpy for leg in legs) != 0:
        raise _refuse(LedgerErrorCode.LEGS_MUST_BALANCE, _("Debits and credits must balance."))


def _fingerprint(*, reason: str, reference: str, legs: Sequence[Leg]) -> str:
    canonical = json.dumps(
        {
            "reason": reason,
            "reference": reference,
            "legs": sorted((leg.account_id, leg.amount_jpy) for leg in legs),
        },
        sort_keys=True,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(*, idempotency_key: str, fingerprint: str) -> Transfer | None:
    existing = Transfer.objects.filter(idempotency_key=idempotency_key).first()
    if existing is None:
        return None
    if existing.fingerprint != fingerprint:
        raise IdempotencyConflict(
            _("This idempotency key was already used for a different movement of money."),
            field="idempotency_key",
        )
    return existing


def transfer_create(
    *,
    idempotency_key: str,
    reason: str,
    legs: Sequence[Leg],
    reference: str = "",
    memo: str = "",
    created_by: User | None = None,
) -> Transfer:
    """Move money between accounts in one balanced, immutable transfer.

    Precondition: inside the caller's atomic block, which also holds whatever else the use case
    writes (a milestone's state, a deposit's status), so money and state commit together.
    """
    require(connection.in_atomic_block, "transfer_create must run inside a transaction")
    _check_shape(idempotency_key=idempotency_key, reason=reason, legs=legs)
    fingerprint = _fingerprint(reason=reason, reference=reference, legs=legs)

    # Lock in id order: two transfers over the same accounts queue instead of deadlocking.
    ids = sorted(leg.account_id for leg in legs)
    accounts = {
        account.pk: account
        for account in LedgerAccount.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    }
    if len(accounts) != len(ids):
        raise LedgerAccountNotFound(_("No such account."))
    if any(account.currency != CURRENCY for account in accounts.values()):
        raise _refuse(
            LedgerErrorCode.CURRENCY_MISMATCH,
            _("All accounts of a transfer must be in yen."),
            "currency",
        )

    # After the locks: a concurrent first attempt with this key has committed or rolled back.
    replayed = _replay(idempotency_key=idempotency_key, fingerprint=fingerprint)
    if replayed is not None:
        return replayed

    for leg in legs:
        account = accounts[leg.account_id]
        if account.is_guarded and account.balance_jpy + leg.amount_jpy < 0:
            raise InsufficientFunds(
                _("Not enough balance: ¥%(balance)s available, ¥%(needed)s needed.")
                % {"balance": f"{account.balance_jpy:,}", "needed": f"{-leg.amount_jpy:,}"},
                field="amount_jpy",
            )

    now = clock.now()
    try:
        with transaction.atomic():
            transfer = Transfer.objects.create(
                idempotency_key=idempotency_key,
                fingerprint=fingerprint,
                reason=reason,
                currency=CURRENCY,
                reference=reference,
                memo=memo,
                created_by=created_by,
                created_at=now,
            )
    except IntegrityError:
        # The same key was committed by a transaction over other accounts (so no lock met ours).
        replayed = _replay(idempotency_key=idempotency_key, fingerprint=fingerprint)
        require(replayed is not None, "unique violation without an existing transfer")
        assert replayed is not None
        return replayed

    entries = []
    for leg in sorted(legs, key=lambda leg: leg.account_id):
        account = accounts[leg.account_id]
        account.balance_jpy += leg.amount_jpy
        require(not account.is_guarded or account.balance_jpy >= 0, "guarded balance went negative")
        entries.append(
            Entry(
                transfer=transfer,
                account=account,
                amount_jpy=leg.amount_jpy,
                balance_after_jpy=account.balance_jpy,
                created_at=now,
            )
        )
    Entry.objects.bulk_create(entries)
    for account in accounts.values():
        account.save(update_fields=["balance_jpy"])
    return transfer


# --- use cases ------------------------------------------------------------------------------


def _positive_amount(amount_jpy: object, *, field: str = "amount_jpy") -> int:
    if type(amount_jpy) is not int:
        raise _refuse(LedgerErrorCode.AMOUNT_MUST_BE_INTEGER, _("Amounts are whole yen."), field)
    if amount_jpy <= 0:
        raise _refuse(
            LedgerErrorCode.AMOUNT_MUST_BE_POSITIVE, _("The amount must be more than zero."), field
        )
    if amount_jpy > limits.TRANSFER_AMOUNT_JPY_MAX:
        raise _refuse(
            LedgerErrorCode.AMOUNT_EXCEEDS_MAXIMUM,
            _("The amount exceeds the maximum of ¥%(max)s.")
            % {"max": f"{limits.TRANSFER_AMOUNT_JPY_MAX:,}"},
            field,
        )
    return amount_jpy


def deposit_credit(
    *, user: User, amount_jpy: int, idempotency_key: str, reference: str
) -> Transfer:
    """A confirmed deposit: the provider holds the money, the client's wallet shows it."""
    amount_jpy = _positive_amount(amount_jpy)
    clearing = account_get_or_create(kind=AccountKind.PROVIDER_CLEARING)
    wallet = account_get_or_create(kind=AccountKind.WALLET, owner=user)
    return transfer_create(
        idempotency_key=idempotency_key,
        reason=TransferReason.DEPOSIT,
        reference=reference,
        legs=[Leg(clearing.pk, -amount_jpy), Leg(wallet.pk, amount_jpy)],
    )


def escrow_fund(
    *, client: User, escrow_reference: str, amount_jpy: int, idempotency_key: str
) -> Transfer:
    """仮払い: move money from the client's wallet into the escrow account of one milestone."""
    amount_jpy = _positive_amount(amount_jpy)
    wallet = account_get_or_create(kind=AccountKind.WALLET, owner=client)
    escrow = account_get_or_create(
        kind=AccountKind.ESCROW, owner=client, reference=escrow_reference
    )
    return transfer_create(
        idempotency_key=idempotency_key,
        reason=TransferReason.ESCROW_FUND,
        reference=escrow_reference,
        legs=[Leg(wallet.pk, -amount_jpy), Leg(escrow.pk, amount_jpy)],
    )


def _escrow_account(*, client: User, escrow_reference: str) -> LedgerAccount:
    return account_get_or_create(kind=AccountKind.ESCROW, owner=client, reference=escrow_reference)


def _release_legs(
    *,
    escrow: LedgerAccount,
    client: User,
    worker: User,
    gross_jpy: int,
    fee_rate_bps: int,
    withholding_applies: bool,
) -> list[Leg]:
    split = rules.release_split(
        gross_jpy=gross_jpy, fee_rate_bps=fee_rate_bps, withholding_applies=withholding_applies
    )
    legs = [Leg(escrow.pk, -gross_jpy)]
    if split.net_jpy:
        legs.append(
            Leg(account_get_or_create(kind=AccountKind.EARNINGS, owner=worker).pk, split.net_jpy)
        )
    if split.fee_jpy:
        legs.append(Leg(account_get_or_create(kind=AccountKind.PLATFORM_FEES).pk, split.fee_jpy))
    if split.withholding_jpy:
        payable = account_get_or_create(kind=AccountKind.WITHHOLDING_PAYABLE, owner=client)
        legs.append(Leg(payable.pk, split.withholding_jpy))
    return legs


def escrow_release(
    *,
    client: User,
    worker: User,
    escrow_reference: str,
    amount_jpy: int,
    fee_rate_bps: int,
    withholding_applies: bool,
    idempotency_key: str,
) -> Transfer:
    """支払い: escrow to the worker's earnings, less the platform fee and any withholding tax."""
    amount_jpy = _positive_amount(amount_jpy)
    escrow = _escrow_account(client=client, escrow_reference=escrow_reference)
    return transfer_create(
        idempotency_key=idempotency_key,
        reason=TransferReason.ESCROW_RELEASE,
        reference=escrow_reference,
        legs=_release_legs(
            escrow=escrow,
            client=client,
            worker=worker,
            gross_jpy=amount_jpy,
            fee_rate_bps=fee_rate_bps,
            withholding_applies=withholding_applies,
        ),
    )


def escrow_refund(
    *, client: User, escrow_reference: str, amount_jpy: int, idempotency_key: str
) -> Transfer:
    """返金: escrow back to the client's wallet."""
    amount_jpy = _positive_amount(amount_jpy)
    escrow = _escrow_account(client=client, escrow_reference=escrow_reference)
    wallet = account_get_or_create(kind=AccountKind.WALLET, owner=client)
    return transfer_create(
        idempotency_key=idempotency_key,
        reason=TransferReason.ESCROW_REFUND,
        reference=escrow_reference,
        legs=[Leg(escrow.pk, -amount_jpy), Leg(wallet.pk, amount_jpy)],
    )


def escrow_split(
    *,
    client: User,
    worker: User,
    escrow_reference: str,
    worker_amount_jpy: int,
    client_amount_jpy: int,
    fee_rate_bps: int,
    withholding_applies: bool,
    idempotency_key: str,
) -> Transfer:
    """One transfer that pays the worker part (fee and withholding applied) and refunds the rest.

    Used by dispute rulings and kill fees; either part may be zero, not both.
    """
    for field, value in (
        ("worker_amount_jpy", worker_amount_jpy),
        ("client_amount_jpy", client_amount_jpy),
    ):
        if type(value) is not int:
            raise _refuse(
                LedgerErrorCode.AMOUNT_MUST_BE_INTEGER, _("Amounts are whole yen."), field
            )
        if value < 0:
            raise _refuse(
                LedgerErrorCode.AMOUNT_MUST_BE_POSITIVE, _("An amount cannot be negative."), field
            )
    total = _positive_amount(worker_amount_jpy + client_amount_jpy)
    escrow = _escrow_account(client=client, escrow_reference=escrow_reference)
    legs = [Leg(escrow.pk, -total)]
    if worker_amount_jpy:
        worker_legs = _release_legs(
            escrow=escrow,
            client=client,
            worker=worker,
            gross_jpy=worker_amount_jpy,
            fee_rate_bps=fee_rate_bps,
            withholding_applies=withholding_applies,
        )
        legs.extend(worker_legs[1:])
    if client_amount_jpy:
        wallet = account_get_or_create(kind=AccountKind.WALLET, owner=client)
        legs.append(Leg(wallet.pk, client_amount_jpy))
    return transfer_create(
        idempotency_key=idempotency_key,
        reason=TransferReason.ESCROW_SPLIT,
        reference=escrow_reference,
        legs=legs,
    )


def payout_reserve(
    *, user: User, amount_jpy: int, idempotency_key: str, reference: str
) -> Transfer:
    """出金申請: earnings move aside while the bank transfer is under way."""
    amount_jpy = _positive_amount(amount_jpy)
    earnings = account_get_or_create(kind=AccountKind.EARNINGS, owner=user)
    pending = account_get_or_create(kind=AccountKind.PAYOUT_PENDING, owner=user)
    return transfer_create(
        idempotency_key=idempotency_key,
        reason=TransferReason.PAYOUT_RESERVE,
        reference=reference,
        legs=[Leg(earnings.pk, -amount_jpy), Leg(pending.pk, amount_jpy)],
    )


def payout_settle(*, user: User, amount_jpy: int, idempotency_key: str, reference: str) -> Transfer:
    """The bank transfer arrived: the money leaves the platform, in full (L-31: no fee deducted)."""
    amount_jpy = _positive_amount(amount_jpy)
    pending = account_get_or_create(kind=AccountKind.PAYOUT_PENDING, owner=user)
    clearing = account_get_or_create(kind=AccountKind.PROVIDER_CLEARING)
    return transfer_create(
        idempotency_key=idempotency_key,
        reason=TransferReason.PAYOUT_SETTLE,
        reference=reference,
        legs=[Leg(pending.pk, -amount_jpy), Leg(clearing.pk, amount_jpy)],
    )


def payout_return(*, user: User, amount_jpy: int, idempotency_key: str, reference: str) -> Transfer:
    """The bank transfer failed: the money goes back to earnings, nothing lost."""
    amount_jpy = _positive_amount(amount_jpy)
    pending = account_get_or_create(kind=AccountKind.PAYOUT_PENDING, owner=user)
    earnings = account_get_or_create(kind=AccountKind.EARNINGS, owner=user)
    return transfer_create(
        idempotency_key=idempotency_key,
        reason=TransferReason.PAYOUT_RETURN,
        reference=reference,
        legs=[Leg(pending.pk, -amount_jpy), Leg(earnings.pk, amount_jpy)],
    )


@transaction.atomic
def adjustment_post(
    *, operator: User, account_id: int, amount_jpy: int, reason: str, idempotency_key: str
) -> Transfer:
    """An operator's correction: a balanced transfer against the adjustments account, with why."""
    if not operator.is_staff:
        raise LedgerAccountNotFound(_("No such account."))
    reason = reason.strip()
    if not reason:
        raise LedgerInputError(_("Say why the adjustment is made."), field="reason")
    if len(reason) > limits.ADJUSTMENT_REASON_LENGTH_MAX:
        raise LedgerInputError(_("The reason is too long."), field="reason")
    if type(amount_jpy) is not int:
        raise _refuse(LedgerErrorCode.AMOUNT_MUST_BE_INTEGER, _("Amounts are whole yen."))
    if amount_jpy == 0:
        raise _refuse(
            LedgerErrorCode.AMOUNT_MUST_NOT_BE_ZERO,
            _("An adjustment is a non-zero whole number of yen."),
        )
    adjustments = account_get_or_create(kind=AccountKind.ADJUSTMENTS)
    if account_id == adjustments.pk:
        raise _refuse(
            LedgerErrorCode.ACCOUNTS_MUST_BE_DIFFERENT,
            _("Each account may appear once in a transfer."),
        )
    return transfer_create(
        idempotency_key=idempotency_key,
        reason=TransferReason.ADJUSTMENT,
        reference=f"adjustment:{account_id}",
        memo=reason,
        created_by=operator,
        legs=[Leg(account_id, amount_jpy), Leg(adjustments.pk, -amount_jpy)],
    )
