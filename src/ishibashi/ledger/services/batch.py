"""Many transfers in one statement, all or nothing (the sweeper's releases)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from django.db import connection, transaction
from django.utils.translation import gettext_lazy as _

from ishibashi.accounts.models import User
from ishibashi.core import clock
from ishibashi.core.invariants import require
from ishibashi.ledger.errors import (
    LedgerErrorCode,
)
from ishibashi.ledger.models import (
    Transfer,
)
from ishibashi.ledger.services.accounts import CURRENCY
from ishibashi.ledger.services.transfer import (
    ACCOUNTS_TABLE,
    ENTRIES_TABLE,
    TRANSFERS_TABLE,
    Leg,
    check_shape,
    int_array_literal,
    ledger_refusal,
    nullable_int_array_literal,
    transfer_create,
    transfer_fingerprint,
)


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
    f" FROM {ACCOUNTS_TABLE} WHERE id = ANY(%s::bigint[]) ORDER BY id FOR UPDATE),"
    " run AS MATERIALIZED (SELECT leg.t, leg.n, leg.account_id, leg.amount_jpy, locked.currency,"
    " locked.is_guarded, locked.balance_jpy + sum(leg.amount_jpy) OVER"
    " (PARTITION BY leg.account_id ORDER BY leg.n) AS after FROM leg"
    " JOIN locked ON locked.id = leg.account_id),"
    " admissible AS (SELECT (SELECT count(*) FROM locked) = %s::int AND coalesce(bool_and("
    "run.currency = %s::text AND (NOT run.is_guarded OR run.after >= 0)), false) AS yes FROM run),"
    " tr AS (SELECT * FROM UNNEST(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[],"
    " %s::bigint[]) WITH ORDINALITY AS tr(idempotency_key, fingerprint, reason, reference, memo,"
    " created_by_id, t)),"
    f" transfer AS (INSERT INTO {TRANSFERS_TABLE} (idempotency_key, fingerprint, reason, currency,"
    " reference, memo, created_by_id, created_at)"
    " SELECT tr.idempotency_key, tr.fingerprint, tr.reason, %s::text, tr.reference, tr.memo,"
    " tr.created_by_id, %s::timestamptz FROM tr, admissible WHERE admissible.yes ORDER BY tr.t"
    " ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, idempotency_key),"
    " written AS (SELECT transfer.id, tr.t FROM transfer JOIN tr"
    " ON tr.idempotency_key = transfer.idempotency_key),"
    f" entries AS (INSERT INTO {ENTRIES_TABLE}"
    " (transfer_id, account_id, amount_jpy, balance_after_jpy, created_at)"
    " SELECT written.id, run.account_id, run.amount_jpy, run.after, %s::timestamptz"
    " FROM written JOIN run ON run.t = written.t ORDER BY run.n),"
    f" balances AS (UPDATE {ACCOUNTS_TABLE} AS account SET balance_jpy = last.after"
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
        check_shape(
            idempotency_key=request.idempotency_key, reason=request.reason, legs=request.legs
        )
        fingerprints.append(
            transfer_fingerprint(
                reason=request.reason, reference=request.reference, legs=request.legs
            )
        )
    if len({request.idempotency_key for request in requests}) != len(requests):
        raise ledger_refusal(
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
                int_array_literal(transfer_of), int_array_literal(account_ids),
                int_array_literal(amounts), int_array_literal(distinct), len(distinct), CURRENCY,
                [request.idempotency_key for request in requests], fingerprints,
                [request.reason for request in requests],
                [request.reference for request in requests],
                [request.memo for request in requests],
                nullable_int_array_literal(
                    [r.created_by.pk if r.created_by else None for r in requests]
                ),
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
