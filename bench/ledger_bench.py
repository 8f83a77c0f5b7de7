"""Ledger throughput on this machine, in one run: pgbench, Ishibashi, django-hordak, SQLite.

    python bench/ledger_bench.py [--seconds 15] [--skip-hordak] [--keep] [--diagnose]

(a) pgbench's built-in TPC-B-like script (scale 8) at 1 and 8 clients, database ishibashi_pgbench.
(b) Ishibashi's transfer_create() between two random wallets of 1,000, in its own transaction,
    at 1 and 8 worker processes, database ishibashi_bench.
(c) django-hordak's Account.transfer_to() (plain) and the same behind a lock and an overdraft
    check (guarded), at 1 and 8 processes, database ishibashi_bench_hordak, from its own venv
    bench/.venv-hordak (created on first use).
(d) (b) on a SQLite file at 1 and 2 workers.
(e) pgbench running the five statements (b) sends (ishibashi_transfer.pgbench) on (b)'s
    database: Ishibashi's SQL without Python. --diagnose adds a cProfile of one worker.

PostgreSQL is reached at PGHOST (127.0.0.1):PGPORT (5432) as PGUSER (postgres) with PGPASSWORD if
set; the three databases are dropped and created here, and dropped again at the end unless
--keep. Prints a table and writes bench/results/ledger-<date>.json. Exits 1 if the books do not
hold after the run (`ishibashi check-books`, hordak's own check) or a measured phase failed.
Runs itself under the project's .venv/bin/python if started with another interpreter.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
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
    remove_sqlite,
)

HORDAK_VENV = BENCH / ".venv-hordak"
HORDAK_PYTHON = HORDAK_VENV / "bin" / "python"
HORDAK_SCRIPT = BENCH / "hordak_project" / "hordak_bench.py"
PGBENCH_TRANSFER = BENCH / "ishibashi_transfer.pgbench"
HORDAK_VERSIONS = ("django-hordak==2.0.0", "django-hordak")  # pinned first, then the newest
SCRATCH = BENCH / ".scratch"  # the SQLite file and Ishibashi's var dir; removed at the end

DB_ISHIBASHI = "ishibashi_bench"
DB_HORDAK = "ishibashi_bench_hordak"
DB_PGBENCH = "ishibashi_pgbench"
CLIENTS = (1, 8)
SQLITE_WORKERS = (1, 2)


# --- PostgreSQL -------------------------------------------------------------------------------


class LedgerPostgres(Postgres):
    def facts(self) -> dict[str, Any]:
        return self.current_settings(
            ("fsync", "synchronous_commit", "shared_buffers", "max_connections", "wal_level",
             "default_transaction_isolation")
        )  # fmt: skip

    def pgbench(self, *args: str) -> str:
        command = ["pgbench", "-h", self.host, "-p", self.port, "-U", self.user, *args]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
        return done.stdout


def pgbench_run(
    pg: LedgerPostgres, clients: int, seconds: float, database: str = DB_PGBENCH,
    script: Path | None = None, defines: dict[str, int] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """pgbench's built-in tpcb-like script, or a script file (then without pgbench's vacuum)."""
    jobs = 1 if clients == 1 else 2  # two cores: two pgbench threads
    extra = []
    if script is not None:
        extra = ["-n", "-f", str(script)]
        for name, value in (defines or {}).items():
            extra += ["-D", f"{name}={value}"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = pg.pgbench(*extra, "-c", str(clients), "-j", str(jobs), "-T", str(int(seconds)), database)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out)
    latency = re.search(r"latency average = ([\d.]+) ms", out)
    transactions = re.search(r"number of transactions actually processed: (\d+)", out)
    failed = re.search(r"number of failed transactions: (\d+)", out)
    if tps is None or transactions is None:
        raise RuntimeError(f"could not read tps from pgbench's output:\n{out}")
    committed = int(transactions.group(1))
    cpu_s = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return {
        "workers": clients,
        "jobs": jobs,
        "seconds": seconds,
        "committed": committed,
        "per_second": round(float(tps.group(1)), 1),
        "latency_ms": float(latency.group(1)) if latency else None,
        "failed": int(failed.group(1)) if failed else 0,
        "client_cpu_us_per_transfer": round(1e6 * cpu_s / committed) if committed else None,
    }


def _pgbench_version() -> str:
    done = subprocess.run(["pgbench", "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip()


def timed(run: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Run one measured phase and note how busy the whole machine was meanwhile."""
    since = cpu_ticks()
    result = run(*args, **kwargs)
    result["machine_busy_pct"] = busy_pct(since)
    return result


# --- Ishibashi --------------------------------------------------------------------------------


def ishibashi_command(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ISHIBASHI), *args], env={**os.environ, **env}, capture_output=True, text=True,
        cwd=SCRATCH, check=False,
    )  # fmt: skip


def ishibashi_prepare(env: dict[str, str], accounts: int) -> dict[str, Any]:
    from harness import run_in_child

    migrated = ishibashi_command(env, "migrate", "--verbosity", "0", "--no-input")
    if migrated.returncode != 0:
        raise RuntimeError(f"ishibashi migrate failed:\n{migrated.stderr[-3000:]}")
    return run_in_child("ishibashi_side:setup", {"accounts": accounts}, env, [str(BENCH)])


def ishibashi_run(env: dict[str, str], wallet_ids: list[int], workers: int,
                  seconds: float, worker: str = "worker") -> dict[str, Any]:  # fmt: skip
    from harness import run_workers

    return run_workers(
        target=f"ishibashi_side:{worker}", workers=workers, seconds=seconds,
        payload={"wallet_ids": wallet_ids, "seed": workers}, env=env, sys_path=[str(BENCH)],
    )  # fmt: skip


def check_books(env: dict[str, str]) -> dict[str, Any]:
    done = ishibashi_command(env, "check-books")
    return {
        "ok": done.returncode == 0,
        "output": (done.stdout + done.stderr).strip()[-3000:],
    }


# --- django-hordak ----------------------------------------------------------------------------


def hordak_venv(django_version: str) -> tuple[bool, str]:
    """Create bench/.venv-hordak on first use; (usable, what happened)."""
    if HORDAK_PYTHON.exists():
        probe = subprocess.run(
            [str(HORDAK_PYTHON), "-c", "import django, hordak; print(django.get_version())"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if probe.returncode == 0 and probe.stdout.strip() == django_version:
            return True, "reused"
        shutil.rmtree(HORDAK_VENV)
    log("creating bench/.venv-hordak (first run only)")
    subprocess.run([sys.executable, "-m", "venv", str(HORDAK_VENV)], check=True)
    errors = []
    for requirement in HORDAK_VERSIONS:
        done = subprocess.run(
            [str(HORDAK_PYTHON), "-m", "pip", "install", "--quiet",
             f"Django=={django_version}", "psycopg[binary]", requirement],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode == 0:
            return True, f"installed {requirement} with Django {django_version}"
        errors.append(f"pip install {requirement}:\n{done.stderr.strip()[-2000:]}")
    return False, "\n".join(errors)


def hordak_call(database_url: str, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [str(HORDAK_PYTHON), str(HORDAK_SCRIPT), *args],
        env={**os.environ, "DATABASE_URL": database_url}, capture_output=True, text=True,
        cwd=HORDAK_SCRIPT.parent, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"hordak_bench.py {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the machine ------------------------------------------------------------------------------


# --- the run ----------------------------------------------------------------------------------


def ratio(numerator: dict[str, Any] | None, denominator: dict[str, Any] | None) -> float | None:
    if not numerator or not denominator or not denominator.get("per_second"):
        return None
    return round(numerator["per_second"] / denominator["per_second"], 3)


def measure(args: argparse.Namespace) -> tuple[dict[str, Any], list[str]]:
    from django import get_version
    from harness import run_in_child

    failures: list[str] = []
    pg = LedgerPostgres()
    result: dict[str, Any] = {
        "machine": machine_facts(pgbench=_pgbench_version()),
        "postgresql": pg.facts(),
        "seconds": args.seconds,
        "accounts": args.accounts,
        "pgbench_scale": args.scale,
        "background_busy_pct": {"before": background_load()},
        "runs": {},
    }
    runs = result["runs"]
    log(
        f"{result['machine']['nproc']} CPUs, {result['postgresql']['version'][:16]}, "
        f"machine {result['background_busy_pct']['before']} % busy before the run"
    )

    # Set-up, none of it timed.
    log(f"pgbench -i -s {args.scale} into {DB_PGBENCH}")
    pg.recreate(DB_PGBENCH)
    pg.pgbench("-i", "-s", str(args.scale), "-q", DB_PGBENCH)

    log(f"ishibashi: migrate {DB_ISHIBASHI}, {args.accounts} funded wallets")
    pg.recreate(DB_ISHIBASHI)
    pg_env = ishibashi_env(pg.url(DB_ISHIBASHI), var_dir=SCRATCH / "var", label="ledger-bench")
    wallet_ids = ishibashi_prepare(pg_env, args.accounts)["wallet_ids"]
    lo, hi = min(wallet_ids), max(wallet_ids)
    if sorted(wallet_ids) != list(range(lo, hi + 1)):
        raise RuntimeError("the wallets' ids are not contiguous; the pgbench scripts need them so")

    log("ishibashi: queries per transfer and where one worker's time goes")
    result["ishibashi_anatomy"] = run_in_child(
        "ishibashi_side:anatomy", {"wallet_ids": wallet_ids}, pg_env, [str(BENCH)]
    )

    hordak_ok = False
    if args.skip_hordak:
        result["hordak"] = {"status": "skipped (--skip-hordak)"}
    else:
        usable, how = hordak_venv(get_version())
        result["hordak"] = {"status": how if usable else "cannot install", "venv": how}
        if usable:
            try:
                log(f"hordak: migrate {DB_HORDAK}, {args.accounts} funded accounts")
                pg.recreate(DB_HORDAK)
                hordak_url = pg.url(DB_HORDAK)
                result["hordak"]["setup"] = hordak_call(
                    hordak_url, "setup", "--accounts", str(args.accounts)
                )
                result["hordak"]["queries"] = {
                    mode: hordak_call(hordak_url, "queries", "--mode", mode)
                    for mode in ("plain", "guarded")
                }
                result["hordak"]["status"] = "runs on Django " + result["hordak"]["setup"]["django"]
                hordak_ok = True
            except (RuntimeError, json.JSONDecodeError) as error:
                result["hordak"]["status"] = "does not run"
                result["hordak"]["error"] = str(error)
        if not hordak_ok:
            log(f"hordak: {result['hordak']['status']}; see the JSON for the error")

    # Measured phases, interleaved by client count so each ratio compares neighbours in time.
    wallets = {"lo": lo, "hi": hi}
    for clients in CLIENTS:
        log(f"(a) pgbench tpcb-like, {clients} client(s), {args.seconds:g} s")
        runs[f"a{clients}"] = timed(pgbench_run, pg, clients, args.seconds)
        log(f"(e) pgbench running Ishibashi's statements, {clients} client(s)")
        runs[f"e{clients}"] = timed(
            pgbench_run, pg, clients, args.seconds, DB_ISHIBASHI, PGBENCH_TRANSFER, wallets
        )
        log(f"(b) ishibashi transfer_create, {clients} worker(s), {args.seconds:g} s")
        runs[f"b{clients}"] = timed(ishibashi_run, pg_env, wallet_ids, clients, args.seconds)
        if hordak_ok:
            for mode, key in (("plain", "c"), ("guarded", "cg")):
                log(f"(c) hordak {mode}, {clients} worker(s), {args.seconds:g} s")
                try:
                    runs[f"{key}{clients}"] = timed(
                        hordak_call, pg.url(DB_HORDAK), "run", "--mode", mode,
                        "--workers", str(clients), "--seconds", str(args.seconds),
                        "--seed", str(clients),
                    )  # fmt: skip
                except (RuntimeError, json.JSONDecodeError) as error:
                    failures.append(f"hordak {mode} at {clients}: {error}")

    result["checks"] = {"ishibashi_postgresql": check_books(pg_env)}
    if hordak_ok:
        try:
            result["checks"]["hordak"] = hordak_call(pg.url(DB_HORDAK), "check")
        except (RuntimeError, json.JSONDecodeError) as error:
            result["checks"]["hordak"] = {"ok": False, "output": str(error)}

    if args.diagnose:
        log("diagnose: one ishibashi worker under cProfile")
        text = run_in_child(
            "ishibashi_side:profile", {"wallet_ids": wallet_ids, "seconds": args.seconds},
            pg_env, [str(BENCH)],
        )  # fmt: skip
        day = result["machine"]["date"][:10]
        (RESULTS / f"profile-{day}.txt").write_text(text)
        result["profile_file"] = f"bench/results/profile-{day}.txt"

    # (d) SQLite: the same transfer on a file, one writer at a time.
    sqlite_file = SCRATCH / "ledger-bench.sqlite3"
    remove_sqlite(sqlite_file)
    sqlite_env = ishibashi_env(
        f"sqlite:///{sqlite_file}", var_dir=SCRATCH / "var", label="ledger-bench"
    )
    log(f"(d) sqlite: migrate {sqlite_file.relative_to(ROOT)}, {args.accounts} funded wallets")
    sqlite_ids = ishibashi_prepare(sqlite_env, args.accounts)["wallet_ids"]
    for workers in SQLITE_WORKERS:
        log(f"(d) ishibashi on sqlite, {workers} worker(s), {args.seconds:g} s")
        runs[f"d{workers}"] = timed(ishibashi_run, sqlite_env, sqlite_ids, workers, args.seconds)
    result["checks"]["ishibashi_sqlite"] = check_books(sqlite_env)

    if not args.keep:
        for database in (DB_PGBENCH, DB_ISHIBASHI, DB_HORDAK):
            pg.drop(database)
        remove_sqlite(sqlite_file)
    result["background_busy_pct"]["after"] = background_load()

    pairs = [("b", "a"), ("e", "a"), ("b", "e"), ("b", "c"), ("b", "cg"), ("c", "a")]
    result["ratios"] = {
        f"{top}{n}/{bottom}{n}": ratio(runs.get(f"{top}{n}"), runs.get(f"{bottom}{n}"))
        for top, bottom in pairs
        for n in CLIENTS
    }
    result["targets"] = {
        f"b{n}/a{n} >= 0.60": (result["ratios"][f"b{n}/a{n}"] or 0) >= 0.60 for n in CLIENTS
    }
    for n in CLIENTS:
        value = result["ratios"][f"b{n}/c{n}"]
        result["targets"][f"b{n}/c{n} > 1"] = None if value is None else value > 1.0
    for name, check in result["checks"].items():
        if not check.get("ok"):
            failures.append(f"books check failed ({name}): {check.get('output', check)}")
    for name, run in runs.items():
        if run.get("retryable_errors") or run.get("failed"):
            log(f"note: {name} had errors: {run.get('retryable_errors') or run.get('failed')}")
    return result, failures


# --- the report -------------------------------------------------------------------------------

LABELS = {
    "a": "(a) pgbench tpcb-like",
    "e": "(e) pgbench running Ishibashi's statements",
    "b": "(b) Ishibashi transfer_create, PostgreSQL",
    "c": "(c) hordak transfer_to (plain)",
    "cg": "(c') hordak + lock + balance check",
    "d": "(d) Ishibashi transfer_create, SQLite",
}


def table(result: dict[str, Any]) -> str:
    runs = result["runs"]
    lines = [
        "| what | clients | transfers/s | committed | client CPU µs/transfer | machine busy |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for key, label in LABELS.items():
        for name, run in runs.items():
            if re.fullmatch(rf"{key}\d+", name):
                cpu = run.get("client_cpu_us_per_transfer")
                lines.append(
                    f"| {label} | {run['workers']} | {run['per_second']:,.1f} | "
                    f"{run['committed']:,} | {'—' if cpu is None else f'{cpu:,}'} | "
                    f"{run.get('machine_busy_pct', '—')} % |"
                )
    lines += ["", "| ratio | value | target |", "| --- | ---: | --- |"]
    for name, value in result["ratios"].items():
        shown = "—" if value is None else f"{value:.2f}"
        if re.fullmatch(r"b(\d+)/a\1", name):
            target = "≥ 0.60" + ("" if value is None else " met" if value >= 0.6 else " **missed**")
        elif re.fullmatch(r"b(\d+)/c\1", name):
            target = "> 1" + ("" if value is None else " met" if value > 1 else " **missed**")
        else:
            target = "(diagnostic)"
        lines.append(f"| {name} | {shown} | {target} |")
    return "\n".join(lines)


def main() -> int:
    if not in_project_venv():
        in_venv = Path(sys.prefix).resolve() == (ROOT / ".venv").resolve()
        if not in_venv and PROJECT_PYTHON.exists():
            os.execv(str(PROJECT_PYTHON), [str(PROJECT_PYTHON), __file__, *sys.argv[1:]])
        sys.exit("run `make install` first: the benchmark needs the project's .venv")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15, help="length of each timed run")
    parser.add_argument("--skip-hordak", action="store_true", help="leave out (c)")
    parser.add_argument("--accounts", type=int, default=1000, help="wallets per ledger")
    parser.add_argument("--scale", type=int, default=8, help="pgbench scale factor")
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    parser.add_argument(
        "--diagnose", action="store_true",
        help="also cProfile one Ishibashi worker (bench/results/profile-<date>.txt); "
        "adds 1 x --seconds",
    )  # fmt: skip
    args = parser.parse_args()
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    SCRATCH.mkdir(exist_ok=True)
    RESULTS.mkdir(exist_ok=True)

    started = time.monotonic()
    result, failures = measure(args)
    result["elapsed_seconds"] = round(time.monotonic() - started, 1)
    result["failures"] = failures
    suffix = "-diagnose" if args.diagnose else ""
    out = RESULTS / f"ledger-{result['machine']['date'][:10]}{suffix}.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    if not args.keep:
        shutil.rmtree(SCRATCH, ignore_errors=True)

    anatomy = result["ishibashi_anatomy"]
    print(table(result))
    print(
        f"\nIshibashi: {anatomy['queries_per_transfer']} statements per transfer (with BEGIN "
        f"and COMMIT); one worker, mean µs per transfer: {anatomy['mean_us']}"
    )
    if "queries" in result["hordak"]:
        counts = {mode: q["count"] for mode, q in result["hordak"]["queries"].items()}
        print(f"hordak: statements per transfer {counts}")
    print(f"hordak: {result['hordak']['status']}")
    print(f"\nwrote {out.relative_to(ROOT)} in {result['elapsed_seconds']:.0f} s")
    if failures:
        for failure in failures:
            print(f"FAILED: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
