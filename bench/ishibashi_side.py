"""Ishibashi's side of the ledger benchmark; runs in spawned children of ledger_bench.py.

Every function here sets Django up itself, with DATABASE_URL already in its environment, so
one parent can measure PostgreSQL and SQLite without reconfiguring Django in-process.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import random
import time
import uuid
from typing import Any

OPENING_JPY = 100_000_000  # per wallet; a transfer moves ¥1 to ¥10,000, so none can overdraw
WARM_UP_TRANSFERS = 20


def _django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ishibashi.config.settings")
    import django

    django.setup()


def setup(payload: dict[str, Any]) -> dict[str, Any]:
    """N client users with a wallet each (guarded), every wallet funded from provider clearing."""
    _django_setup()
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction

    from ishibashi.accounts.models import User
    from ishibashi.core import limits
    from ishibashi.ledger.models import AccountKind, TransferReason
    from ishibashi.ledger.services import Leg, account_get_or_create, transfer_create

    accounts = payload["accounts"]
    unusable = make_password(None)
    with transaction.atomic():
        users = User.objects.bulk_create(
            [
                User(email=f"bench{i}@example.invalid", display_name=f"bench {i}",
                     is_client=True, password=unusable)
                for i in range(accounts)
            ],
            batch_size=500,
        )  # fmt: skip
        wallets = [account_get_or_create(kind=AccountKind.WALLET, owner=user) for user in users]
        clearing = account_get_or_create(kind=AccountKind.PROVIDER_CLEARING)
        # A transfer has at most TRANSFER_LEGS_MAX legs: clearing plus up to 7 wallets each.
        per_transfer = limits.TRANSFER_LEGS_MAX - 1
        for start in range(0, accounts, per_transfer):
            chunk = wallets[start : start + per_transfer]
            transfer_create(
                idempotency_key=f"bench-opening-{start}", reason=TransferReason.DEPOSIT,
                legs=[Leg(clearing.pk, -OPENING_JPY * len(chunk)),
                      *(Leg(wallet.pk, OPENING_JPY) for wallet in chunk)],
            )  # fmt: skip
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    return {"accounts": accounts, "opening_jpy": OPENING_JPY,
            "wallet_ids": [wallet.pk for wallet in wallets]}  # fmt: skip


def _transfer_maker(wallet_ids: list[int], seed: int) -> Any:
    from django.db import transaction

    from ishibashi.ledger.models import TransferReason
    from ishibashi.ledger.services import Leg, transfer_create

    rng = random.Random(seed)

    def one() -> None:
        source, target = rng.sample(wallet_ids, 2)
        amount = rng.randint(1, 10_000)
        with transaction.atomic():
            transfer_create(
                idempotency_key=uuid.uuid4().hex, reason=TransferReason.ADJUSTMENT,
                legs=[Leg(source, -amount), Leg(target, amount)],
            )  # fmt: skip

    return one


def worker(payload: dict[str, Any], index: int) -> tuple[Any, tuple[type[BaseException], ...]]:
    """Called by harness.run_workers in each spawned process: set up, warm up, return one()."""
    _django_setup()
    from django.db import OperationalError

    one = _transfer_maker(payload["wallet_ids"], payload["seed"] * 1000 + index)
    for _ in range(WARM_UP_TRANSFERS):
        one()
    return one, (OperationalError,)


def anatomy(payload: dict[str, Any]) -> dict[str, Any]:
    """The SQL of one transfer, and where one worker's time goes (mean µs per transfer)."""
    _django_setup()
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from ishibashi.ledger.models import TransferReason
    from ishibashi.ledger.services import Leg, transfer_create

    one = _transfer_maker(payload["wallet_ids"], 99)
    for _ in range(WARM_UP_TRANSFERS):
        one()
    with CaptureQueriesContext(connection) as captured:
        one()
    sql = [query["sql"][:160] for query in captured.captured_queries]

    sql_ns = 0

    def timed(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal sql_ns
        started = time.perf_counter_ns()
        try:
            return execute(sql, params, many, context)
        finally:
            sql_ns += time.perf_counter_ns() - started

    rng = random.Random(5)
    ids = payload["wallet_ids"]
    samples = payload.get("transfers", 500)
    total_ns = body_ns = commit_ns = begin_ns = 0
    with connection.execute_wrapper(timed):
        for _ in range(samples):
            source, target = rng.sample(ids, 2)
            amount = rng.randint(1, 10_000)
            t0 = time.perf_counter_ns()
            with transaction.atomic():
                t1 = time.perf_counter_ns()
                transfer_create(
                    idempotency_key=uuid.uuid4().hex, reason=TransferReason.ADJUSTMENT,
                    legs=[Leg(source, -amount), Leg(target, amount)],
                )  # fmt: skip
                t2 = time.perf_counter_ns()
            t3 = time.perf_counter_ns()
            begin_ns += t1 - t0
            body_ns += t2 - t1
            commit_ns += t3 - t2
            total_ns += t3 - t0
    # BEGIN is sent with the first statement, so it is inside the SQL time; COMMIT is not.
    us = 1000 * samples
    return {
        "queries_per_transfer": len(sql),
        "sql": sql,
        "samples": samples,
        "mean_us": {
            "total": round(total_ns / us),
            "sql_round_trips": round(sql_ns / us),
            "commit": round(commit_ns / us),
            "python": round((total_ns - sql_ns - commit_ns) / us),
        },
    }


def profile(payload: dict[str, Any]) -> str:
    """cProfile one worker for `seconds`; the top functions by own time and by cumulative time."""
    _django_setup()
    one = _transfer_maker(payload["wallet_ids"], 1234)
    for _ in range(WARM_UP_TRANSFERS):
        one()
    profiler = cProfile.Profile()
    count = 0
    end = time.monotonic() + payload["seconds"]
    profiler.enable()
    while time.monotonic() < end:
        one()
        count += 1
    profiler.disable()
    out = io.StringIO()
    out.write(f"{count} transfers in {payload['seconds']} s under cProfile\n")
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(40)
    return out.getvalue()
