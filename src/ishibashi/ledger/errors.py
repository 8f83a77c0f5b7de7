"""Ledger refusals, in order of precedence (TigerBeetle): the first that applies is reported.

Shape checks come first, then references, then idempotency, and only then balances, so a
retried transfer answers "the same as before" even if balances have moved since.
"""

from __future__ import annotations

from enum import StrEnum

from ishibashi.core.errors import ApplicationError, Conflict, InvalidInput, NotFound


class LedgerErrorCode(StrEnum):
    IDEMPOTENCY_KEY_REQUIRED = "idempotency_key_required"
    IDEMPOTENCY_KEY_TOO_LONG = "idempotency_key_too_long"
    REASON_UNKNOWN = "reason_unknown"
    TOO_FEW_LEGS = "too_few_legs"
    TOO_MANY_LEGS = "too_many_legs"
    AMOUNT_MUST_BE_INTEGER = "amount_must_be_integer"
    AMOUNT_MUST_NOT_BE_ZERO = "amount_must_not_be_zero"
    AMOUNT_MUST_BE_POSITIVE = "amount_must_be_positive"
    AMOUNT_EXCEEDS_MAXIMUM = "amount_exceeds_maximum"
    ACCOUNTS_MUST_BE_DIFFERENT = "accounts_must_be_different"
    LEGS_MUST_BALANCE = "legs_must_balance"
    ACCOUNT_NOT_FOUND = "account_not_found"
    CURRENCY_MISMATCH = "currency_mismatch"
    EXISTS_WITH_DIFFERENT_FIELDS = "exists_with_different_fields"
    EXCEEDS_BALANCE = "exceeds_balance"


class LedgerInputError(InvalidInput):
    """A transfer that is malformed: nothing was written."""


class LedgerAccountNotFound(NotFound):
    default_code = LedgerErrorCode.ACCOUNT_NOT_FOUND


class IdempotencyConflict(Conflict):
    """The key was used before for a different movement."""

    default_code = LedgerErrorCode.EXISTS_WITH_DIFFERENT_FIELDS


class InsufficientFunds(ApplicationError):
    http_status = 409
    default_code = LedgerErrorCode.EXCEEDS_BALANCE
