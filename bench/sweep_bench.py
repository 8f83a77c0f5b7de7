"""The contract sweeper at scale (issue 5): 10,000 overdue milestones among 100,000 or 1,000,000.

    python bench/sweep_bench.py [--total 1000000] [--small 100000] [--overdue 10000]
                                [--repeats 2] [--batch 200] [--keep] [--diagnose]
                                [--transfer-seconds 15] [--db-ledger NAME]

It builds a database with --overdue milestones past their inspection deadline (delivered, the
client silent, the escrow really funded in the ledger) among --small, then --total milestones,
and measures on PostgreSQL:

(a) EXPLAIN (ANALYZE, BUFFERS) of the claim query the sweeper sends, at both sizes: it must use
    the partial index contracts_milestone_due;
(b) one full sweep by one worker process at --small and at --total: the two times must differ
    by less than 20 %;
(c) two worker processes against one at --total: the throughput ratio must reach 1.5, and after
    every sweep each overdue milestone is released exactly once, every escrow is empty, the event
    chains hold and `ishibashi check-books` passes;
(d) each worker's RSS after its first 1,000 milestones, at the end, and its peak;
(e) the yardstick of issue 10: ledger_bench's transfer_create at one client (its set-up and
    worker, reused) for --transfer-seconds on its own database (--db-ledger), just before each
    one-worker sweep at --total; one worker's automatic approvals per second must reach 25 % of
    its transfers per second. The anatomy also counts the statements of one whole batch.

A worker runs what `ishibashi sweep --once` and every round of `ishibashi worker` run: every
registered sweep in order (operations.sweeps), again and again until the milestone sweep
handles nothing. The worker's sleep between rounds (--interval, 5 s) is left out.

The data is built once per size in the template database (--db-template) and copied into the
working database (--db-work) before each sweep, so every sweep starts from the same rows. Both are
dropped and re-created here, and dropped at the end unless --keep. PostgreSQL is reached at
PGHOST (127.0.0.1):PGPORT (5432) as PGUSER (postgres) with PGPASSWORD if set. Prints the tables
and writes bench/results/sweep-<date>.json. Exits 1 if a check fails or a target is missed.
Runs itself under the project's .venv/bin/python if started with another interpreter.
"""

# A command-line tool: it prints its tables (T201), seeds its data (S311), signs its users up
# with a fixed password (S106) and re-runs itself under the venv (S606).
# ruff: noqa: T201, S311, S106, S606

from __future__ import annotations

import argparse
import copy
import cProfile
import datetime as dt
import io
import json
import multiprocessing as mp
import os
import pstats
import random
import resource
import shutil
import statistics
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import (
    BENCH,
    PROJECT_PYTHON,
    RESULTS,
    ROOT,
    Postgres,
    background_load,
    busy_pct,
    cpu_ticks,
    in_project_venv,
    ishibashi_env,
    log,
    machine_facts,
)

SCRATCH = BENCH / ".scratch" / "sweep"  # Ishibashi's var dir unless ISHIBASHI_VAR_DIR is set

DB_WORK = "ishibashi_bench_sweep"
DB_TEMPLATE = "ishibashi_bench_sweep_template"
DB_LEDGER = "ishibashi_bench_sweep_ledger"
READY_TIMEOUT_S = 180
RSS_AFTER = 1_000  # the first RSS sample is taken once a worker has handled this many
TARGET_SIZE_RATIO = 0.20  # |t(total) / t(small) - 1| must stay below this
TARGET_TWO_WORKERS = 1.5
# Issue 10: one worker's automatic approvals per second against transfer_create's transfers per
# second at one client, measured in the same run.
TARGET_TO_TRANSFER_CREATE = 0.25
LEDGER_WALLETS = 1_000  # ledger_bench's default

# The overdue contracts are copies of two contracts made through the services (A and B); the
# milestone at position 2 is delivered and overdue. A has a third milestone still in draft, so
# its release asks the client to fund the next one; B completes the contract.
SPLIT_A = (("事前調査", "research", 20_000), ("深夜待機", "standby", 30_000),
           ("作業完了確認", "completion_check", 20_000))  # fmt: skip
SPLIT_B = (("事前調査", "research", 40_000), ("作業完了確認", "completion_check", 20_000))
INSPECTION_DAYS = 7
# The filler contracts have 4 milestones each. By contract number mod 20: 0-15 completed (all
# released), 16-17 cancelled, 18 one delivered and in inspection (its next reminder in the
# future), 19 waiting for escrow (same). Only 18 and 19 are in the partial index.
FILLER_MILESTONES = 4


# --- PostgreSQL -------------------------------------------------------------------------------


class SweepPostgres(Postgres):
    def facts(self) -> dict[str, Any]:
        return self.current_settings(
            ("shared_buffers", "work_mem", "random_page_cost", "effective_cache_size",
             "synchronous_commit", "fsync", "default_transaction_isolation", "jit",
             "autovacuum", "max_connections")
        )  # fmt: skip

    def copy(self, source: str, target: str) -> float:
        """target := a file copy of source (which nobody may be connected to); seconds taken."""
        started = time.monotonic()
        with self.connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{target}" TEMPLATE "{source}" STRATEGY FILE_COPY')
        return round(time.monotonic() - started, 1)

    def size(self, database: str) -> int:
        with self.connect(database) as conn:
            return int(conn.execute("SELECT pg_database_size(current_database())").fetchone()[0])


# --- in the children: Django set up on the DATABASE_URL of their environment --------------------


def _django_setup() -> None:
    from ishibashi_side import _django_setup as setup

    setup()


def _status_kib(field: str) -> int:
    """A field of /proc/self/status in KiB: VmRSS now, VmHWM the peak so far."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _rss_bytes() -> int:
    return _status_kib("VmRSS") * 1024


def _model_columns(model: Any) -> list[str]:
    return [field.column for field in model._meta.concrete_fields]


def _insert_select(
    cursor: Any, model: Any, *, template_id: int, source: str, overrides: dict[str, str],
    params: dict[str, Any],
) -> int:  # fmt: skip
    """INSERT one row per row of `source` (alias s), each a copy of the template row (alias tpl)
    with `overrides` (column -> SQL expression). Columns named nowhere keep the template's value,
    so a column added to the model later needs no change here."""
    columns = _model_columns(model)
    unknown = set(overrides) - set(columns)
    if unknown:
        raise RuntimeError(f"{model.__name__} has no column {sorted(unknown)}")
    table = model._meta.db_table
    values = ", ".join(overrides.get(column, f'tpl."{column}"') for column in columns)
    names = ", ".join(f'"{column}"' for column in columns)
    cursor.execute(
        f'INSERT INTO "{table}" ({names}) SELECT {values} '  # noqa: S608 (names from the models)
        f'FROM "{table}" AS tpl, {source} WHERE tpl.id = %(template_id)s',
        {**params, "template_id": template_id},
    )
    return int(cursor.rowcount)


def _reserve_ids(cursor: Any, model: Any, count: int) -> int:
    """The first of `count` consecutive ids taken from the table's identity sequence."""
    table = model._meta.db_table
    cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [table])
    first = int(cursor.fetchone()[0])
    cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [table, first + count])
    return first


def _fill(
    cursor: Any,
    templates: dict[str, int],
    *,
    offset: int,
    contracts: int,
    milestones: int,
    clients: list[int],
    workers: list[int],
) -> list[tuple[int, int, int]]:
    """`contracts` filler contracts (with their job and proposal) and `milestones` milestones.

    Returns (milestone id, amount, client id) of those whose escrow must hold their amount.
    """  # fmt: skip
    from django.conf import settings

    from ishibashi.contracts.models import Contract, Milestone
    from ishibashi.contracts.states import MILESTONE_HOLDS_ESCROW
    from ishibashi.jobs.models import Job, Proposal

    job0 = _reserve_ids(cursor, Job, contracts)
    proposal0 = _reserve_ids(cursor, Proposal, contracts)
    contract0 = _reserve_ids(cursor, Contract, contracts)
    milestone0 = _reserve_ids(cursor, Milestone, milestones)
    params = {
        "n": contracts, "m": milestones, "off": offset, "clients": clients, "workers": workers,
        "nc": len(clients), "nw": len(workers), "job0": job0, "proposal0": proposal0,
        "contract0": contract0, "milestone0": milestone0, "per": FILLER_MILESTONES,
        "tz": settings.TIME_ZONE,
    }  # fmt: skip
    series = (
        "(SELECT g, %(off)s + g AS cg, mod(%(off)s + g, 20) AS kind "
        "FROM generate_series(1, %(n)s) AS g) AS s"
    )
    client = "(%(clients)s::bigint[])[1 + mod(s.cg, %(nc)s)]"
    worker = "(%(workers)s::bigint[])[1 + mod(s.cg, %(nw)s)]"
    _insert_select(
        cursor, Job, template_id=templates["job"], source=series, params=params,
        overrides={"id": "%(job0)s + s.g - 1", "client_id": client},
    )  # fmt: skip
    _insert_select(
        cursor, Proposal, template_id=templates["proposal"], source=series, params=params,
        overrides={"id": "%(proposal0)s + s.g - 1", "job_id": "%(job0)s + s.g - 1",
                   "worker_id": worker},
    )  # fmt: skip
    ended = "tpl.created_at + interval '20 days'"
    _insert_select(
        cursor, Contract, template_id=templates["contract"], source=series, params=params,
        overrides={
            "id": "%(contract0)s + s.g - 1", "job_id": "%(job0)s + s.g - 1",
            "proposal_id": "%(proposal0)s + s.g - 1", "client_id": client, "worker_id": worker,
            "state": "CASE WHEN s.kind < 16 THEN 'completed' WHEN s.kind < 18 THEN 'cancelled' "
                     "ELSE 'active' END",
            "ended_at": f"CASE WHEN s.kind < 18 THEN {ended} END",
            "cancelled_at": f"CASE WHEN s.kind IN (16, 17) THEN {ended} END",
        },
    )  # fmt: skip
    # t0: when the running clock of kinds 18 and 19 started, 0 to 3.4 days ago, so its first
    # reminder (half of 7 days) is 2.4 hours to 3.5 days away.
    milestone_series = (
        "(SELECT c.g, c.kind, p.p, %(milestone0)s + (c.g - 1) * %(per)s + p.p - 1 AS id, "
        " now() - make_interval(secs => mod(hashtext(c.cg::text) & 2147483647, 293760)) AS t0, "
        " CASE WHEN c.kind < 16 THEN 'released' WHEN c.kind < 18 THEN 'cancelled' "
        "  WHEN c.kind = 18 THEN (CASE p.p WHEN 1 THEN 'released' WHEN 2 THEN 'delivered' "
        "   ELSE 'draft' END) "
        "  ELSE (CASE p.p WHEN 1 THEN 'awaiting_funding' ELSE 'draft' END) END AS st "
        " FROM (SELECT g, %(off)s + g AS cg, mod(%(off)s + g, 20) AS kind "
        "       FROM generate_series(1, %(n)s) AS g) AS c, "
        "      generate_series(1, %(per)s) AS p(p) "
        " WHERE (c.g - 1) * %(per)s + p.p <= %(m)s) AS s"
    )
    running = "s.st IN ('delivered', 'awaiting_funding')"

    def when(released: str, delivered: str = "NULL", awaiting: str = "NULL") -> str:
        return (
            f"CASE s.st WHEN 'released' THEN {released} WHEN 'delivered' THEN {delivered} "
            f"WHEN 'awaiting_funding' THEN {awaiting} END"
        )

    _insert_select(
        cursor, Milestone, template_id=templates["milestone"], source=milestone_series,
        params=params,
        overrides={
            "id": "s.id", "contract_id": "%(contract0)s + s.g - 1", "position": "s.p",
            "state": "s.st",
            "funding_requested_at": when("tpl.funding_requested_at",
                                         "s.t0 - interval '3 days'", "s.t0"),
            "funded_at": when("tpl.funded_at", "s.t0 - interval '2 days'"),
            "started_at": when("tpl.started_at", "s.t0 - interval '2 days'"),
            "first_delivered_at": when("tpl.first_delivered_at", "s.t0"),
            "delivered_at": when("tpl.delivered_at", "s.t0"),
            "approved_at": when("tpl.approved_at"),
            "ended_at": "CASE s.st WHEN 'released' THEN tpl.ended_at "
                        "WHEN 'cancelled' THEN now() - interval '30 days' END",
            "legal_release_due_at": when(
                "tpl.legal_release_due_at",
                "(date_trunc('day', s.t0 AT TIME ZONE %(tz)s) + interval '59 days') "
                "AT TIME ZONE %(tz)s",
            ),
            "cancellation_requested_at": "NULL", "client_silence_expired_at": "NULL",
            "dispute_frozen": "false", "revisions_used": "0", "sweep_lease_until": "NULL",
            "clock": "CASE s.st WHEN 'delivered' THEN 'inspection' "
                     "WHEN 'awaiting_funding' THEN 'funding' ELSE '' END",
            "clock_started_at": f"CASE WHEN {running} THEN s.t0 END",
            "clock_deadline_at": f"CASE WHEN {running} THEN s.t0 + interval '7 days' END",
            "reminders_sent": "0",
            "action_due_at": f"CASE WHEN {running} THEN s.t0 + interval '3.5 days' END",
        },
    )  # fmt: skip
    cursor.execute(
        "SELECT m.id, m.amount_jpy, c.client_id FROM contracts_milestone m "
        "JOIN contracts_contract c ON c.id = m.contract_id "
        "WHERE m.id BETWEEN %s AND %s AND m.state = ANY(%s) ORDER BY m.id",
        [milestone0, milestone0 + milestones - 1, [str(s) for s in MILESTONE_HOLDS_ESCROW]],
    )
    return [(int(pk), int(amount), int(client)) for pk, amount, client in cursor.fetchall()]


def _fund_escrows(rows: list[tuple[int, int, Any]]) -> None:
    """Each milestone's escrow funded from its client's wallet as milestone_fund does (same
    idempotency key), after a deposit of exactly what the client needs for them."""
    from django.db import transaction

    from ishibashi.contracts.tests.factories import deposit
    from ishibashi.ledger import services as ledger
    from ishibashi.ledger.models import GUARDED_KINDS, AccountKind, LedgerAccount

    need: Counter[Any] = Counter()
    for _pk, amount, client in rows:
        need[client] += amount
    with transaction.atomic():
        for client, amount in need.items():
            deposit(client, amount)
        # The escrow accounts as account_get_or_create makes them, in one statement: the load
        # spends half its time there otherwise, on a savepoint and an insert per milestone.
        LedgerAccount.objects.bulk_create(
            LedgerAccount(
                key=ledger.ledger_account_key(
                    AccountKind.ESCROW, owner=client, reference=reference
                ),
                kind=AccountKind.ESCROW, owner=client, reference=reference,
                currency=ledger.CURRENCY, is_guarded=AccountKind.ESCROW in GUARDED_KINDS,
            )
            for pk, _amount, client in rows
            for reference in [f"milestone:{pk}"]
        )  # fmt: skip
    for start in range(0, len(rows), 500):
        with transaction.atomic():
            for pk, amount, client in rows[start : start + 500]:
                ledger.escrow_fund(
                    client=client, escrow_reference=f"milestone:{pk}", amount_jpy=amount,
                    idempotency_key=f"milestone:{pk}:fund",
                )  # fmt: skip


def _shift(instance: Any, delta: dt.timedelta) -> None:
    from django.db import models

    for field in instance._meta.concrete_fields:
        if isinstance(field, models.DateTimeField):
            value = getattr(instance, field.attname)
            if value is not None:
                setattr(instance, field.attname, value + delta)


def _clone(instance: Any, delta: dt.timedelta, **changes: Any) -> Any:
    twin = copy.copy(instance)
    twin.pk = twin.id = None
    twin._state = copy.copy(instance._state)
    twin._state.adding = True
    _shift(twin, delta)
    for name, value in changes.items():
        setattr(twin, name, value)
    return twin


def _shift_payload(value: Any, delta: dt.timedelta) -> Any:
    """ISO datetimes in an event's payload move with the clone; everything else stays."""
    if isinstance(value, dict):
        return {key: _shift_payload(item, delta) for key, item in value.items()}
    if isinstance(value, list):
        return [_shift_payload(item, delta) for item in value]
    if isinstance(value, str) and len(value) >= 25 and value[10:11] == "T":
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
        return (moment + delta).isoformat() if moment.tzinfo else value
    return value


class _Template:
    """One contract made through the services, with every row a copy of it needs."""

    def __init__(self, contract_id: int) -> None:
        from ishibashi.contracts.models import Contract, ContractEvent, ContractTerms, Delivery
        from ishibashi.jobs.models import ProposedMilestone

        self.contract = Contract.objects.select_related("job", "proposal").get(pk=contract_id)
        self.job, self.proposal = self.contract.job, self.contract.proposal
        self.proposed = list(ProposedMilestone.objects.filter(proposal=self.proposal))
        self.terms = list(ContractTerms.objects.filter(contract=self.contract))
        self.milestones = list(self.contract.milestones.order_by("position"))
        self.deliveries = list(
            Delivery.objects.filter(milestone__contract=self.contract).order_by("id")
        )
        self.events = list(ContractEvent.objects.filter(contract=self.contract))
        overdue = [m for m in self.milestones if m.state == "delivered"]
        assert len(overdue) == 1, overdue
        self.overdue_position = overdue[0].position


def _clone_overdue(templates: list[_Template], specs: list[tuple[int, Any, Any, float]]) -> list[
    tuple[int, int, Any]
]:  # fmt: skip
    """Copies of the template contracts, each shifted by its own delay, hashes recomputed.

    specs: (template index, client, worker, delay in seconds). Returns (milestone id, amount,
    client) of each copy's overdue milestone, for the escrow funding.
    """
    from ishibashi.contracts import clocks
    from ishibashi.contracts.events import event_body, event_hash
    from ishibashi.contracts.models import (
        Contract,
        ContractEvent,
        ContractTerms,
        Delivery,
        Milestone,
    )
    from ishibashi.jobs.models import Job, Proposal, ProposedMilestone

    deltas = [dt.timedelta(seconds=spec[3]) for spec in specs]
    jobs = Job.objects.bulk_create(
        _clone(templates[t].job, delta, client_id=client.pk)
        for (t, client, _w, _d), delta in zip(specs, deltas, strict=True)
    )
    proposals = Proposal.objects.bulk_create(
        _clone(templates[t].proposal, delta, job_id=job.pk, worker_id=worker.pk)
        for (t, _c, worker, _d), delta, job in zip(specs, deltas, jobs, strict=True)
    )
    ProposedMilestone.objects.bulk_create(
        _clone(pm, delta, proposal_id=proposal.pk)
        for (t, *_), delta, proposal in zip(specs, deltas, proposals, strict=True)
        for pm in templates[t].proposed
    )
    contracts = Contract.objects.bulk_create(
        _clone(templates[t].contract, delta, job_id=job.pk, proposal_id=proposal.pk,
               client_id=client.pk, worker_id=worker.pk)
        for (t, client, worker, _d), delta, job, proposal
        in zip(specs, deltas, jobs, proposals, strict=True)
    )  # fmt: skip
    ContractTerms.objects.bulk_create(
        _clone(terms, delta, contract_id=contract.pk)
        for (t, *_), delta, contract in zip(specs, deltas, contracts, strict=True)
        for terms in templates[t].terms
    )
    milestone_rows = []
    for (t, *_), delta, contract in zip(specs, deltas, contracts, strict=True):
        for m in templates[t].milestones:
            twin = _clone(m, delta, contract_id=contract.pk)
            if twin.first_delivered_at is not None:
                twin.legal_release_due_at = clocks.legal_release_due(twin.first_delivered_at)
            milestone_rows.append(twin)
    milestones = Milestone.objects.bulk_create(milestone_rows)
    by_contract: dict[int, dict[int, Any]] = {}
    for m in milestones:
        by_contract.setdefault(m.contract_id, {})[m.position] = m
    template_positions = [{m.pk: m.position for m in template.milestones} for template in templates]
    delivery_rows, delivery_map = [], []
    for (t, *_), delta, contract in zip(specs, deltas, contracts, strict=True):
        for d in templates[t].deliveries:
            position = template_positions[t][d.milestone_id]
            twin = _clone(d, delta, milestone_id=by_contract[contract.pk][position].pk)
            delivery_rows.append(twin)
            delivery_map.append((d.pk, twin))
    Delivery.objects.bulk_create(delivery_rows)
    event_rows = []
    mapped_deliveries = iter(delivery_map)
    for (t, client, worker, _d), delta, contract, proposal in zip(
        specs, deltas, contracts, proposals, strict=True
    ):
        template = templates[t]
        deliveries = {old: next(mapped_deliveries)[1].pk for old in
                      [d.pk for d in template.deliveries]}  # fmt: skip
        mine = by_contract[contract.pk]
        actors = {template.contract.client_id: client.pk, template.contract.worker_id: worker.pk}
        previous = template.events[0].previous_hash
        for event in template.events:
            twin = _clone(event, delta, contract_id=contract.pk)
            if event.milestone_id is not None:
                twin.milestone_id = mine[template_positions[t][event.milestone_id]].pk
            twin.actor_id = actors.get(event.actor_id, event.actor_id)
            payload = _shift_payload(event.payload, delta)
            if "proposal" in payload:
                payload["proposal"] = proposal.pk
            if "delivery" in payload:
                payload["delivery"] = deliveries.get(payload["delivery"], payload["delivery"])
            if payload.get("legal_release_due_at") and twin.milestone_id is not None:
                due = mine[template_positions[t][event.milestone_id]].legal_release_due_at
                payload["legal_release_due_at"] = due.isoformat()
            twin.payload = payload
            twin.previous_hash = previous
            twin.hash = event_hash(previous_hash=previous, event=event_body(twin))
            previous = twin.hash
            event_rows.append(twin)
    ContractEvent.objects.bulk_create(event_rows, batch_size=5_000)
    return [
        (by_contract[contract.pk][templates[t].overdue_position].pk,
         by_contract[contract.pk][templates[t].overdue_position].amount_jpy, client)
        for (t, client, *_), contract in zip(specs, contracts, strict=True)
    ]  # fmt: skip


def _templates_through_services(clients: list[Any], workers: list[Any]) -> list[int]:
    """Contracts A and B made and walked through the real services, 10 days ago, up to an
    overdue inspection whose three reminders the real sweeper sent. Returns their ids."""
    import time_machine
    from django.db import transaction
    from django.utils import timezone

    from ishibashi.contracts import clocks
    from ishibashi.contracts import services as contracts
    from ishibashi.contracts.tests.factories import deposit, hire

    start = timezone.now() - dt.timedelta(days=10)
    ids = []
    with time_machine.travel(start, tick=True):
        for index, split in enumerate((SPLIT_A, SPLIT_B)):
            client, worker = clients[index], workers[index]
            with transaction.atomic():  # the tests' transaction, here the bench's
                deposit(client, sum(amount for _t, _k, amount in split))
            contract = hire(client, worker, split=split, inspection_days=INSPECTION_DAYS)
            first, second = list(contract.milestones.order_by("position"))[:2]
            contracts.milestone_fund(client=client, milestone_id=first.pk)
            delivery = contracts.delivery_create(
                worker=worker, milestone_id=first.pk, message="調査結果を報告します。"
            )
            contracts.delivery_approve(client=client, delivery_id=delivery.pk)
            contracts.milestone_fund(client=client, milestone_id=second.pk)
            contracts.delivery_create(
                worker=worker, milestone_id=second.pk, message="待機を完了しました。"
            )
            ids.append(contract.pk)
        # The sweeper sends the inspection reminders as their times come.
        from ishibashi.contracts.models import Milestone

        delivered = list(Milestone.objects.filter(contract_id__in=ids, state="delivered"))
        assert delivered[0].clock_started_at is not None
        assert delivered[0].clock_deadline_at is not None
        times = clocks.reminder_times(delivered[0].clock_started_at, delivered[0].clock_deadline_at)
    for moment in times:
        with time_machine.travel(moment + dt.timedelta(minutes=1), tick=True):
            contracts.milestones_sweep_due()
    return ids


def build(payload: dict[str, Any]) -> dict[str, Any]:
    """The data set: users, the two templates, then copies and filler in interleaved chunks."""
    _django_setup()
    from django.conf import settings
    from django.db import connection, transaction
    from django.utils import timezone

    from ishibashi.accounts.services import user_signup
    from ishibashi.contracts.models import Contract, Milestone
    from ishibashi.ledger.models import Transfer, TransferReason

    # Sign-up hashes the password; the bench's users never log in.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    phases: dict[str, float] = {}
    started = time.monotonic()
    clients = [
        user_signup(email=f"sweep-client{i}@example.jp", password="sweep-bench-client-2026",
                    display_name=f"発注 {i}", is_client=True, is_worker=False,
                    email_verified=True)
        for i in range(payload["clients"])
    ]  # fmt: skip
    workers = [
        user_signup(email=f"sweep-worker{i}@example.jp", password="sweep-bench-worker-2026",
                    display_name=f"受注 {i}", is_client=False, is_worker=True,
                    email_verified=True)
        for i in range(payload["workers"])
    ]  # fmt: skip
    phases["users"] = round(time.monotonic() - started, 1)

    started = time.monotonic()
    template_ids = _templates_through_services(clients, workers)
    templates = [_Template(pk) for pk in template_ids]
    phases["templates_through_services"] = round(time.monotonic() - started, 1)

    overdue, total, chunks = payload["overdue"], payload["total"], payload["chunks"]
    copies = overdue - len(templates)
    copy_milestones = sum(len(templates[i % len(templates)].milestones) for i in range(copies))
    existing = Milestone.objects.count()
    filler_milestones = total - existing - copy_milestones
    if filler_milestones < 0:
        raise RuntimeError(f"--total {total} is too small for {overdue} overdue contracts")
    filler_contracts = -(-filler_milestones // FILLER_MILESTONES)

    rng = random.Random(payload["seed"])
    # Deadlines spread over the 70 hours after the templates' (3 days ago): 2 h to 3 days ago.
    specs = [
        (i % len(templates), clients[i % len(clients)], workers[i % len(workers)],
         rng.uniform(0, 70 * 3600))
        for i in range(copies)
    ]  # fmt: skip
    client_by_id = {client.pk: client for client in clients}

    template_rows = {
        "job": templates[1].job.pk, "proposal": templates[1].proposal.pk,
        "contract": templates[1].contract.pk, "milestone": templates[0].milestones[0].pk,
    }  # fmt: skip
    client_ids, worker_ids = [c.pk for c in clients], [w.pk for w in workers]
    overdue_ids = [m.pk for t in templates for m in t.milestones if m.state == "delivered"]
    fill_s = copy_s = fund_s = 0.0
    filler_done = milestones_done = copies_done = 0
    for chunk in range(chunks):
        # Filler and copies alternate, so the overdue rows are spread through the tables.
        n_contracts = filler_contracts * (chunk + 1) // chunks - filler_done
        n_milestones = min(filler_milestones - milestones_done, n_contracts * FILLER_MILESTONES)
        t0 = time.monotonic()
        to_fund: list[tuple[int, int, Any]] = []
        if n_contracts:
            with transaction.atomic(), connection.cursor() as cursor:
                held = _fill(
                    cursor, template_rows, offset=filler_done, contracts=n_contracts,
                    milestones=n_milestones, clients=client_ids, workers=worker_ids,
                )  # fmt: skip
            to_fund += [(pk, amount, client_by_id[client]) for pk, amount, client in held]
        filler_done += n_contracts
        milestones_done += n_milestones
        t1 = time.monotonic()
        part = specs[copies_done : copies * (chunk + 1) // chunks]
        copies_done += len(part)
        if part:
            with transaction.atomic():
                copied = _clone_overdue(templates, part)
            to_fund += copied
            overdue_ids.extend(pk for pk, _amount, _client in copied)
        t2 = time.monotonic()
        _fund_escrows(to_fund)
        fund_s += time.monotonic() - t2
        copy_s += t2 - t1
        fill_s += t1 - t0
    phases["filler_sql"] = round(fill_s, 1)
    phases["overdue_copies"] = round(copy_s, 1)
    phases["escrow_fund"] = round(fund_s, 1)

    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("CHECKPOINT")
    phases["vacuum_analyze"] = round(time.monotonic() - started, 1)
    now = timezone.now()
    counts = {
        "milestones": Milestone.objects.count(),
        "overdue": Milestone.objects.filter(action_due_at__lte=now).count(),
        "due_later": Milestone.objects.filter(action_due_at__gt=now).count(),
        "contracts": Contract.objects.count(),
        "release_transfers": Transfer.objects.filter(reason=TransferReason.ESCROW_RELEASE).count(),
    }
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, pg_total_relation_size(oid) FROM pg_class WHERE relname IN "
            "('contracts_milestone', 'contracts_contract', 'contracts_contractevent', "
            "'jobs_job', 'contracts_milestone_due')"
        )
        sizes = {name: int(size) for name, size in cursor.fetchall()}
    if counts["overdue"] != overdue or counts["milestones"] != total:
        raise RuntimeError(f"the data set came out wrong: {counts}")
    return {
        "phases_s": phases,
        "counts": counts,
        "relation_bytes": sizes,
        "overdue_ids": sorted(overdue_ids),
        "template_contracts": template_ids,
    }


def anatomy(payload: dict[str, Any]) -> dict[str, Any]:
    """The claim's SQL and plan, and what one overdue milestone costs; all rolled back."""
    _django_setup()
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from ishibashi.contracts.services import (
        milestone_act_on_due,
        milestones_claim_due,
        milestones_sweep_due,
    )

    now = timezone.now()
    with CaptureQueriesContext(connection) as claimed, transaction.atomic():
        ids = milestones_claim_due(now=now, batch=payload["batch"])
        transaction.set_rollback(True)
    claim_sql = next(q["sql"] for q in claimed.captured_queries if "SKIP LOCKED" in q["sql"])
    lease_sql = next(q["sql"] for q in claimed.captured_queries if q["sql"].startswith("UPDATE"))
    plans = {}
    for name, sql in (("claim", claim_sql), ("lease", lease_sql)):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            plans[name] = "\n".join(row[0] for row in cursor.fetchall())
            transaction.set_rollback(True)
    uses_index = any(
        f"{scan} using contracts_milestone_due" in plans["claim"]
        for scan in ("Index Scan", "Index Only Scan")
    )
    with CaptureQueriesContext(connection) as one, transaction.atomic():
        milestone_act_on_due(milestone_id=ids[0], now=now)
        mails = len(connection.run_on_commit)
        transaction.set_rollback(True)
    # One whole batch as the sweeper runs it (claim, the batch's transaction), rolled back too.
    # The ledger's prepared statements go straight to psycopg: counted apart.
    from ishibashi.ledger.services import batch as ledger_batch
    from ishibashi.ledger.services import transfer as ledger_transfer

    prepared = [0]
    real_one = ledger_transfer._transfer_in_one_statement
    real_many = ledger_batch._transfers_in_one_statement

    def count_one(**kwargs: Any) -> Any:
        prepared[0] += 1
        return real_one(**kwargs)

    def count_many(*args: Any) -> Any:
        prepared[0] += 1
        return real_many(*args)

    ledger_transfer._transfer_in_one_statement = count_one  # type: ignore[assignment]
    ledger_batch._transfers_in_one_statement = count_many  # type: ignore[assignment]
    try:
        with CaptureQueriesContext(connection) as whole, transaction.atomic():
            handled = milestones_sweep_due(batch=payload["batch"])
            on_commit = len(connection.run_on_commit)
            transaction.set_rollback(True)
    finally:
        ledger_transfer._transfer_in_one_statement = real_one  # type: ignore[assignment]
        ledger_batch._transfers_in_one_statement = real_many  # type: ignore[assignment]
    statements = len(whole.captured_queries) + prepared[0]
    return {
        "claimed": len(ids),
        "claim_sql": claim_sql,
        "lease_sql": lease_sql[:300],
        "plans": plans,
        "claim_uses_index": uses_index,
        "one_milestone": {
            # milestone_act_on_due: the one-milestone path the sweeper keeps for the rarer
            # deadlines. Through Django's cursor; the ledger's prepared transfer goes straight to
            # psycopg and is not in the list, and each mail's recipient lookup runs after commit.
            "statements": len(one.captured_queries),
            "sql": [q["sql"][:140] for q in one.captured_queries],
            "mails_after_commit": mails,
        },
        "one_batch": {
            # milestones_sweep_due(): the claim and the batch's transaction, inside one outer
            # transaction here (so SAVEPOINTs stand for BEGIN/COMMIT); plus the recipients' query
            # of the mails after commit (on_commit callbacks, not run here).
            "handled": handled,
            "statements": statements,
            "prepared_ledger_statements": prepared[0],
            "on_commit_callbacks": on_commit,
            "statements_per_milestone": round((statements + on_commit) / handled, 3)
            if handled
            else None,
            "sql": [q["sql"][:140] for q in whole.captured_queries],
        },
    }


def verify(payload: dict[str, Any]) -> dict[str, Any]:
    """Each overdue milestone released exactly once, its escrow empty, its chain intact."""
    _django_setup()
    from django.db.models import Count
    from django.utils import timezone

    from ishibashi.contracts.models import Contract, ContractEvent, Milestone
    from ishibashi.contracts.services import events_verify
    from ishibashi.ledger.models import LedgerAccount, Transfer, TransferReason
    from ishibashi.operations.selectors import books_problems

    ids = payload["overdue_ids"]
    references = [f"milestone:{pk}" for pk in ids]
    states = Counter(
        dict(Milestone.objects.filter(pk__in=ids).values_list("state").annotate(n=Count("id")))
    )
    releases = Counter(
        dict(
            Transfer.objects.filter(reason=TransferReason.ESCROW_RELEASE, reference__in=references)
            .values_list("reference")
            .annotate(n=Count("id"))
        )
    )
    all_releases = Transfer.objects.filter(reason=TransferReason.ESCROW_RELEASE).count()
    escrows = LedgerAccount.objects.filter(key__in=[f"escrow:{r}" for r in references])
    auto = ContractEvent.objects.filter(milestone_id__in=ids, action="auto_approve").count()
    contract_ids = list(
        Milestone.objects.filter(pk__in=ids).values_list("contract_id", flat=True).distinct()
    )
    broken = [
        contract.pk
        for contract in Contract.objects.filter(pk__in=contract_ids).only("id")
        if events_verify(contract=contract) is not None
    ]
    now = timezone.now()
    result = {
        "states": dict(states),
        "released_once": sum(1 for r in references if releases[r] == 1),
        "released_twice_or_more": sum(1 for r in references if releases[r] > 1),
        "not_released": sum(1 for r in references if releases[r] == 0),
        "release_transfers_new": all_releases - payload["release_transfers_before"],
        "escrows": escrows.count(),
        "escrows_not_empty": escrows.exclude(balance_jpy=0).count(),
        "auto_approve_events": auto,
        "contracts_checked": len(contract_ids),
        "event_chains_broken": len(broken),
        "still_due": Milestone.objects.filter(action_due_at__lte=now).count(),
        "leases_left": Milestone.objects.filter(sweep_lease_until__isnull=False).count(),
        # What `ishibashi check-books` runs: the ledger's invariants and escrow per milestone.
        "books_problems": [f"{p.check}: {p.detail}" for p in books_problems()],
    }
    n = len(ids)
    result["ok"] = (
        result["states"] == {"released": n}
        and result["released_once"] == n
        and result["release_transfers_new"] == n
        and result["escrows"] == n
        and result["escrows_not_empty"] == 0
        and result["auto_approve_events"] == n
        and result["event_chains_broken"] == 0
        and result["still_due"] == 0
        and result["leases_left"] == 0
        and not result["books_problems"]
    )
    return result


def _sweeper_main(
    index: int, env: dict[str, str], batch: int, profile: bool, ready: Any, go: Any, results: Any
) -> None:
    """One `ishibashi worker` process: set up, wait for the start, then run the worker's rounds
    (WorkerLoop.run_round: every sweep drained, then the task queue) without the sleep between
    them, until a round's milestone sweep handles nothing."""
    os.environ.update(env)
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    try:
        _django_setup()
        from django.db import connection

        from ishibashi.contracts.services import sweeps as services  # the sweeper's module
        from ishibashi.core import limits
        from ishibashi.operations import sweeps
        from ishibashi.operations.worker import WorkerLoop

        counts: Counter[str] = Counter()
        per_sweep: Counter[str] = Counter()
        errors: list[str] = []
        rss_first = [0]

        def timed(sweep: Any) -> Any:
            run = sweep.run
            if sweep.name == "milestones_due" and batch != limits.SWEEP_BATCH_MAX:
                run = lambda: services.milestones_sweep_due(batch=batch)  # noqa: E731

            def one_batch() -> int:
                t = time.perf_counter()
                try:
                    n = int(run())
                except Exception:
                    errors.append(traceback.format_exc())  # sweep_once logs it and goes on
                    raise
                finally:
                    per_sweep[sweep.name] += time.perf_counter() - t
                counts[sweep.name] += n
                if not rss_first[0] and counts["milestones_due"] >= RSS_AFTER:
                    rss_first[0] = _rss_bytes()
                return n

            return sweeps.Sweep(sweep.name, one_batch)

        # sweep_once() looks registered_sweeps up at each call: every batch is timed and counted.
        registered = sweeps.registered_sweeps
        sweeps.registered_sweeps = lambda: [timed(s) for s in registered()]  # type: ignore[assignment]
        # The claim is timed apart: milestones_sweep_due looks the name up in its module.
        claim, claim_s = services.milestones_claim_due, [0.0]

        def timed_claim(**kwargs: Any) -> list[int]:
            t = time.perf_counter()
            try:
                return claim(**kwargs)
            finally:
                claim_s[0] += time.perf_counter() - t

        services.milestones_claim_due = timed_claim  # type: ignore[assignment]
        loop = WorkerLoop(interval_seconds=0)
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        rss_ready = _rss_bytes()
    except BaseException:
        ready.put(("error", index, traceback.format_exc()))
        return
    ready.put(("ready", index, ""))
    go.wait()
    profiler = cProfile.Profile() if profile else None
    started, cpu = time.monotonic(), time.process_time()
    rounds = 0
    try:
        if profiler:
            profiler.enable()
        while not errors:
            before = counts["milestones_due"]
            loop.run_round()
            rounds += 1
            if counts["milestones_due"] == before:
                break
        if profiler:
            profiler.disable()
        if errors:
            raise RuntimeError(f"a sweep failed:\n{errors[0]}")
    except BaseException:
        results.put({"index": index, "fatal": traceback.format_exc()})
        return
    ended = time.monotonic()
    row: dict[str, Any] = {
        "index": index,
        "handled": counts["milestones_due"],
        "rounds": rounds,
        "seconds": round(ended - started, 2),
        "ended_at": ended,
        "cpu_s": round(time.process_time() - cpu, 2),
        "claim_s": round(claim_s[0], 3),
        "per_sweep_s": {name: round(s, 3) for name, s in per_sweep.items()},
        "handled_per_sweep": dict(counts),
        "rss_mib": {
            "ready": round(rss_ready / 2**20, 1),
            f"after_{RSS_AFTER}": round(rss_first[0] / 2**20, 1),
            "end": round(_rss_bytes() / 2**20, 1),
            # The peak of this process's whole life (VmHWM; ru_maxrss in KiB says the same).
            "peak": round(
                max(_status_kib("VmHWM"), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
                / 1024,
                1,
            ),
        },
    }
    if profiler:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats(50)
        row["profile"] = out.getvalue()
    results.put(row)


class ActivitySampler(threading.Thread):
    """What the sweepers' server backends are doing, sampled from pg_stat_activity 10 times a
    second: running, waiting on a lock (and which), or idle in a transaction while the client
    (Python) works."""

    def __init__(self, pg: SweepPostgres, database: str, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.pg, self.database, self.interval = pg, database, interval
        self.samples: Counter[str] = Counter()
        self.lock_waits: Counter[str] = Counter()  # by the statement that waits
        self.rounds = 0
        self.done = threading.Event()

    def run(self) -> None:
        with self.pg.connect(self.database) as conn:
            while not self.done.wait(self.interval):
                rows = conn.execute(
                    "SELECT state, wait_event_type, wait_event, left(query, 70) "
                    "FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                    "AND backend_type = 'client backend'"
                ).fetchall()
                self.rounds += 1
                for state, wait_type, wait, query in rows:
                    if state == "active" and wait_type == "Lock":
                        self.lock_waits[query] += 1
                    if state == "active" and wait_type:
                        self.samples[f"waiting: {wait_type}/{wait}"] += 1
                    elif state == "active":
                        self.samples["running"] += 1
                    else:
                        self.samples[str(state)] += 1

    def result(self) -> dict[str, Any]:
        self.done.set()
        self.join(timeout=10)
        total = sum(self.samples.values()) or 1
        return {
            "samples": self.rounds,
            "share_pct": {
                name: round(100 * n / total, 1) for name, n in self.samples.most_common()
            },
            "lock_waits_by_statement": dict(self.lock_waits.most_common(5)),
        }


def sweep_race(
    env: dict[str, str], workers: int, batch: int, *, pg: SweepPostgres, database: str,
    profile: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """Start `workers` spawned processes, open the gate when all are ready, wait until all end."""
    ctx = mp.get_context("spawn")
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    procs = [
        ctx.Process(target=_sweeper_main, args=(i, env, batch, profile, ready, go, results),
                    daemon=True)
        for i in range(workers)
    ]  # fmt: skip
    for proc in procs:
        proc.start()
    sampler = ActivitySampler(pg, database)
    try:
        for _ in range(workers):
            state, index, detail = ready.get(timeout=READY_TIMEOUT_S)
            if state == "error":
                raise RuntimeError(f"worker {index} failed during setup:\n{detail}")
        since = cpu_ticks()
        start = time.monotonic()
        go.set()
        sampler.start()
        rows = [results.get(timeout=3600) for _ in range(workers)]
    finally:
        for proc in procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.terminate()
    busy = busy_pct(since)
    activity = sampler.result()
    fatal = [row["fatal"] for row in rows if "fatal" in row]
    if fatal:
        raise RuntimeError(f"a worker crashed during the sweep:\n{fatal[0]}")
    rows.sort(key=lambda row: row["index"])
    wall = max(row.pop("ended_at") for row in rows) - start
    handled = sum(row["handled"] for row in rows)
    return {
        "workers": workers,
        "batch": batch,
        "handled": handled,
        "seconds": round(wall, 2),
        "per_second": round(handled / wall, 1),
        "machine_busy_pct": busy,
        "client_cpu_ms_per_milestone": round(1000 * sum(r["cpu_s"] for r in rows) / handled, 2)
        if handled else None,
        "server_backends": activity,
        "per_worker": rows,
    }  # fmt: skip


# --- the run ----------------------------------------------------------------------------------


def check_books(env: dict[str, str]) -> dict[str, Any]:
    from ledger_bench import check_books as ledger_check_books

    return ledger_check_books(env)


def one_size(
    args: argparse.Namespace, pg: SweepPostgres, total: int, env_work: dict[str, str],
    env_template: dict[str, str], runs: list[tuple[str, int]],
    before_run: Callable[[str, int], None] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Build `total` milestones in the template, then run each (label, workers) on a fresh copy;
    `before_run(label, workers)` runs just before each sweep (the transfer_create phase)."""
    from harness import run_in_child

    log(f"{total:,} milestones: building {args.db_template}")
    pg.recreate(args.db_template)
    migrated = check_migrate(env_template)
    started = time.monotonic()
    built = run_in_child(
        "sweep_bench:build",
        {"total": total, "overdue": args.overdue, "clients": args.clients,
         "workers": args.worker_users, "seed": args.seed, "chunks": args.chunks},
        env_template, [str(BENCH)],
    )  # fmt: skip
    overdue_ids = built.pop("overdue_ids")
    built["build_seconds"] = round(time.monotonic() - started, 1)
    built["migrate_seconds"] = migrated
    built["database_bytes"] = pg.size(args.db_template)
    log(
        f"built in {built['build_seconds']:.0f} s ({built['phases_s']}), "
        f"{built['database_bytes'] / 2**30:.2f} GiB; checking the books"
    )
    result: dict[str, Any] = {"total": total, "build": built, "runs": []}
    result["books_before"] = check_books(env_template)
    for number, (label, workers) in enumerate(runs):
        copy_s = pg.copy(args.db_template, args.db_work)
        run: dict[str, Any] = {"label": label, "copy_seconds": copy_s}
        if number == 0:
            log(f"{total:,}: the claim's plan and one milestone's statements (rolled back)")
            run["anatomy"] = run_in_child(
                "sweep_bench:anatomy", {"batch": args.batch}, env_work, [str(BENCH)]
            )
        if before_run is not None:
            before_run(label, workers)
        run["background_busy_pct_before"] = background_load(2.0)
        run["loadavg_before"] = os.getloadavg()
        log(f"{total:,}: sweep with {workers} worker(s) [{label}]")
        run["sweep"] = sweep_race(env_work, workers, args.batch, pg=pg, database=args.db_work)
        log(
            f"  {run['sweep']['handled']:,} in {run['sweep']['seconds']:.1f} s = "
            f"{run['sweep']['per_second']:.1f}/s, machine {run['sweep']['machine_busy_pct']} % busy"
        )
        run["verify"] = run_in_child(
            "sweep_bench:verify",
            {"overdue_ids": overdue_ids,
             "release_transfers_before": built["counts"]["release_transfers"]},
            env_work, [str(BENCH)],
        )  # fmt: skip
        run["check_books"] = check_books(env_work)
        log(f"  verified: {'ok' if run['verify']['ok'] else 'FAILED'}, check-books "
            f"{'ok' if run['check_books']['ok'] else 'FAILED'}")  # fmt: skip
        result["runs"].append(run)
    if args.diagnose and total == args.total:
        pg.copy(args.db_template, args.db_work)
        log(f"{total:,}: diagnose: one worker under cProfile")
        profiled = sweep_race(env_work, 1, args.batch, pg=pg, database=args.db_work, profile=True)
        result["profile"] = profiled["per_worker"][0].pop("profile")
        result["profiled_sweep"] = profiled
    return result


def check_migrate(env: dict[str, str]) -> float:
    from ledger_bench import ishibashi_command

    started = time.monotonic()
    done = ishibashi_command(env, "migrate", "--verbosity", "0", "--no-input")
    if done.returncode != 0:
        raise RuntimeError(f"ishibashi migrate failed:\n{done.stderr[-3000:]}")
    return round(time.monotonic() - started, 1)


def summarize(result: dict[str, Any], args: argparse.Namespace) -> None:
    runs = [(size, run) for size in result["sizes"].values() for run in size["runs"]]

    def median(total: int, workers: int, key: str) -> float:
        return statistics.median(
            run["sweep"][key] for size, run in runs
            if size["total"] == total and run["sweep"]["workers"] == workers
        )  # fmt: skip

    t_small, t_large = median(args.small, 1, "seconds"), median(args.total, 1, "seconds")
    cpu_small = median(args.small, 1, "client_cpu_ms_per_milestone")
    cpu_large = median(args.total, 1, "client_cpu_ms_per_milestone")
    one, two = median(args.total, 1, "per_second"), median(args.total, 2, "per_second")
    plans = {name: size["runs"][0]["anatomy"]["claim_uses_index"]
             for name, size in result["sizes"].items()}  # fmt: skip
    verified = all(run["verify"]["ok"] and run["check_books"]["ok"] for _s, run in runs)
    workers = [w for _s, run in runs for w in run["sweep"]["per_worker"]]
    growth = [w["rss_mib"]["end"] - w["rss_mib"][f"after_{RSS_AFTER}"] for w in workers
              if w["rss_mib"][f"after_{RSS_AFTER}"]]  # fmt: skip
    result["summary"] = {
        "sweep_seconds_small_median": t_small,
        "sweep_seconds_total_median": t_large,
        "size_ratio": round(t_large / t_small, 3),
        # The same comparison by the worker's own CPU per milestone, which other people's load
        # on the shared machine moves less than the wall clock.
        "size_ratio_client_cpu": round(cpu_large / cpu_small, 3),
        "one_worker_per_second_median": one,
        "two_workers_per_second_median": two,
        "two_to_one_ratio": round(two / one, 3),
        "peak_rss_mib_max": max(w["rss_mib"]["peak"] for w in workers),
        "rss_growth_after_first_1000_mib_max": round(max(growth), 1) if growth else None,
    }
    transfers = statistics.median(phase["per_second"] for phase in result["transfer_create"])
    batch = result["sizes"]["total"]["runs"][0]["anatomy"]["one_batch"]
    result["summary"].update(
        transfer_create_per_second_median=transfers,
        transfer_create_client_cpu_us_median=statistics.median(
            phase["client_cpu_us_per_transfer"] for phase in result["transfer_create"]
        ),
        one_worker_to_transfer_create=round(one / transfers, 3),
        statements_per_milestone=batch["statements_per_milestone"],
        client_cpu_ms_per_milestone_total_one_worker=cpu_large,
    )
    result["targets"] = {
        f"one worker >= {TARGET_TO_TRANSFER_CREATE} x transfer_create at one client": one
        / transfers
        >= TARGET_TO_TRANSFER_CREATE,
        "claim uses contracts_milestone_due at both sizes": all(plans.values()),
        f"|t(total)/t(small) - 1| < {TARGET_SIZE_RATIO}": abs(t_large / t_small - 1)
        < TARGET_SIZE_RATIO,
        f"two workers >= {TARGET_TWO_WORKERS} x one": two / one >= TARGET_TWO_WORKERS,
        "released exactly once, escrows empty, chains and books hold": verified
        and result["check_books_ledger"]["ok"],
    }


def table(result: dict[str, Any]) -> str:
    lines = [
        "| milestones | workers | run | handled | seconds | milestones/s | claim s | "
        "client CPU ms/milestone | peak RSS MiB | RSS after 1,000 → end MiB | machine busy | "
        "verified |",
        "| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- |",
    ]
    for name, size in result["sizes"].items():
        for run in size["runs"]:
            s = run["sweep"]
            workers = s["per_worker"]
            claim = "/".join(f"{w['claim_s']:.2f}" for w in workers)
            peak = "/".join(str(w["rss_mib"]["peak"]) for w in workers)
            rss = ", ".join(
                f"{w['rss_mib'][f'after_{RSS_AFTER}']} → {w['rss_mib']['end']}" for w in workers
            )
            verified = run["verify"]["ok"] and run["check_books"]["ok"]
            lines.append(
                f"| {size['total']:,} | {s['workers']} | {name} {run['label']} | "
                f"{s['handled']:,} | {s['seconds']:.1f} | {s['per_second']:,.1f} | {claim} | "
                f"{s['client_cpu_ms_per_milestone']} | {peak} | {rss} | "
                f"{s['machine_busy_pct']} % | {'ok' if verified else 'FAILED'} |"
            )
    summary = result["summary"]
    lines += [
        "",
        f"size ratio t(total)/t(small) = {summary['size_ratio']:.3f} "
        f"({summary['sweep_seconds_total_median']} s / {summary['sweep_seconds_small_median']} s)",
        f"two workers / one = {summary['two_to_one_ratio']:.3f} "
        f"({summary['two_workers_per_second_median']} / {summary['one_worker_per_second_median']}"
        " milestones/s)",
    ]
    lines.append(
        "one worker / transfer_create at one client = "
        f"{summary['one_worker_to_transfer_create']:.3f}"
        f" ({summary['one_worker_per_second_median']} milestones/s / "
        f"{summary['transfer_create_per_second_median']} transfers/s); "
        f"{summary['statements_per_milestone']} statements and "
        f"{summary['client_cpu_ms_per_milestone_total_one_worker']} ms client CPU per milestone"
    )
    for name, met in result["targets"].items():
        lines.append(f"target {name}: {'met' if met else 'MISSED'}")
    return "\n".join(lines)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    pg = SweepPostgres()
    var_dir = Path(os.environ.get("ISHIBASHI_VAR_DIR") or SCRATCH / "var")
    extra = {"ISHIBASHI_EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend"}
    env_work = {**ishibashi_env(pg.url(args.db_work), var_dir=var_dir, label="sweep-bench"),
                **extra}  # fmt: skip
    env_template = {
        **ishibashi_env(pg.url(args.db_template), var_dir=var_dir, label="sweep-bench"),
        **extra,
    }
    result: dict[str, Any] = {
        "machine": machine_facts(),
        "postgresql": pg.facts(),
        "options": {k: v for k, v in vars(args).items() if k != "func"},
        "background_busy_pct": {"before": background_load()},
        "loadavg": {"before": os.getloadavg()},
        "email_backend": extra["ISHIBASHI_EMAIL_BACKEND"],
        "sizes": {},
    }
    log(
        f"{result['machine']['nproc']} CPUs, {result['postgresql']['version'][:16]}, machine "
        f"{result['background_busy_pct']['before']} % busy, load {os.getloadavg()[0]:.2f}"
    )
    # The yardstick: ledger_bench's (b), transfer_create at one client, on its own database in
    # this same run, just before each one-worker sweep at --total (same server, same load).
    from ledger_bench import ishibashi_prepare, ishibashi_run

    env_ledger = ishibashi_env(pg.url(args.db_ledger), var_dir=var_dir, label="sweep-bench")
    log(f"transfer_create yardstick: {args.db_ledger}, {LEDGER_WALLETS} funded wallets")
    pg.recreate(args.db_ledger)
    wallet_ids = ishibashi_prepare(env_ledger, LEDGER_WALLETS)["wallet_ids"]
    result["transfer_create"] = []

    def transfer_phase(label: str, workers: int) -> None:
        if workers != 1:
            return
        phase = {"before_sweep": label, "background_busy_pct_before": background_load(2.0)}
        phase.update(ishibashi_run(env_ledger, wallet_ids, 1, args.transfer_seconds))
        result["transfer_create"].append(phase)
        log(f"  transfer_create, 1 client: {phase['per_second']:,.1f}/s, "
            f"{phase['client_cpu_us_per_transfer']} µs client CPU per transfer")  # fmt: skip

    # The small size before and after the large one, so a drift in other people's load
    # between the two builds shows up instead of passing for an effect of the size.
    pairs = [(f"#{i}", workers) for i in range(1, args.repeats + 1) for workers in (1, 2)]
    for name, total, runs in (
        ("small, before", args.small, [("#1", 1)]),
        ("total", args.total, pairs),
        ("small, after", args.small, [("#2", 1)]),
    ):
        result["sizes"][name] = one_size(
            args, pg, total, env_work, env_template, runs,
            before_run=transfer_phase if name == "total" else None,
        )  # fmt: skip
    result["check_books_ledger"] = check_books(env_ledger)
    if not args.keep:
        pg.drop(args.db_work)
        pg.drop(args.db_template)
        pg.drop(args.db_ledger)
    result["background_busy_pct"]["after"] = background_load()
    result["loadavg"]["after"] = os.getloadavg()
    summarize(result, args)
    return result


def main() -> int:
    if not in_project_venv():
        in_venv = Path(sys.prefix).resolve() == (ROOT / ".venv").resolve()
        if not in_venv and PROJECT_PYTHON.exists():
            os.execv(str(PROJECT_PYTHON), [str(PROJECT_PYTHON), __file__, *sys.argv[1:]])
        sys.exit("run `make install` first: the benchmark needs the project's .venv")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--total", type=int, default=1_000_000, help="milestones, large size")
    parser.add_argument("--small", type=int, default=100_000, help="milestones, small size")
    parser.add_argument("--overdue", type=int, default=10_000, help="overdue milestones")
    parser.add_argument(
        "--repeats", type=int, default=1, help="pairs of sweeps (1 worker, 2 workers) at --total"
    )
    parser.add_argument("--batch", type=int, default=0,
                        help="claim batch (default: the app's SWEEP_BATCH_MAX)")  # fmt: skip
    parser.add_argument("--clients", type=int, default=100, help="clients (overdue contracts)")
    parser.add_argument("--worker-users", type=int, default=1000, help="workers (people)")
    parser.add_argument("--chunks", type=int, default=20, help="interleaved load chunks")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--db-work", default=DB_WORK)
    parser.add_argument("--db-template", default=DB_TEMPLATE)
    parser.add_argument("--db-ledger", default=DB_LEDGER,
                        help="the transfer_create yardstick's database")  # fmt: skip
    parser.add_argument("--transfer-seconds", type=float, default=15.0,
                        help="length of each transfer_create phase")  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    parser.add_argument("--diagnose", action="store_true",
                        help="also cProfile one worker's sweep at --total")  # fmt: skip
    parser.add_argument("--out", type=Path, default=None, help="results file")
    args = parser.parse_args()
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    if not args.batch:
        from ishibashi.core import limits

        args.batch = limits.SWEEP_BATCH_MAX
    SCRATCH.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(exist_ok=True)

    started = time.monotonic()
    result = measure(args)
    result["elapsed_seconds"] = round(time.monotonic() - started, 1)
    out = args.out or RESULTS / f"sweep-{result['machine']['date'][:10]}.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n")
    if not args.keep:
        shutil.rmtree(SCRATCH, ignore_errors=True)
    print(table(result))
    for name, size in result["sizes"].items():
        anatomy_ = size["runs"][0]["anatomy"]
        plan = anatomy_["plans"]["claim"].splitlines()
        print(f"\nclaim plan at {size['total']:,} ({name}):\n  " + "\n  ".join(plan))
    print(f"\nwrote {out} in {result['elapsed_seconds']:.0f} s")
    return 0 if all(result["targets"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
