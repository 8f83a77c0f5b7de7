"""The HTTP path (issue 10): the whole lifecycle over the JSON API against `ishibashi serve`.

    python bench/http_bench.py [--users 32] [--seconds 120] [--healthz-seconds 40]
                               [--reader-seconds 30] [--web-workers 4] [--keep] [--out FILE]

One command runs everything, in about 4 minutes with the defaults:

1. creates the PostgreSQL database --db (ishibashi_httpbench_run; dropped and re-created) and
   migrates it;
2. starts the production server, `ishibashi serve` (gunicorn, --web-workers sync workers), on a
   free loopback port with DATABASE_URL pointing there, the dummy e-mail backend and gunicorn's
   access log carrying each request's time in the server (GUNICORN_CMD_ARGS sets the format);
3. runs locust headless (bench/http_locustfile.py, its CLI as a child process), on the same
   server, three phases one after the other:
   (a) --users HealthzUser: GET /healthz (one `SELECT 1`), for half of --healthz-seconds before
       (b) and the other half after it; the ratio uses the mean of the two;
   (b) --users LifecycleUser for --seconds: each one a client and a worker who sign up, take API
       tokens, then go through post, search, propose, hire, deposit, fund, start, deliver,
       approve and payout again and again;
   (c) one ContractReader for --reader-seconds: a contract of 12 milestones (11 paid, one
       delivered), about 70 events and 60 messages, read as its page (HTML, logged in with a
       session) and through GET /api/v1/contracts/{id} in turn;
4. runs `ishibashi check-books` on the database, stops the server and drops the database
   (unless --keep).

It prints the tables and writes bench/results/http-<date>.json. Exits 1 if a request failed,
check-books failed, the server or locust failed, or a target is missed: the lifecycle's mean
requests/s at least 25 % of /healthz's, and the contract page's and API's p95 server time at one
user at most 50 ms. PostgreSQL is reached at PGHOST (127.0.0.1):PGPORT (5432) as PGUSER
(postgres) with PGPASSWORD if set. Runs itself under the project's .venv/bin/python if started
with another interpreter.
"""

# A command-line tool: it prints its tables (T201), starts the server and locust (S603) and
# re-runs itself under the venv (S606).
# ruff: noqa: T201, S603, S606

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from pathlib import Path
from typing import Any

from common import (
    BENCH,
    ISHIBASHI,
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

LOCUST = ROOT / ".venv" / "bin" / "locust"
LOCUSTFILE = BENCH / "http_locustfile.py"
SCRATCH = BENCH / ".scratch" / "http"

DB = "ishibashi_httpbench_run"
TARGET_RATIO = 0.25  # lifecycle mean requests/s ÷ /healthz requests/s
TARGET_P95_MS = 50.0  # contract page and API, server time, one user
READY_TIMEOUT_S = 60
# Method, path without the query string, status, microseconds spent in the request (gunicorn).
ACCESS_LOG_FORMAT = "%(m)s %(U)s %(s)s %(D)s"
PERCENTILES = ("50%", "95%", "99%")


# --- the server ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ishibashi_command(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ISHIBASHI), *args], env={**os.environ, **env}, capture_output=True, text=True,
        cwd=SCRATCH, check=False,
    )  # fmt: skip


class Server:
    """`ishibashi serve` on a loopback port, its access log in a file."""

    def __init__(self, env: dict[str, str], port: int, workers: int, log_path: Path) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self.stderr_path = log_path.with_suffix(".err")
        server_env = {
            **os.environ,
            **env,
            # gunicorn reads extra settings from here; the command line `ishibashi serve` builds
            # is left as production runs it.
            "GUNICORN_CMD_ARGS": f"--access-logformat '{ACCESS_LOG_FORMAT}'",
        }
        self.process = subprocess.Popen(
            [str(ISHIBASHI), "serve", "--host", "127.0.0.1", "--port", str(port),
             "--workers", str(workers)],
            env=server_env, cwd=SCRATCH, stdout=log_path.open("wb"),
            stderr=self.stderr_path.open("wb"),
        )  # fmt: skip

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited:\n{self.errors()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"the server did not answer /healthz in {READY_TIMEOUT_S} s")

    def log_offset(self) -> int:
        return self.log_path.stat().st_size

    def access_lines(self, start: int, end: int) -> list[str]:
        with self.log_path.open("rb") as f:
            f.seek(start)
            return f.read(end - start).decode(errors="replace").splitlines()

    def errors(self) -> str:
        return self.stderr_path.read_text(errors="replace")[-3000:]

    def stop(self) -> int | None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return self.process.returncode


# --- locust ---------------------------------------------------------------------------------------


def endpoint_key(name: str) -> str:
    """A locust name or an access-log "METHOD path" as one key: ids as {id}, no query, no notes."""
    name = name.split("?", 1)[0].replace(" (HTML)", "")
    return re.sub(r"/\d+(?=/|$)", "/{id}", name)


def _ms(value: str) -> float | None:
    return None if value in ("", "N/A") else round(float(value), 1)


def _percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile of `values` (sorted here)."""
    ordered = sorted(values)
    rank = max(1, int(-(-share * len(ordered) // 1)))
    return ordered[min(rank, len(ordered)) - 1]


def server_times(lines: list[str]) -> dict[str, dict[str, Any]]:
    """Per endpoint, from gunicorn's access log: count, statuses, p50/p95/p99 server time (ms)."""
    times: dict[str, list[float]] = defaultdict(list)
    statuses: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for line in lines:
        parts = line.split()
        if len(parts) != 4 or not parts[3].isdigit():
            continue
        method, path, status, micros = parts
        key = endpoint_key(f"{method} {path}")
        times[key].append(int(micros) / 1000)
        statuses[key][status] += 1
    return {
        key: {
            "count": len(values),
            "statuses": dict(statuses[key]),
            "mean_ms": round(statistics.fmean(values), 1),
            **{f"p{p}_ms": round(_percentile(values, p / 100), 1) for p in (50, 95, 99)},
        }
        for key, values in times.items()
    }


def run_locust(
    label: str, user_class: str, *, users: int, seconds: int, server: Server,
    extra_env: dict[str, str] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """One headless locust run against the server: locust's figures per endpoint, the server's
    own time per endpoint from the access log, the machine's CPU and locust's own CPU."""
    prefix = SCRATCH / f"locust-{label}"
    command = [
        str(LOCUST), "-f", str(LOCUSTFILE), "--headless", "--host", server.url,
        "--users", str(users), "--spawn-rate", str(users), "--run-time", f"{seconds}s",
        "--stop-timeout", "10", "--csv", str(prefix), "--only-summary",
        "--loglevel", "WARNING", "--exit-code-on-error", "0", user_class,
    ]  # fmt: skip
    log(f"{label}: {users} × {user_class} for {seconds} s")
    start_offset = server.log_offset()
    rusage_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    since = cpu_ticks()
    started = time.monotonic()
    done = subprocess.run(
        command, env={**os.environ, **(extra_env or {})}, capture_output=True, text=True,
        cwd=SCRATCH, check=False, timeout=seconds + 120,
    )  # fmt: skip
    wall = time.monotonic() - started
    busy = busy_pct(since)
    rusage_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    time.sleep(0.5)  # gunicorn writes the access line after the response
    end_offset = server.log_offset()
    locust_cpu = (rusage_after.ru_utime - rusage_before.ru_utime) + (
        rusage_after.ru_stime - rusage_before.ru_stime
    )
    if done.returncode != 0:
        raise RuntimeError(f"locust exited {done.returncode}:\n{done.stderr[-3000:]}")
    endpoints: dict[str, dict[str, Any]] = {}
    aggregated: dict[str, Any] = {}
    with Path(f"{prefix}_stats.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            figures = {
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "requests_per_s": round(float(row["Requests/s"]), 1),
                "mean_ms": _ms(row["Average Response Time"]),
                **{f"p{p.rstrip('%')}_ms": _ms(row[p]) for p in PERCENTILES},
                "max_ms": _ms(row["Max Response Time"]),
            }
            if row["Name"] == "Aggregated":
                aggregated = figures
            else:
                endpoints[row["Name"]] = figures
    failures = []
    with Path(f"{prefix}_failures.csv").open(newline="") as f:
        failures = [
            {"endpoint": row["Name"], "error": row["Error"][:500],
             "occurrences": int(row["Occurrences"])}
            for row in csv.DictReader(f)
        ]  # fmt: skip
    server_side = server_times(server.access_lines(start_offset, end_offset))
    for name, figures in endpoints.items():
        figures["server"] = server_side.get(endpoint_key(name))
    measured = {name: figures for name, figures in endpoints.items()
                if not name.startswith("setup: ")}  # fmt: skip
    requests = sum(f["requests"] for f in measured.values())
    result = {
        "user_class": user_class,
        "users": users,
        "seconds": seconds,
        "wall_seconds": round(wall, 1),
        "requests": requests,
        "failures": sum(f["failures"] for f in endpoints.values()),
        # Requests over the phase's length: what "requests/s" means in the ratio.
        "requests_per_s": round(requests / seconds, 1),
        "locust_aggregated": aggregated,
        "endpoints": endpoints,
        "failure_details": failures,
        "machine_busy_pct": busy,
        "locust_cpu_pct_of_one_core": round(100 * locust_cpu / wall, 1),
        "server_statuses": {key: value["statuses"] for key, value in server_side.items()},
    }
    log(
        f"  {requests:,} requests, {result['requests_per_s']:,.1f}/s, "
        f"{result['failures']} failures, machine {busy} % busy, "
        f"locust {result['locust_cpu_pct_of_one_core']} % of a core"
    )
    return result


# --- in a child: one lifecycle through Django's test client, its statements and CPU per step -----


def anatomy(payload: dict[str, Any]) -> dict[str, Any]:
    """Run the lifecycle `payload["rounds"]` times in-process (no HTTP, no gunicorn) on the bench
    database and report, per endpoint, the SQL statements sent through Django's cursor and the
    median CPU ms of the request; then the same for the largest contract's page and API."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ishibashi.config.settings")
    import datetime as dt
    import uuid

    import django

    django.setup()
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db import connection
    from django.db.models import Count
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from ishibashi.accounts.models import User
    from ishibashi.accounts.services import verification_token
    from ishibashi.contracts.models import Contract

    web = Client()
    steps: dict[str, list[tuple[int, float]]] = defaultdict(list)

    def call(method: str, name: str, path: str, token: str | None, expect: int, **kw: Any) -> Any:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
        if "json" in kw:
            kw = {"data": json.dumps(kw.pop("json")), "content_type": "application/json", **kw}
        with CaptureQueriesContext(connection) as queries:
            started = time.process_time()
            response = getattr(web, method)(path, **kw, **headers)
            cpu = (time.process_time() - started) * 1000
        if response.status_code != expect:
            raise RuntimeError(f"{name}: {response.status_code} {response.content[:300]!r}")
        steps[name].append((len(queries), cpu))
        return response.json() if response["Content-Type"].startswith("application/json") else None

    jst = dt.timezone(dt.timedelta(hours=9))
    for _round in range(payload["rounds"]):
        tag = uuid.uuid4().hex[:12]
        tokens = {}
        for role in ("client", "worker"):
            email = f"anatomy-{role}-{tag}@bench.example.jp"
            call("post", "POST /api/v1/auth/signup", "/api/v1/auth/signup", None, 202,
                 json={"email": email, "password": "hashi-wo-tataku-bench-2026",
                       "display_name": role, "roles": [role]})  # fmt: skip
            # The link's token, as the mail carries it: confirmed through the API.
            token = verification_token(User.objects.get(email=email))
            call("post", "POST /api/v1/auth/verify-email", "/api/v1/auth/verify-email", None,
                 200, json={"token": token})  # fmt: skip
            tokens[role] = call("post", "POST /api/v1/auth/token", "/api/v1/auth/token", None,
                                201, json={"email": email, "password": "hashi-wo-tataku-bench-2026",
                                           "name": "bench"})["token"]  # fmt: skip
        client, worker = tokens["client"], tokens["worker"]
        now = dt.datetime.now(jst)
        job = call("post", "POST /api/v1/jobs", "/api/v1/jobs", client, 201, json={
            "title": f"サーバー移行 AN{tag}", "description": "既存サイトの移行です。",
            "category": "server_infrastructure", "contract_type": "fixed",
            "budget_min_jpy": 5_000, "budget_max_jpy": 20_000,
            "recruiting_deadline": (now + dt.timedelta(days=7)).isoformat(),
            "desired_delivery_on": (now.date() + dt.timedelta(days=30)).isoformat(),
            "scope_deliverables": "移行済みのサイト",
            "scope_acceptance_criteria": "全ページが表示されること", "publish": True,
        })  # fmt: skip
        call("get", "GET /api/v1/jobs?q=", f"/api/v1/jobs?q=AN{tag}", worker, 200)
        proposal = call("post", "POST /api/v1/jobs/{id}/proposals",
                        f"/api/v1/jobs/{job['id']}/proposals", worker, 201, json={
            "cover_letter": "経験があります。", "total_jpy": 10_000,
            "milestones": [{"title": "実作業", "kind": "main_work", "amount_jpy": 10_000,
                            "due_on": (now.date() + dt.timedelta(days=20)).isoformat()}],
        })  # fmt: skip
        contract = call(
            "post",
            "POST /api/v1/proposals/{id}/hire",
            f"/api/v1/proposals/{proposal['id']}/hire",
            client,
            201,
            json={},
        )
        milestone = contract["milestones"][0]["id"]
        call(
            "post",
            "POST /api/v1/wallet/deposits",
            "/api/v1/wallet/deposits",
            client,
            201,
            json={"amount_jpy": 10_000, "method": "card", "card_number": "4242424242424242"},
        )
        call("get", "GET /api/v1/contracts/{id}", f"/api/v1/contracts/{contract['id']}", client,
             200)  # fmt: skip
        call("post", "POST /api/v1/milestones/{id}/fund", f"/api/v1/milestones/{milestone}/fund",
             client, 200)  # fmt: skip
        call("post", "POST /api/v1/milestones/{id}/start",
             f"/api/v1/milestones/{milestone}/start", worker, 200)  # fmt: skip
        delivery = call("post", "POST /api/v1/milestones/{id}/deliveries",
                        f"/api/v1/milestones/{milestone}/deliveries", worker, 201, data={
            "message": "移行が完了しました。",
            "full_files": SimpleUploadedFile("手順書.txt", "移行手順\n".encode() * 50,
                                             content_type="text/plain"),
        })  # fmt: skip
        call("post", "POST /api/v1/deliveries/{id}/approve",
             f"/api/v1/deliveries/{delivery['id']}/approve", client, 200)  # fmt: skip
        wallet = call("get", "GET /api/v1/wallet", "/api/v1/wallet", worker, 200)
        call("post", "POST /api/v1/wallet/payouts", "/api/v1/wallet/payouts", worker, 201, json={
            "amount_jpy": wallet["earnings_jpy"], "bank_name": "みずほ銀行", "branch_name": "本店",
            "account_type": "ordinary", "account_number": "1234567",
            "account_holder": "ジュチュウ タロウ",
        })  # fmt: skip
        call("get", "GET /healthz", "/healthz", None, 200)
    big = Contract.objects.annotate(n=Count("milestones")).order_by("-n", "-id").first()
    if big is not None:
        for _ in range(payload["rounds"]):
            web.force_login(big.client)
            size = f"{big.n} milestones"  # type: ignore[attr-defined]
            call("get", f"GET /contracts/{{id}}/ (HTML, {size})", f"/contracts/{big.pk}/", None,
                 200)  # fmt: skip
            call("get", f"GET /api/v1/contracts/{{id}} ({size})", f"/api/v1/contracts/{big.pk}",
                 None, 200)  # fmt: skip
    # The first round warms caches; medians of the others.
    return {
        name: {
            "statements": statistics.median(q for q, _cpu in rows[1:] or rows),
            "cpu_ms_median": round(statistics.median(c for _q, c in rows[1:] or rows), 1),
        }
        for name, rows in steps.items()
    }


# --- the run --------------------------------------------------------------------------------------


def check_books(env: dict[str, str]) -> dict[str, Any]:
    done = ishibashi_command(env, "check-books")
    return {"ok": done.returncode == 0, "output": (done.stdout + done.stderr).strip()[-3000:]}


def measure(args: argparse.Namespace) -> dict[str, Any]:
    pg = Postgres()
    var_dir = SCRATCH / "var"
    env = {
        **ishibashi_env(pg.url(args.db), var_dir=var_dir, label="http-bench"),
        # Sign-ups are confirmed by mail: locust reads the links from the file backend's folder.
        "ISHIBASHI_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        # Every locust user is a new account hiring round after round from one address.
        "ISHIBASHI_ACCOUNT_ABUSE_LIMITS": "0",
    }
    os.environ["HTTP_BENCH_MAIL_DIR"] = str(var_dir / "mail")
    result: dict[str, Any] = {
        "machine": machine_facts(),
        "postgresql": pg.current_settings(
            ("shared_buffers", "synchronous_commit", "fsync", "max_connections")
        ),
        "options": vars(args) | {"out": str(args.out) if args.out else None},
        "server": {
            "command": f"ishibashi serve --workers {args.web_workers} (gunicorn sync workers)",
            "access_log_format": ACCESS_LOG_FORMAT,
            "environment": {k: v for k, v in env.items() if k != "ISHIBASHI_SECRET_KEY"},
        },
        "background_busy_pct": {"before": background_load()},
        "loadavg": {"before": os.getloadavg()},
        "phases": {},
    }
    log(
        f"{result['machine']['nproc']} CPUs, {result['postgresql']['version'][:16]}, machine "
        f"{result['background_busy_pct']['before']} % busy, load {os.getloadavg()[0]:.2f}"
    )
    pg.recreate(args.db)
    started = time.monotonic()
    migrated = ishibashi_command(env, "migrate", "--verbosity", "0", "--no-input")
    if migrated.returncode != 0:
        raise RuntimeError(f"ishibashi migrate failed:\n{migrated.stderr[-3000:]}")
    result["migrate_seconds"] = round(time.monotonic() - started, 1)
    server = Server(env, free_port(), args.web_workers, SCRATCH / "access.log")
    try:
        server.wait_ready()
        log(f"server ready at {server.url} ({args.web_workers} workers)")
        phases = result["phases"]
        # /healthz before and after the lifecycle, half the time each: other people's load on a
        # shared machine drifts, and the ratio uses the mean of the two.
        half = max(1, args.healthz_seconds // 2)
        if not args.reader_only:
            phases["healthz_before"] = run_locust(
                "healthz-before", "HealthzUser", users=args.users, seconds=half, server=server
            )
            phases["lifecycle"] = run_locust(
                "lifecycle", "LifecycleUser", users=args.users, seconds=args.seconds, server=server
            )
            phases["healthz_after"] = run_locust(
                "healthz-after", "HealthzUser", users=args.users, seconds=half, server=server
            )
        phases["contract_reader"] = run_locust(
            "reader", "ContractReader", users=1, seconds=args.reader_seconds, server=server,
            extra_env={"HTTP_BENCH_BIG_MESSAGES": str(args.messages)},
        )  # fmt: skip
    finally:
        result["server"]["exit_code"] = server.stop()
        result["server"]["stderr_tail"] = server.errors()
    if args.anatomy_rounds:
        from harness import run_in_child

        log(f"anatomy: {args.anatomy_rounds} lifecycles in-process (statements, CPU per step)")
        result["anatomy"] = run_in_child(
            "http_bench:anatomy", {"rounds": args.anatomy_rounds}, env, [str(BENCH)]
        )
    result["rows"] = table_counts(pg, args.db)
    result["check_books"] = check_books(env)
    log(f"check-books: {'ok' if result['check_books']['ok'] else 'FAILED'}")
    if not args.keep:
        pg.drop(args.db)
    result["background_busy_pct"]["after"] = background_load()
    result["loadavg"]["after"] = os.getloadavg()
    summarize(result)
    return result


def table_counts(pg: Postgres, database: str) -> dict[str, int]:
    tables = ("accounts_user", "jobs_job", "contracts_contract", "contracts_contractevent",
              "contracts_contractmessage", "payments_deposit", "payments_payout",
              "ledger_transfer")  # fmt: skip
    with pg.connect(database) as conn:
        return {
            table: int(conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])  # noqa: S608
            for table in tables
        }


READER_ENDPOINTS = ("GET /contracts/{id}/ (HTML)", "GET /api/v1/contracts/{id}")


def summarize(result: dict[str, Any]) -> None:
    phases = result["phases"]
    reader = phases["contract_reader"]["endpoints"]
    p95 = {
        name: {
            "server_p95_ms": (reader.get(name, {}).get("server") or {}).get("p95_ms"),
            "locust_p95_ms": reader.get(name, {}).get("p95_ms"),
        }
        for name in READER_ENDPOINTS
    }
    failures = sum(phase["failures"] for phase in phases.values())
    targets = {
        f"contract page and API p95 server time <= {TARGET_P95_MS:.0f} ms at one user": all(
            v["server_p95_ms"] is not None and v["server_p95_ms"] <= TARGET_P95_MS
            for v in p95.values()
        ),
        "no failed request": failures == 0,
        "check-books passes": result["check_books"]["ok"],
    }
    if "lifecycle" not in phases:  # --reader-only
        result["summary"] = {"one_user_p95_ms": p95, "failures": failures}
        result["targets"] = targets
        return
    lifecycle = phases["lifecycle"]
    healthz_rps = statistics.fmean(
        (phases["healthz_before"]["requests_per_s"], phases["healthz_after"]["requests_per_s"])
    )
    ratio = lifecycle["requests_per_s"] / healthz_rps
    payouts = lifecycle["endpoints"].get("POST /api/v1/wallet/payouts", {})
    result["summary"] = {
        "healthz_requests_per_s": round(healthz_rps, 1),
        "healthz_requests_per_s_before_after": [
            phases["healthz_before"]["requests_per_s"],
            phases["healthz_after"]["requests_per_s"],
        ],
        "lifecycle_requests_per_s": lifecycle["requests_per_s"],
        "lifecycle_to_healthz_ratio": round(ratio, 3),
        "lifecycles_completed": payouts.get("requests", 0) - payouts.get("failures", 0),
        "lifecycles_per_s": round(
            (payouts.get("requests", 0) - payouts.get("failures", 0)) / lifecycle["seconds"], 2
        ),
        "one_user_p95_ms": p95,
        "failures": failures,
    }
    result["targets"] = {
        f"lifecycle requests/s >= {TARGET_RATIO:.0%} of /healthz's": ratio >= TARGET_RATIO,
        **targets,
    }


def table(result: dict[str, Any]) -> str:
    lines: list[str] = []
    for label, phase in result["phases"].items():
        lines += [
            f"\n{label}: {phase['users']} × {phase['user_class']}, {phase['seconds']} s, "
            f"{phase['requests']:,} requests = {phase['requests_per_s']:,.1f}/s, "
            f"{phase['failures']} failures, machine {phase['machine_busy_pct']} % busy, "
            f"locust {phase['locust_cpu_pct_of_one_core']} % of one core",
            "",
            "| endpoint | requests | req/s | fail | p50 ms | p95 ms | p99 ms | "
            "server p50 ms | server p95 ms | server p99 ms |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for name, f in phase["endpoints"].items():
            server = f["server"] or {}
            lines.append(
                f"| {name} | {f['requests']:,} | {f['requests_per_s']:,.1f} | "
                f"{f['failures']} | {f['p50_ms']} | {f['p95_ms']} | {f['p99_ms']} | "
                f"{server.get('p50_ms', '')} | {server.get('p95_ms', '')} | "
                f"{server.get('p99_ms', '')} |"
            )
        for failure in phase["failure_details"][:10]:
            lines.append(f"  failure ×{failure['occurrences']} {failure['endpoint']}: "
                         f"{failure['error'][:200]}")  # fmt: skip
    if result.get("anatomy"):
        lines += [
            "\nin-process anatomy (Django test client, no HTTP): per request",
            "",
            "| endpoint | SQL statements | CPU ms (median) |",
            "| --- | ---: | ---: |",
        ]
        for name, row in result["anatomy"].items():
            lines.append(f"| {name} | {row['statements']} | {row['cpu_ms_median']} |")
    summary = result["summary"]
    if "lifecycle_requests_per_s" in summary:
        lines += [
            "",
            f"lifecycle / healthz = {summary['lifecycle_requests_per_s']:,.1f} / "
            f"{summary['healthz_requests_per_s']:,.1f} = "
            f"{summary['lifecycle_to_healthz_ratio']:.3f} "
            f"(/healthz before and after: {summary['healthz_requests_per_s_before_after']})",
            f"lifecycles completed: {summary['lifecycles_completed']:,} "
            f"({summary['lifecycles_per_s']}/s)",
        ]
    lines.append("")
    for name, p95 in summary["one_user_p95_ms"].items():
        lines.append(
            f"one user, {name}: p95 server {p95['server_p95_ms']} ms, "
            f"locust {p95['locust_p95_ms']} ms"
        )
    lines.append(
        f"background load: {result['background_busy_pct']['before']} % before, "
        f"{result['background_busy_pct']['after']} % after"
    )
    for name, met in result["targets"].items():
        lines.append(f"target {name}: {'met' if met else 'MISSED'}")
    return "\n".join(lines)


def main() -> int:
    if not in_project_venv():
        in_venv = Path(sys.prefix).resolve() == (ROOT / ".venv").resolve()
        if not in_venv and PROJECT_PYTHON.exists():
            os.execv(str(PROJECT_PYTHON), [str(PROJECT_PYTHON), __file__, *sys.argv[1:]])
        sys.exit("run `make install` first: the benchmark needs the project's .venv")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=32, help="locust users in (a) and (b)")
    parser.add_argument("--seconds", type=int, default=120, help="length of the lifecycle phase")
    parser.add_argument("--healthz-seconds", type=int, default=40, help="length of (a)")
    parser.add_argument("--reader-seconds", type=int, default=30, help="length of (c)")
    parser.add_argument("--messages", type=int, default=60, help="messages on (c)'s contract")
    parser.add_argument("--web-workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument(
        "--anatomy-rounds", type=int, default=4,
        help="lifecycles run in-process afterwards, counting statements and CPU (0: none)",
    )  # fmt: skip
    parser.add_argument(
        "--reader-only", action="store_true",
        help="only the one-user phase (c): no /healthz, no lifecycle phase, no ratio",
    )  # fmt: skip
    parser.add_argument("--db", default=DB, help="the database (dropped and re-created)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--out", type=Path, default=None, help="results file")
    args = parser.parse_args()
    if not LOCUST.exists():
        sys.exit("locust is missing: `make install` (it is in the test extras)")
    shutil.rmtree(SCRATCH, ignore_errors=True)
    SCRATCH.mkdir(parents=True)
    RESULTS.mkdir(exist_ok=True)

    started = time.monotonic()
    result = measure(args)
    result["elapsed_seconds"] = round(time.monotonic() - started, 1)
    out = args.out or RESULTS / f"http-{result['machine']['date'][:10]}.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n")
    if not args.keep:
        shutil.rmtree(SCRATCH, ignore_errors=True)
    print(table(result))
    print(f"\nwrote {out} in {result['elapsed_seconds']:.0f} s")
    return 0 if all(result["targets"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
