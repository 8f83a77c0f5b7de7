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
from typing import Any

import psycopg
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
# TextChoices.values builds a new list on every call; this check runs on every transfer.
_REASONS = frozenset(TransferReason.values)


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
    if reason not in _REASONS:
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


# transfer_create is the ledger's hot path, so it speaks SQL directly: one statement per transfer
# on PostgreSQL and three on SQLite, instead of the ORM's ten (bench/README.md). The model
# layer still owns the schema; these statements only read and write its columns. The only
# names formatted into them are table names from the models' metadata, never input (S608).
_ACCOUNTS = LedgerAccount._meta.db_table
_TRANSFERS = Transfer._meta.db_table
_ENTRIES = Entry._meta.db_table
_INSERT_TRANSFER = (
    f"INSERT INTO {_TRANSFERS} (idempotency_key, fingerprint, reason, currency, reference, memo,"  # noqa: S608
    " created_by_id, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
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
    f" FROM {_ACCOUNTS} WHERE id = ANY(%s::bigint[]) ORDER BY id FOR UPDATE),"
    " admissible AS (SELECT count(*) = %s::int AND coalesce(bool_and(locked.currency = %s::text AND"
    " (NOT locked.is_guarded OR locked.balance_jpy + leg.amount_jpy >= 0)), false) AS yes"
    " FROM locked JOIN leg ON leg.account_id = locked.id),"
    f" transfer AS (INSERT INTO {_TRANSFERS} (idempotency_key, fingerprint, reason, currency,"
    " reference, memo, created_by_id, created_at)"
    " SELECT %s::text, %s::text, %s::text, %s::text, %s::text, %s::text, %s::bigint,"
    " %s::timestamptz FROM admissible WHERE admissible.yes"
    " ON CONFLICT (idempotency_key) DO NOTHING RETURNING id),"
    f" entries AS (INSERT INTO {_ENTRIES}"
    " (transfer_id, account_id, amount_jpy, balance_after_jpy, created_at)"
    " SELECT transfer.id, leg.account_id, leg.amount_jpy,"
    " locked.balance_jpy + leg.amount_jpy, %s::timestamptz"
    " FROM transfer CROSS JOIN leg JOIN locked ON locked.id = leg.account_id),"
    f" balances AS (UPDATE {_ACCOUNTS} AS account"
    " SET balance_jpy = locked.balance_jpy + leg.amount_jpy"
    " FROM transfer CROSS JOIN leg JOIN locked ON locked.id = leg.account_id"
    " WHERE account.id = leg.account_id)"
    " SELECT (SELECT id FROM transfer), locked.id, locked.currency, locked.is_guarded,"
    " locked.balance_jpy FROM locked ORDER BY locked.id"
)


def _int_array(values: list[int]) -> str:
    """A PostgreSQL array literal: psycopg's list dumper inspects every element, which cost more
    than the rest of the parameters together (bench/README.md). The values are checked ints."""
    return "{" + ",".join(str(int(value)) for value in values) + "}"


def _nullable_int_array(values: list[int | None]) -> str:
    return "{" + ",".join("NULL" if value is None else str(int(value)) for value in values) + "}"


def _transfer_in_one_statement(
    *, ids: list[int], amounts: list[int], transfer_row: list[Any], created_at: Any
) -> tuple[int | None, dict[int, tuple[str, bool, int]]]:
    # A server-side prepared statement: Django's cursors bind parameters on the client, so the
    # server would parse and plan this statement on every transfer, which costs more than
    # running it (bench/README.md). Same connection, so the same transaction as the caller's.
    connection.ensure_connection()
    id_array = _int_array(ids)
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(
            _TRANSFER_IN_ONE_STATEMENT_PG,
            [
                id_array,
                _int_array(amounts),
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
        f"SELECT id, currency, is_guarded, balance_jpy FROM {_ACCOUNTS}"  # noqa: S608
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
            f"INSERT INTO {_ENTRIES}"  # noqa: S608
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
            f"UPDATE {_ACCOUNTS} SET balance_jpy = CASE id {cases} END"  # noqa: S608
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
    _check_shape(idempotency_key=idempotency_key, reason=reason, legs=legs)
    fingerprint = _fingerprint(reason=reason, reference=reference, legs=legs)

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
        raise _refuse(
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


@dataclass(frozen=True)
class TransferRequest:
    """One transfer of a batch for transfers_create: the arguments of transfer_create."""

    idempotency_key: str
    reason: str
    legs: Sequence[Leg]
    reference: str = ""
    memo: str = ""
    created_by: User | None = None


# PostgreSQL: many transfers in one statement, as if made one after the other in the given order.
# It locks every account they touch once, in id order, computes each entry's balance after it as
# a running sum per account (legs in order), and writes only if every account exists, is in yen
# and no guarded account would go below zero at any step. Transfers whose key already exists are
# skipped by ON CONFLICT; the caller then undoes the whole statement (its savepoint) and falls back
# to transfer_create one by one, which answers replays and conflicts precisely.
_TRANSFERS_IN_ONE_STATEMENT_PG = (
    "WITH leg AS (SELECT * FROM UNNEST(%s::int[], %s::bigint[], %s::bigint[])"  # noqa: S608
    " WITH ORDINALITY AS leg(t, account_id, amount_jpy, n)),"
    " locked AS MATERIALIZED (SELECT id, currency, is_guarded, balance_jpy"
    f" FROM {_ACCOUNTS} WHERE id = ANY(%s::bigint[]) ORDER BY id FOR UPDATE),"
    " run AS MATERIALIZED (SELECT leg.t, leg.n, leg.account_id, leg.amount_jpy, locked.currency,"
    " locked.is_guarded, locked.balance_jpy + sum(leg.amount_jpy) OVER"
    " (PARTITION BY leg.account_id ORDER BY leg.n) AS after FROM leg"
    " JOIN locked ON locked.id = leg.account_id),"
    " admissible AS (SELECT (SELECT count(*) FROM locked) = %s::int AND coalesce(bool_and("
    "run.currency = %s::text AND (NOT run.is_guarded OR run.after >= 0)), false) AS yes FROM run),"
    " tr AS (SELECT * FROM UNNEST(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[],"
    " %s::bigint[]) WITH ORDINALITY AS tr(idempotency_key, fingerprint, reason, reference, memo,"
    " created_by_id, t)),"
    f" transfer AS (INSERT INTO {_TRANSFERS} (idempotency_key, fingerprint, reason, currency,"
    " reference, memo, created_by_id, created_at)"
    " SELECT tr.idempotency_key, tr.fingerprint, tr.reason, %s::text, tr.reference, tr.memo,"
    " tr.created_by_id, %s::timestamptz FROM tr, admissible WHERE admissible.yes ORDER BY tr.t"
    " ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, idempotency_key),"
    " written AS (SELECT transfer.id, tr.t FROM transfer JOIN tr"
    " ON tr.idempotency_key = transfer.idempotency_key),"
    f" entries AS (INSERT INTO {_ENTRIES}"
    " (transfer_id, account_id, amount_jpy, balance_after_jpy, created_at)"
    " SELECT written.id, run.account_id, run.amount_jpy, run.after, %s::timestamptz"
    " FROM written JOIN run ON run.t = written.t ORDER BY run.n),"
    f" balances AS (UPDATE {_ACCOUNTS} AS account SET balance_jpy = last.after"
    " FROM (SELECT DISTINCT ON (account_id) account_id, after FROM run"
    " ORDER BY account_id, n DESC) AS last"
    " WHERE account.id = last.account_id AND EXISTS (SELECT 1 FROM written))"
    " SELECT (SELECT count(*) FROM written), (SELECT array_agg(written.id ORDER BY written.t)"
    " FROM written), (SELECT yes FROM admissible)"
)


class _BatchNotWritten(Exception):
    """The one-statement batch wrote nothing usable: undo its savepoint and go one by one."""


def transfers_create(requests: Sequence[TransferRequest]) -> list[Transfer]:
    """transfer_create for many transfers at once, applied in order; the same guarantees.

    Every transfer is balanced and checked as transfer_create checks it, has its own idempotency
    key and is written only if none would overdraw a guarded account (as if made one after the
    other). On PostgreSQL they go in one statement; if any key was used before, an account is
    missing or a balance would go negative, nothing of that statement stays and the transfers
    are made one by one with transfer_create, which returns the first transfer of a replayed key
    and raises the refusal transfer_create raises. All of it inside a savepoint: if one is
    refused, none of the batch is written. Precondition: inside the caller's transaction.
    """
    require(connection.in_atomic_block, "transfers_create must run inside a transaction")
    if not requests:
        return []
    fingerprints = []
    for request in requests:
        _check_shape(
            idempotency_key=request.idempotency_key, reason=request.reason, legs=request.legs
        )
        fingerprints.append(
            _fingerprint(reason=request.reason, reference=request.reference, legs=request.legs)
        )
    if len({request.idempotency_key for request in requests}) != len(requests):
        raise _refuse(
            LedgerErrorCode.EXISTS_WITH_DIFFERENT_FIELDS,
            _("This idempotency key was already used for a different movement of money."),
            "idempotency_key",
        )
    now = clock.now()
    if connection.vendor == "postgresql":
        try:
            with transaction.atomic():
                ids = _transfers_in_one_statement(requests, fingerprints, now)
        except _BatchNotWritten:
            pass
        else:
            return [
                _transfer_row(pk, request, fingerprint, now)
                for pk, request, fingerprint in zip(ids, requests, fingerprints, strict=True)
            ]
    with transaction.atomic():
        return [
            transfer_create(
                idempotency_key=request.idempotency_key,
                reason=request.reason,
                legs=request.legs,
                reference=request.reference,
                memo=request.memo,
                created_by=request.created_by,
            )
            for request in requests
        ]


def _transfers_in_one_statement(
    requests: Sequence[TransferRequest], fingerprints: list[str], now: Any
) -> list[int]:
    created_at = connection.ops.adapt_datetimefield_value(now)
    transfer_of, account_ids, amounts = [], [], []
    for index, request in enumerate(requests, start=1):
        for leg in request.legs:
            transfer_of.append(index)
            account_ids.append(leg.account_id)
            amounts.append(leg.amount_jpy)
    distinct = sorted(set(account_ids))
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(
            _TRANSFERS_IN_ONE_STATEMENT_PG,
            [
                _int_array(transfer_of), _int_array(account_ids), _int_array(amounts),
                _int_array(distinct), len(distinct), CURRENCY,
                [request.idempotency_key for request in requests], fingerprints,
                [request.reason for request in requests],
                [request.reference for request in requests],
                [request.memo for request in requests],
                _nullable_int_array([r.created_by.pk if r.created_by else None for r in requests]),
                CURRENCY, created_at, created_at,
            ],
            prepare=True,
        )  # fmt: skip
        row = cursor.fetchone()
    assert row is not None
    written, ids, _admissible = row
    if written != len(requests):
        # Refused (nothing written) or a key seen before (some written): the savepoint goes.
        raise _BatchNotWritten
    return list(ids)


def _transfer_row(pk: int, request: TransferRequest, fingerprint: str, now: Any) -> Transfer:
    transfer = Transfer(
        pk=pk,
        idempotency_key=request.idempotency_key,
        fingerprint=fingerprint,
        reason=request.reason,
        currency=CURRENCY,
        reference=request.reference,
        memo=request.memo,
        created_by=request.created_by,
        created_at=now,
    )
    transfer._state.adding = False
    transfer._state.db = connection.alias
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


@dataclass(frozen=True)
class EscrowRelease:
    """One release of a batch for escrow_release_many: the arguments of escrow_release."""

    client: User
    worker: User
    escrow_reference: str
    amount_jpy: int
    fee_rate_bps: int
    withholding_applies: bool
    idempotency_key: str


def _accounts_by_key(wanted: dict[str, tuple[AccountKind, User | None, str]]) -> dict[str, int]:
    """{key: account id} for (kind, owner, reference) by key, the missing ones created, as
    account_get_or_create makes them; an escrow must belong to its client (the same check)."""
    found = {
        key: (pk, kind, owner_id)
        for key, pk, kind, owner_id in LedgerAccount.objects.filter(key__in=wanted).values_list(
            "key", "pk", "kind", "owner_id"
        )
    }
    missing = [key for key in wanted if key not in found]
    if missing:
        # Created as account_get_or_create creates them; one made meanwhile by another
        # transaction is kept (its key is unique) and read back below like the others.
        LedgerAccount.objects.bulk_create(
            [
                LedgerAccount(
                    key=key, kind=kind, owner=owner, reference=reference, currency=CURRENCY,
                    is_guarded=kind in GUARDED_KINDS,
                )
                for key in missing
                for kind, owner, reference in [wanted[key]]
            ],
            ignore_conflicts=True,
        )  # fmt: skip
        found.update(
            (key, (pk, kind, owner_id))
            for key, pk, kind, owner_id in LedgerAccount.objects.filter(
                key__in=missing
            ).values_list("key", "pk", "kind", "owner_id")
        )
    ids = {}
    for key, (kind, owner, _reference) in wanted.items():
        pk, found_kind, owner_id = found[key]
        if found_kind != kind or owner_id != (owner.pk if owner else None):
            raise LedgerAccountNotFound(_("No such account."))
        ids[key] = pk
    return ids


def escrow_release_many(releases: Sequence[EscrowRelease]) -> list[Transfer]:
    """escrow_release for many escrows in one go (the sweeper's batch): the same legs, keys and
    refusals, the accounts read in one query and the transfers made by transfers_create."""
    wanted: dict[str, tuple[AccountKind, User | None, str]] = {}

    def key(kind: AccountKind, owner: User | None, reference: str = "") -> str:
        account_key = _account_key(kind, owner=owner, reference=reference)
        wanted[account_key] = (kind, owner, reference)
        return account_key

    planned = []
    for release in releases:
        amount = _positive_amount(release.amount_jpy)
        split = rules.release_split(
            gross_jpy=amount, fee_rate_bps=release.fee_rate_bps,
            withholding_applies=release.withholding_applies,
        )  # fmt: skip
        legs = [(key(AccountKind.ESCROW, release.client, release.escrow_reference), -amount)]
        if split.net_jpy:
            legs.append((key(AccountKind.EARNINGS, release.worker), split.net_jpy))
        if split.fee_jpy:
            legs.append((key(AccountKind.PLATFORM_FEES, None), split.fee_jpy))
        if split.withholding_jpy:
            legs.append(
                (key(AccountKind.WITHHOLDING_PAYABLE, release.client), split.withholding_jpy)
            )
        planned.append((release, legs))
    ids = _accounts_by_key(wanted)
    return transfers_create(
        [
            TransferRequest(
                idempotency_key=release.idempotency_key,
                reason=TransferReason.ESCROW_RELEASE,
                reference=release.escrow_reference,
                legs=[Leg(ids[account_key], amount) for account_key, amount in legs],
            )
            for release, legs in planned
        ]
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
