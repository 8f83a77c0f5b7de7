"""django-hordak's side of the ledger benchmark; run with bench/.venv-hordak/bin/python.

    hordak_bench.py setup  --accounts 1000
    hordak_bench.py run    --mode plain|guarded --workers 8 --seconds 15
    hordak_bench.py check

DATABASE_URL names the (already created, empty) PostgreSQL database. Each command prints one
JSON object on its last line of stdout; ledger_bench.py reads it.

Modes:
  plain    Account.transfer_to(): what hordak gives out of the box. One transaction, a
           Transaction row and two Leg rows (its trigger checks the legs sum to zero). No row
           lock, no balance check, no idempotency key: it does less than Ishibashi's transfer.
  guarded  The same plus what a wallet needs and Ishibashi does: lock both accounts in id
           order (SELECT ... FOR UPDATE), read the source balance (hordak keeps no cached
           balance: a SUM over the account's legs) and refuse an overdraft, then transfer_to().
           Still no idempotency key.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BENCH = HERE.parent
OPENING_JPY = 100_000_000
WARM_UP_TRANSFERS = 20


def _django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    import django

    django.setup()


def setup(accounts: int) -> dict[str, Any]:
    _django_setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from hordak.models import Account, AccountType
    from moneyed import Money

    call_command("migrate", interactive=False, verbosity=0)
    with transaction.atomic():
        equity = Account.objects.create(
            name="Opening balances", type=AccountType.equity, currencies=["JPY"]
        )
        wallets = [
            Account.objects.create(name=f"wallet {i}", type=AccountType.asset, currencies=["JPY"])
            for i in range(accounts)
        ]
        # Equity -> asset raises both: every wallet starts with ¥100,000,000.
        for wallet in wallets:
            equity.transfer_to(wallet, Money(OPENING_JPY, "JPY"), description="opening")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return {"accounts": accounts, "opening_jpy": OPENING_JPY}


def worker(payload: dict[str, Any], index: int) -> tuple[Any, tuple[type[BaseException], ...]]:
    """Called by harness.run_workers in each spawned process: set up, warm up, return one()."""
    _django_setup()
    from django.db import OperationalError, transaction
    from hordak.models import Account, AccountType
    from moneyed import Money

    rng = random.Random(payload["seed"] * 1000 + index)
    wallets = list(Account.objects.filter(type=AccountType.asset).order_by("pk"))
    guarded = payload["mode"] == "guarded"

    def plain() -> None:
        source, target = rng.sample(wallets, 2)
        source.transfer_to(target, Money(rng.randint(1, 10_000), "JPY"), description="adjustment")

    def with_guard() -> None:
        source, target = rng.sample(wallets, 2)
        amount = Money(rng.randint(1, 10_000), "JPY")
        with transaction.atomic():
            ids = sorted((source.pk, target.pk))
            list(Account.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
            balance = source.get_simple_balance()["JPY"]
            if balance < amount:
                raise RuntimeError(f"{source} would overdraw")
            source.transfer_to(target, amount, description="adjustment")

    one = with_guard if guarded else plain
    for _ in range(WARM_UP_TRANSFERS):
        one()
    return one, (OperationalError,)


def queries_per_transfer(mode: str) -> dict[str, Any]:
    _django_setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    one, _ = worker({"seed": 7, "mode": mode}, 0)
    with CaptureQueriesContext(connection) as captured:
        one()
    return {"count": len(captured), "sql": [q["sql"][:160] for q in captured.captured_queries]}


def check() -> dict[str, Any]:
    _django_setup()
    from django.db.models import Count, F, Q, Sum
    from hordak.models import Account, Leg, Transaction

    Account.validate_accounting_equation()  # raises if the books do not sum to zero
    unbalanced = (
        Leg.objects.values("transaction_id")
        .annotate(credit=Sum("credit"), debit=Sum("debit"), legs=Count("id"))
        .filter(~Q(credit=F("debit")) | Q(legs__lt=2))
        .count()
    )
    return {
        "ok": unbalanced == 0,
        "transactions": Transaction.objects.count(),
        "legs": Leg.objects.count(),
        "unbalanced_transactions": unbalanced,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    p_setup = sub.add_parser("setup")
    p_setup.add_argument("--accounts", type=int, default=1000)
    p_run = sub.add_parser("run")
    p_run.add_argument("--mode", choices=["plain", "guarded"], default="plain")
    p_run.add_argument("--workers", type=int, required=True)
    p_run.add_argument("--seconds", type=float, required=True)
    p_run.add_argument("--seed", type=int, default=1)
    p_queries = sub.add_parser("queries")
    p_queries.add_argument("--mode", choices=["plain", "guarded"], default="plain")
    sub.add_parser("check")
    args = parser.parse_args()

    if args.command == "setup":
        result = setup(args.accounts)
    elif args.command == "run":
        sys.path.insert(0, str(BENCH))
        from harness import run_workers

        result = run_workers(
            target="hordak_bench:worker", workers=args.workers, seconds=args.seconds,
            payload={"mode": args.mode, "seed": args.seed},
            env={"DATABASE_URL": os.environ["DATABASE_URL"],
                 "DJANGO_SETTINGS_MODULE": "settings"},
            sys_path=[str(HERE), str(BENCH)],
        )  # fmt: skip
    elif args.command == "queries":
        result = queries_per_transfer(args.mode)
    else:
        result = check()
    import django

    result["django"] = django.get_version()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
