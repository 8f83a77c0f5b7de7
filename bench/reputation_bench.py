"""The client reliability profile's read cost: a client with 10 contracts and one with 100,000.

    python bench/reputation_bench.py [--contracts 100000] [--reads 300] [--keep]

On PostgreSQL (database ishibashi_h_reputation_bench at PGHOST (127.0.0.1):PGPORT (5432) as
PGUSER (postgres), created here and dropped at the end unless --keep): migrate; build the small
client's 10 contracts through the services with the clock moved (7 approved by hand, 3 left to
the inspection deadline and approved automatically by the sweeper, with worker messages and the
client's replies); build one such contract for the large client the same way, then copy it in
SQL until they have --contracts contracts (jobs, proposals, contracts, milestones, events and
messages, each copy pointing at its own rows); then `ishibashi rebuild-reputation --fix`
recounts the large client's counters from those rows, and a second run must find no difference.

Timed: GET /api/v1/clients/{id}/reliability and GET /accounts/users/{id}/ (the public profile
with the full section) through Django's test client in this process, interleaved, --reads times
each per client after 20 warm-up reads; the queries of one read are counted. Prints the table
and writes bench/results/reputation-<date>.json. Exits 1 if the two clients' query counts differ
or the large client's p50 is more than 20 % above the small one's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from common import (
    BENCH,
    PROJECT_PYTHON,
    RESULTS,
    Postgres,
    background_load,
    busy_pct,
    cpu_ticks,
    in_project_venv,
    ishibashi_env,
    log,
    machine_facts,
)

DB = "ishibashi_h_reputation_bench"
SCRATCH = BENCH / ".scratch" / "reputation"
START = dt.datetime(2025, 1, 6, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=9)))


def _copy_sql(table: str, columns: list[str], replace: dict[str, str], source: str) -> str:
    """INSERT INTO table (columns but id) SELECT each column, or its replacement, FROM source."""
    cols = [c for c in columns if c != "id"]
    picked = [replace.get(c, f"t.{c}") for c in cols]
    return f"INSERT INTO {table} ({', '.join(cols)}) SELECT {', '.join(picked)} FROM {source}"


def _columns(model: Any) -> list[str]:
    return [f.column for f in model._meta.concrete_fields]


def build(contracts: int) -> dict[str, Any]:
    from django.db import connection

    from ishibashi.accounts.services import user_signup
    from ishibashi.contracts.models import Contract, ContractEvent, ContractMessage, Milestone
    from ishibashi.contracts.services import contract_message_post, delivery_create
    from ishibashi.jobs.models import Job, Proposal
    from ishibashi.reputation.tests.stories import DAY, HOUR, Story, client_with_auto_approvals

    def person(name: str, *, client: bool) -> Any:
        return user_signup(
            email=f"{name}@example.jp", password="bench-password-123", display_name=name,
            is_client=client, is_worker=not client, email_verified=True,
        )  # fmt: skip

    small = person("small-client", client=True)
    large = person("large-client", client=True)
    worker = person("worker", client=False)
    log("small client: 10 contracts through the services (3 approved automatically)")
    client_with_auto_approvals(small, worker, contracts=10, automatic=3, start=START)
    log("large client: one template contract through the services, then SQL copies")
    from ishibashi.contracts.tests.factories import deposit

    deposit(large, 10_000)
    story = Story(START)
    try:
        # Escrow, a question answered three hours later, a delivery left to the deadline.
        template, milestone = story.started(large, worker)
        contract_message_post(author=worker, contract_id=template.pk, body="ご確認ください。")
        story.move(3 * HOUR)
        contract_message_post(author=large, contract_id=template.pk, body="確認しました。")
        story.move(HOUR)
        delivery_create(worker=worker, milestone_id=milestone.pk, message="報告します。")
        story.move(template.inspection_days * DAY + HOUR)
        story.sweep()
    finally:
        story.stop()
    job_id, proposal_id = template.job_id, template.proposal_id
    milestone_id = milestone.pk
    copies = contracts - 1
    started = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("SELECT max(id) FROM jobs_job")
        job_floor = cur.fetchone()[0]
        cur.execute(
            _copy_sql("jobs_job", _columns(Job), {}, f"jobs_job t, generate_series(1, {copies}) g")
            + f" WHERE t.id = {job_id}"
        )
        cur.execute("SELECT max(id) FROM jobs_proposal")
        proposal_floor = cur.fetchone()[0]
        cur.execute(
            _copy_sql(
                "jobs_proposal", _columns(Proposal), {"job_id": "j.id"},
                f"jobs_proposal t, (SELECT id FROM jobs_job WHERE id > {job_floor}) j",
            )
            + f" WHERE t.id = {proposal_id}"
        )  # fmt: skip
        cur.execute("SELECT max(id) FROM contracts_contract")
        contract_floor = cur.fetchone()[0]
        cur.execute(
            _copy_sql(
                "contracts_contract", _columns(Contract),
                {"job_id": "p.job_id", "proposal_id": "p.id"},
                "contracts_contract t, "
                f"(SELECT id, job_id FROM jobs_proposal WHERE id > {proposal_floor}) p",
            )
            + f" WHERE t.id = {template.pk}"
        )  # fmt: skip
        cur.execute("SELECT max(id) FROM contracts_milestone")
        milestone_floor = cur.fetchone()[0]
        cur.execute(
            _copy_sql(
                "contracts_milestone", _columns(Milestone), {"contract_id": "c.id"},
                f"contracts_milestone t, (SELECT id FROM contracts_contract WHERE id > "
                f"{contract_floor}) c",
            )
            + f" WHERE t.id = {milestone_id}"
        )  # fmt: skip
        pairs = (
            f"(SELECT c.id AS cid, m.id AS mid FROM contracts_contract c JOIN contracts_milestone "
            f"m ON m.contract_id = c.id WHERE c.id > {contract_floor}) x"
        )
        cur.execute(
            _copy_sql(
                "contracts_contractevent", _columns(ContractEvent),
                {"contract_id": "x.cid",
                 "milestone_id": "CASE WHEN t.milestone_id IS NULL THEN NULL ELSE x.mid END"},
                f"contracts_contractevent t, {pairs}",
            )
            + f" WHERE t.contract_id = {template.pk}"
        )  # fmt: skip
        cur.execute(
            _copy_sql(
                "contracts_contractmessage", _columns(ContractMessage), {"contract_id": "x.cid"},
                f"contracts_contractmessage t, {pairs}",
            )
            + f" WHERE t.contract_id = {template.pk}"
        )  # fmt: skip
        cur.execute("ANALYZE")
    copied = time.perf_counter() - started
    log(f"copied {copies:,} contracts in {copied:.1f} s")
    return {"small": small.pk, "large": large.pk, "copy_seconds": round(copied, 1)}


def rebuild() -> dict[str, Any]:
    from ishibashi.reputation.services import reputation_rebuild

    started = time.perf_counter()
    fixed = reputation_rebuild(fix=True)
    seconds = time.perf_counter() - started
    again = reputation_rebuild()
    log(f"rebuild --fix: {len(fixed)} counters written in {seconds:.1f} s; then {len(again)}")
    return {"fixed": len(fixed), "seconds": round(seconds, 1), "differences_after": len(again)}


def measure(ids: dict[str, int], reads: int) -> dict[str, Any]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from ishibashi.contracts.models import ClientContractStats

    web = Client()
    paths = {
        "api": "/api/v1/clients/{}/reliability",
        "page": "/accounts/users/{}/",
    }
    timings: dict[str, list[float]] = {}
    queries: dict[str, int] = {}
    for kind, path in paths.items():
        for who in ("small", "large"):
            url = path.format(ids[who])
            with CaptureQueriesContext(connection) as captured:
                response = web.get(url)
            assert response.status_code == 200, (url, response.status_code)
            queries[f"{kind}:{who}"] = len(captured)
            for _ in range(20):
                web.get(url)
    for _round in range(reads):
        for kind, path in paths.items():
            for who in ("small", "large"):
                url = path.format(ids[who])
                started = time.perf_counter()
                response = web.get(url)
                timings.setdefault(f"{kind}:{who}", []).append(
                    (time.perf_counter() - started) * 1000
                )
    rows = {}
    for key, values in timings.items():
        values.sort()
        rows[key] = {
            "p50_ms": round(statistics.median(values), 2),
            "p95_ms": round(values[int(0.95 * (len(values) - 1))], 2),
            "max_ms": round(values[-1], 2),
            "queries": queries[key],
        }
    stats = {
        who: ClientContractStats.objects.filter(client_id=ids[who])
        .values("contracts_completed", "auto_approvals", "inspect_b00", "reply_b03")
        .first()
        for who in ("small", "large")
    }
    return {"rows": rows, "stats": stats}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contracts", type=int, default=100_000)
    parser.add_argument("--reads", type=int, default=300)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    if not in_project_venv():
        os.execv(str(PROJECT_PYTHON), [str(PROJECT_PYTHON), *sys.argv])
    postgres = Postgres()
    SCRATCH.mkdir(parents=True, exist_ok=True)
    os.environ.update(ishibashi_env(postgres.url(DB), var_dir=SCRATCH, label="reputation-bench"))
    idle = background_load()
    log(f"background load {idle} %; recreating {DB}")
    postgres.recreate(DB)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    settings.ACCOUNT_ABUSE_LIMITS = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    call_command("migrate", verbosity=0)
    ids = build(args.contracts)
    rebuilt = rebuild()
    since = cpu_ticks()
    measured = measure(ids, args.reads)
    load = busy_pct(since)
    rows = measured["rows"]
    print(f"\n{'read':<6} {'client':<7} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'queries':>8}")
    for key, row in rows.items():
        kind, who = key.split(":")
        print(
            f"{kind:<6} {who:<7} {row['p50_ms']:>8} {row['p95_ms']:>8} {row['max_ms']:>8} "
            f"{row['queries']:>8}"
        )
    problems = []
    for kind in ("api", "page"):
        small, large = rows[f"{kind}:small"], rows[f"{kind}:large"]
        if small["queries"] != large["queries"]:
            problems.append(f"{kind}: {small['queries']} queries against {large['queries']}")
        if large["p50_ms"] > 1.2 * small["p50_ms"]:
            problems.append(f"{kind}: p50 {large['p50_ms']} ms against {small['p50_ms']} ms")
    if rebuilt["differences_after"]:
        problems.append("rebuild-reputation still finds differences after --fix")
    result = {
        "machine": machine_facts(background_load_pct=str(idle), load_during_reads_pct=str(load)),
        "postgres": postgres.current_settings(("shared_buffers", "work_mem"), DB),
        "contracts": {"small": 10, "large": args.contracts},
        "reads_per_client_and_kind": args.reads,
        "rebuild": rebuilt,
        "copy_seconds": ids["copy_seconds"],
        "rows": rows,
        "counters": measured["stats"],
        "problems": problems,
    }
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"reputation-{time.strftime('%Y-%m-%d', time.gmtime())}.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n")
    log(f"wrote {out}; machine busy {load} % during the reads (background {idle} %)")
    if not args.keep:
        from django.db import connections

        connections.close_all()
        postgres.drop(DB)
    for problem in problems:
        log(f"FAIL {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
