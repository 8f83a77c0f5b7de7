"""The fault suite's Django-side helpers, run as a subprocess on the DATABASE_URL it is given.

    python tests/faults/actors.py overdue N     # N milestones past their inspection deadline
    python tests/faults/actors.py verify        # what must hold after a fault, as JSON
    python tests/faults/actors.py later SECONDS ishibashi-args…   # the CLI, SECONDS from now

The suite's own process never opens Django's connection (pytest-django guards it); everything
that needs the app's models runs here, in a process of its own like the app's.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from typing import Any

# Research milestones are delivered with a report alone (no files); a contract has up to 12.
MILESTONES_PER_CONTRACT = 12
RESEARCH_JPY = 20_000


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ishibashi.config.settings")
    import django

    django.setup()


def overdue(count: int) -> dict[str, Any]:
    """`count` milestones delivered 10 days ago with a 7-day inspection the client let pass.

    Made through the services, under a clock moved 10 days back (time-machine, the project's
    way of moving time): each contract is hired, its first milestone funded from a real deposit
    (the escrow really holds the money in the ledger) and delivered, and the client says
    nothing. Prints the milestones' ids.
    """
    _setup()
    import time_machine
    from django.conf import settings
    from django.db import transaction
    from django.utils import timezone

    from ishibashi.accounts.services import user_signup
    from ishibashi.contracts import services as contracts
    from ishibashi.contracts.tests.factories import deposit, hire

    # Sign-up hashes the password; these people never log in.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    ids = []
    with time_machine.travel(timezone.now() - dt.timedelta(days=10), tick=True):
        client = user_signup(
            email="faults-sweep-client@example.jp", password="hashi-wo-tataku-2026",
            display_name="発注 太郎", is_client=True, is_worker=False, email_verified=True,
        )  # fmt: skip
        worker = user_signup(
            email="faults-sweep-worker@example.jp", password="hashi-wo-tataku-2026",
            display_name="受注 花子", is_client=False, is_worker=True, email_verified=True,
        )  # fmt: skip
        contracts_needed = -(-count // MILESTONES_PER_CONTRACT)
        with transaction.atomic():
            deposit(client, RESEARCH_JPY * contracts_needed * MILESTONES_PER_CONTRACT)
        split = [(f"事前調査 {n + 1}", "research", RESEARCH_JPY)
                 for n in range(MILESTONES_PER_CONTRACT)]  # fmt: skip
        for _ in range(contracts_needed):
            contract = hire(client, worker, split=split, inspection_days=7)
            for milestone in contract.milestones.order_by("position"):
                if len(ids) == count:
                    break
                contracts.milestone_fund(client=client, milestone_id=milestone.pk)
                contracts.delivery_create(
                    worker=worker, milestone_id=milestone.pk, message="調査が完了しました。"
                )
                ids.append(milestone.pk)
    return {"milestones": ids}


def verify() -> dict[str, Any]:
    """Every contract's event chain, leases left behind, and each milestone's money movements."""
    _setup()
    from django.db.models import Count, Q
    from django.utils import timezone

    from ishibashi.contracts.models import Contract, ContractEvent, Milestone
    from ishibashi.contracts.services import events_verify
    from ishibashi.ledger.models import AccountKind, LedgerAccount, Transfer

    now = timezone.now()
    broken = {}
    for contract in Contract.objects.order_by("pk"):
        sequence = events_verify(contract=contract)
        if sequence is not None:
            broken[contract.pk] = sequence
    # A lease in the past on a milestone that is due: a claim that lapsed and nobody took up.
    stuck = list(
        Milestone.objects.filter(action_due_at__lte=now, sweep_lease_until__lt=now).values_list(
            "pk", flat=True
        )
    )
    leased = list(Milestone.objects.filter(sweep_lease_until__gte=now).values_list("pk", flat=True))
    transfers: dict[str, dict[str, int]] = {}
    for reference, reason, n in (
        Transfer.objects.filter(reference__startswith="milestone:")
        .values_list("reference", "reason")
        .annotate(n=Count("pk"))
    ):
        transfers.setdefault(reference, {})[reason] = n
    events: dict[int, dict[str, int]] = {}
    for milestone_id, action, n in (
        ContractEvent.objects.filter(milestone__isnull=False)
        .values_list("milestone_id", "action")
        .annotate(n=Count("pk"))
    ):
        events.setdefault(milestone_id, {})[action] = n
    escrows = dict(
        LedgerAccount.objects.filter(kind=AccountKind.ESCROW).values_list(
            "reference", "balance_jpy"
        )
    )
    milestones = {
        m.pk: {
            "state": m.state,
            "amount_jpy": m.amount_jpy,
            "escrow_jpy": escrows.get(m.escrow_reference, 0),
            "lease": m.sweep_lease_until,
        }
        for m in Milestone.objects.order_by("pk")
    }
    due = Milestone.objects.filter(Q(action_due_at__lte=now)).count()
    return {
        "contracts": Contract.objects.count(),
        "chains_broken": broken,
        "stuck_leases": stuck,
        "leased_now": leased,
        "due_now": due,
        "milestones": milestones,
        "transfers": transfers,
        "events": events,
    }


def deposits() -> dict[str, Any]:
    """Each succeeded deposit credited exactly once, nothing credited for any other."""
    _setup()
    from django.db.models import Count

    from ishibashi.ledger.models import Transfer
    from ishibashi.payments.models import Deposit

    credits = dict(
        Transfer.objects.filter(reference__startswith="deposit:")
        .values_list("reference")
        .annotate(n=Count("pk"))
    )
    wrong = []
    statuses: dict[str, int] = {}
    for deposit in Deposit.objects.order_by("pk"):
        statuses[deposit.status] = statuses.get(deposit.status, 0) + 1
        expected = 1 if deposit.status == "succeeded" else 0
        if credits.get(f"deposit:{deposit.pk}", 0) != expected:
            wrong.append([deposit.pk, deposit.status, credits.get(f"deposit:{deposit.pk}", 0)])
    succeeded = Deposit.objects.filter(status="succeeded").values_list("amount_jpy", flat=True)
    return {
        "succeeded_jpy": sum(succeeded),
        "statuses": statuses,
        "pending": statuses.get("pending", 0),
        "credited_not_once": wrong,
    }


def later(seconds: float, argv: list[str]) -> int:
    """The ishibashi command with the clock moved `seconds` ahead, and ticking from there.

    time-machine moves what core.clock.now() reads, as the unit tests do: a worker started
    "six minutes later" sees a five-minute sweep lease as lapsed, without the suite sleeping.
    """
    import time_machine
    from django.utils import timezone

    from ishibashi.config.cli import main as cli

    with time_machine.travel(timezone.now() + dt.timedelta(seconds=seconds), tick=True):
        return cli(argv)


def main(argv: list[str]) -> int:
    command = argv[0]
    if command == "later":
        return later(float(argv[1]), argv[2:])
    if command == "overdue":
        result = overdue(int(argv[1]))
    elif command == "deposits":
        result = deposits()
    elif command == "verify":
        result = verify()
    else:
        raise SystemExit(f"unknown command {command!r}")
    sys.stdout.write(json.dumps(result, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
