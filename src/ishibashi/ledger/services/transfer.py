"""The primitive: transfer_create, one balanced, idempotent movement in one statement."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from django.db import connection
from django.utils.translation import gettext_lazy as _

from ishibashi.accounts.models import User
from ishibashi.core import clock, limits
from ishibashi.core.invariants import require
from ishibashi.ledger.errors import (
    IdempotencyConflict,
    InsufficientFunds,
    LedgerAccountNotFound,
    LedgerErrorCode,
    LedgerInputError,
)
from ishibashi.ledger.models import (
    Entry,
    LedgerAccount,
    Transfer,
    TransferReason,
)
from ishibashi.ledger.services.accounts import CURRENCY

# TextChoices.values builds a new list on every call; this check runs on every transfer.
_REASONS = frozenset(TransferReason.values)


@dataclass(frozen=True)
class Leg:
    """One side of a transfer: a signed amount on an account (credit +, debit -)."""

    account_id: int
    amount_jpy: int


def ledger_refusal(
    code: LedgerErrorCode, message: object, field: str = "amount_jpy"
) -> LedgerInputError:
    return LedgerInputError(message, code=code, field=field)  # type: ignore[arg-type]


def check_shape(*, idempotency_key: str, reason: str, legs: Sequence[Leg]) -> None:
    if not idempotency_key:
        raise ledger_refusal(
            LedgerErrorCode.IDEMPOTENCY_KEY_REQUIRED,
            _("An idempotency key is required."),
            "idempotency_key",
        )
    if len(idempotency_key) > limits.IDEMPOTENCY_KEY_LENGTH_MAX:
        raise ledger_refusal(
            LedgerErrorCode.IDEMPOTENCY_KEY_TOO_LONG,
            _("The idempotency key is too long."),
            "idempotency_key",
        )
    if reason not in _REASONS:
        raise ledger_refusal(
            LedgerErrorCode.REASON_UNKNOWN, _("Unknown reason for a transfer."), "reason"
        )
    if len(legs) < 2:
        raise ledger_refusal(
            LedgerErrorCode.TOO_FEW_LEGS, _("A transfer needs at least two accounts.")
        )
    if len(legs) > limits.TRANSFER_LEGS_MAX:
        raise ledger_refusal(
            LedgerErrorCode.TOO_MANY_LEGS, _("A transfer touches too many accounts.")
        )
    for leg in legs:
        if type(leg.amount_jpy) is not int:
            raise ledger_refusal(
                LedgerErrorCode.AMOUNT_MUST_BE_INTEGER, _("Amounts are whole yen.")
            )
        if leg.amount_jpy == 0:
            raise ledger_refusal(
                LedgerErrorCode.AMOUNT_MUST_NOT_BE_ZERO, _("An amount cannot be zero.")
            )
        if abs(leg.amount_jpy) > limits.TRANSFER_AMOUNT_JPY_MAX:
            raise ledger_refusal(
                LedgerErrorCode.AMOUNT_EXCEEDS_MAXIMUM,
                _("The amount exceeds the maximum of ¥%(max)s.")
                % {"max": f"{limits.TRANSFER_AMOUNT_JPY_MAX:,}"},
            )
    if len({leg.account_id for leg in legs}) != len(legs):
        raise ledger_refusal(
            LedgerErrorCode.ACCOUNTS_MUST_BE_DIFFERENT,
            _("Each account may appear once in a transfer."),
        )
    if sum(leg.amount_jpy for leg in legs) != 0:
        raise ledger_refusal(
            LedgerErrorCode.LEGS_MUST_BALANCE, _("Debits and credits must balance.")
        )


def transfer_fingerprint(*, reason: str, reference: str, legs: Sequence[Leg]) -> str:
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


# transfer_create is the ledger's hot path, so it speaks SQL directly: one statement per transfer
# on PostgreSQL and three on SQLite, instead of the ORM's ten (bench/README.md). The model
# layer still owns the schema; these statements only read and write its columns. The only
# names formatted into them are table names from the models' metadata, never input (S608).
ACCOUNTS_TABLE = LedgerAccount._meta.db_table


TRANSFERS_TABLE = Transfer._meta.db_table


ENTRIES_TABLE = Entry._meta.db_table


_INSERT_TRANSFER = (
    f"INSERT INTO {TRANSFERS_TABLE} (idempotency_key, fingerprint, reason, currency, reference,"  # noqa: S608
    " memo, created_by_id, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (idempotency_key) DO NOTHING RETURNING id"
)


# PostgreSQL: the whole transfer in one statement, one round trip. It locks the accounts in id
# order, writes only if every account exists, is in yen and no guarded balance would go below
# zero, and returns the locked rows either way, so the Python side can name what was wrong.
# The sub-statements share one snapshot; the balances come from the locked (newest) rows.
_TRANSFER_IN_ONE_STATEMENT_PG = (
    "WITH leg AS (SELECT * FROM UNNEST(%s::bigint[], %s::bigint[])"  # noqa: S608
    " AS leg(account_id, amount_jpy)),"
    " locked AS MATERIALIZED (SELECT id, currency, is_guarded, balance_jpy"
    f" FROM {ACCOUNTS_TABLE} WHERE id = ANY(%s::bigint[]) ORDER BY id FOR UPDATE),"
    " admissible AS (SELECT count(*) = %s::int AND coalesce(bool_and(locked.currency = %s::text AND"
    " (NOT locked.is_guarded OR locked.balance_jpy + leg.amount_jpy >= 0)), false) AS yes"
    " FROM locked JOIN leg ON leg.account_id = locked.id),"
    f" transfer AS (INSERT INTO {TRANSFERS_TABLE} (idempotency_key, fingerprint, reason, currency,"
    " reference, memo, created_by_id, created_at)"
    " SELECT %s::text, %s::text, %s::text, %s::text, %s::text, %s::text, %s::bigint,"
    " %s::timestamptz FROM admissible WHERE admissible.yes"
    " ON CONFLICT (idempotency_key) DO NOTHING RETURNING id),"
    f" entries AS (INSERT INTO {ENTRIES_TABLE}"
    " (transfer_id, account_id, amount_jpy, balance_after_jpy, created_at)"
    " SELECT transfer.id, leg.account_id, leg.amount_jpy,"
    " locked.balance_jpy + leg.amount_jpy, %s::timestamptz"
    " FROM transfer CROSS JOIN leg JOIN locked ON locked.id = leg.account_id),"
    f" balances AS (UPDATE {ACCOUNTS_TABLE} AS account"
    " SET balance_jpy = locked.balance_jpy + leg.amount_jpy"
    " FROM transfer CROSS JOIN leg JOIN locked ON locked.id = leg.account_id"
    " WHERE account.id = leg.account_id)"
    " SELECT (SELECT id FROM transfer), locked.id, locked.currency, locked.is_guarded,"
    " locked.balance_jpy FROM locked ORDER BY locked.id"
)


def int_array_literal(values: list[int]) -> str:
    """A PostgreSQL array literal: psycopg's list dumper inspects every element, which cost more
    than the rest of the parameters together (bench/README.md). The values are checked ints."""
    return "{" + ",".join(str(int(value)) for value in values) + "}"


def nullable_int_array_literal(values: list[int | None]) -> str:
    return "{" + ",".join("NULL" if value is None else str(int(value)) for value in values) + "}"


def _transfer_in_one_statement(
    *, ids: list[int], amounts: list[int], transfer_row: list[Any], created_at: Any
) -> tuple[int | None, dict[int, tuple[str, bool, int]]]:
    # A server-side prepared statement: Django's cursors bind parameters on the client, so the
    # server would parse and plan this statement on every transfer, which costs more than
    # running it (bench/README.md). Same connection, so the same transaction as the caller's.
    connection.ensure_connection()
    id_array = int_array_literal(ids)
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(
            _TRANSFER_IN_ONE_STATEMENT_PG,
            [
                id_array,
                int_array_literal(amounts),
                id_array,
                len(ids),
                CURRENCY,
                *transfer_row,
                created_at,
            ],
            prepare=True,
        )
        rows = cursor.fetchall()
    transfer_id = rows[0][0] if rows else None
    return transfer_id, {row[1]: (row[2], bool(row[3]), row[4]) for row in rows}


def _read_accounts_sqlite(ids: list[int]) -> dict[int, tuple[str, bool, int]]:
    """{id: (currency, is_guarded, balance_jpy)}. SQLite has no row locks and needs none: every
    write transaction there starts with BEGIN IMMEDIATE and runs alone."""
    placeholders = ", ".join(["%s"] * len(ids))
    sql = (
        f"SELECT id, currency, is_guarded, balance_jpy FROM {ACCOUNTS_TABLE}"  # noqa: S608
        f" WHERE id IN ({placeholders})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, ids)
        return {row[0]: (row[1], bool(row[2]), row[3]) for row in cursor.fetchall()}


def _write_entries_and_balances_sqlite(
    *,
    transfer_id: int,
    created_at: Any,
    ids: list[int],
    amounts: list[int],
    after: list[int],
) -> None:
    with connection.cursor() as cursor:
        rows = ", ".join(["(%s, %s, %s, %s, %s)"] * len(ids))
        cursor.execute(
            f"INSERT INTO {ENTRIES_TABLE}"  # noqa: S608
            " (transfer_id, account_id, amount_jpy, balance_after_jpy, created_at)"
            f" VALUES {rows}",
            [
                value
                for account_id, amount, balance in zip(ids, amounts, after, strict=True)
                for value in (transfer_id, account_id, amount, balance, created_at)
            ],
        )
        cases = " ".join(["WHEN %s THEN %s"] * len(ids))
        placeholders = ", ".join(["%s"] * len(ids))
        cursor.execute(
            f"UPDATE {ACCOUNTS_TABLE} SET balance_jpy = CASE id {cases} END"  # noqa: S608
            f" WHERE id IN ({placeholders})",
            [value for pair in zip(ids, after, strict=True) for value in pair] + ids,
        )


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
    check_shape(idempotency_key=idempotency_key, reason=reason, legs=legs)
    fingerprint = transfer_fingerprint(reason=reason, reference=reference, legs=legs)

    ids = sorted(leg.account_id for leg in legs)
    amount_by_id = {leg.account_id: leg.amount_jpy for leg in legs}
    amounts = [amount_by_id[account_id] for account_id in ids]
    now = clock.now()
    created_at = connection.ops.adapt_datetimefield_value(now)
    created_by_id = created_by.pk if created_by is not None else None
    transfer_row = [
        idempotency_key, fingerprint, reason, CURRENCY, reference, memo, created_by_id, created_at,
    ]  # fmt: skip
    one_statement = connection.vendor == "postgresql"
    transfer_id: int | None = None
    if one_statement:
        transfer_id, accounts = _transfer_in_one_statement(
            ids=ids, amounts=amounts, transfer_row=transfer_row, created_at=created_at
        )
    else:
        accounts = _read_accounts_sqlite(ids)

    # The same checks the one statement made, in order, to say precisely what was wrong.
    if len(accounts) != len(ids):
        raise LedgerAccountNotFound(_("No such account."))
    if any(currency != CURRENCY for currency, _guarded, _balance in accounts.values()):
        raise ledger_refusal(
            LedgerErrorCode.CURRENCY_MISMATCH,
            _("All accounts of a transfer must be in yen."),
            "currency",
        )
    after = [accounts[account_id][2] + amount_by_id[account_id] for account_id in ids]
    for account_id, balance_after in zip(ids, after, strict=True):
        _currency, is_guarded, balance = accounts[account_id]
        if is_guarded and balance_after < 0:
            require(transfer_id is None, "an overdraft was written")
            # A replay of a transfer that went through before the balance dropped is answered
            # with that transfer, not with a refusal; the key is read only on this rare path.
            replayed = _replay(idempotency_key=idempotency_key, fingerprint=fingerprint)
            if replayed is not None:
                return replayed
            raise InsufficientFunds(
                _("Not enough balance: ¥%(balance)s available, ¥%(needed)s needed.")
                % {"balance": f"{balance:,}", "needed": f"{-amount_by_id[account_id]:,}"},
                field="amount_jpy",
            )

    if not one_statement:
        # A key already used yields no row: the retry then reads and returns the first transfer.
        # (On PostgreSQL the same ON CONFLICT also waits for an in-flight insert of the key.)
        with connection.cursor() as cursor:
            cursor.execute(_INSERT_TRANSFER, transfer_row)
            row = cursor.fetchone()
        transfer_id = row[0] if row is not None else None
        if transfer_id is not None:
            _write_entries_and_balances_sqlite(
                transfer_id=transfer_id,
                created_at=created_at,
                ids=ids,
                amounts=amounts,
                after=after,
            )
    if transfer_id is None:
        replayed = _replay(idempotency_key=idempotency_key, fingerprint=fingerprint)
        require(replayed is not None, "idempotency key conflict without an existing transfer")
        assert replayed is not None
        return replayed
    transfer = Transfer(
        pk=transfer_id,
        idempotency_key=idempotency_key,
        fingerprint=fingerprint,
        reason=reason,
        currency=CURRENCY,
        reference=reference,
        memo=memo,
        created_by=created_by,
        created_at=now,
    )
    transfer._state.adding = False
    transfer._state.db = connection.alias
    return transfer


def transfer_between(
    *,
    source: LedgerAccount,
    target: LedgerAccount,
    amount_jpy: int,
    reason: str,
    idempotency_key: str,
    reference: str,
) -> Transfer:
    """One amount from one account to another: the shape of most movements."""
    return transfer_create(
        idempotency_key=idempotency_key,
        reason=reason,
        reference=reference,
        legs=[Leg(source.pk, -amount_jpy), Leg(target.pk, amount_jpy)],
    )


def positive_amount(amount_jpy: object, *, field: str = "amount_jpy") -> int:
    if type(amount_jpy) is not int:
        raise ledger_refusal(
            LedgerErrorCode.AMOUNT_MUST_BE_INTEGER, _("Amounts are whole yen."), field
        )
    if amount_jpy <= 0:
        raise ledger_refusal(
            LedgerErrorCode.AMOUNT_MUST_BE_POSITIVE, _("The amount must be more than zero."), field
        )
    if amount_jpy > limits.TRANSFER_AMOUNT_JPY_MAX:
        raise ledger_refusal(
            LedgerErrorCode.AMOUNT_EXCEEDS_MAXIMUM,
            _("The amount exceeds the maximum of ¥%(max)s.")
            % {"max": f"{limits.TRANSFER_AMOUNT_JPY_MAX:,}"},
            field,
        )
    return amount_jpy
