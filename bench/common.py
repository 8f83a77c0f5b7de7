"""What both benchmarks need: the venv check, logging, machine load and facts, PostgreSQL admin.

Standard library only at import time (psycopg and Django are imported where used), so the
hordak venv's scripts could use it as they use harness.py.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

# Where every benchmark finds the project, its venv and the results folder.
BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PROJECT_PYTHON = ROOT / ".venv" / "bin" / "python"
ISHIBASHI = ROOT / ".venv" / "bin" / "ishibashi"
RESULTS = BENCH / "results"


def in_project_venv() -> bool:
    try:
        import django  # noqa: F401
        import psycopg  # noqa: F401

        import ishibashi  # noqa: F401
    except ImportError:
        return False
    return True


def log(message: str) -> None:
    # UTC: children run under Django, which sets TZ to the project's time zone.
    print(f"[{time.strftime('%H:%M:%S', time.gmtime())}Z] {message}", file=sys.stderr, flush=True)


def cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, all CPUs, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields[:8])  # user nice system idle iowait irq softirq steal (guest is in user)
    return total - idle, total


def busy_pct(since: tuple[int, int]) -> float:
    """Busy % of the whole machine since `since` (a cpu_ticks() reading)."""
    busy1, total1 = cpu_ticks()
    return round(100 * (busy1 - since[0]) / max(1, total1 - since[1]), 1)


def background_load(seconds: float = 3.0) -> float:
    """Busy % of the machine while the benchmark does nothing: other people's work."""
    since = cpu_ticks()
    time.sleep(seconds)
    return busy_pct(since)


def machine_facts(**extra: str) -> dict[str, Any]:
    import django
    import psycopg

    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    return {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "nproc": len(os.sched_getaffinity(0)),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "cpu": cpu,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "psycopg": psycopg.__version__,
        "sqlite": sqlite3.sqlite_version,
        **extra,
    }


def ishibashi_env(database_url: str, *, var_dir: Path, label: str) -> dict[str, str]:
    """The environment of an Ishibashi child process on `database_url`."""
    return {
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "ishibashi.config.settings",
        "ISHIBASHI_VAR_DIR": str(var_dir),
        "ISHIBASHI_SECRET_KEY": f"{label}-only",
        "ISHIBASHI_ENVIRONMENT": "development",
        "ISHIBASHI_DEBUG": "0",
        "ISHIBASHI_LOG_LEVEL": "WARNING",
    }


def remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


class Postgres:
    """The server at PGHOST/PGPORT as PGUSER (PGPASSWORD if set): URLs, connections, databases."""

    def __init__(self) -> None:
        self.host = os.environ.get("PGHOST", "127.0.0.1")
        self.port = os.environ.get("PGPORT", "5432")
        self.user = os.environ.get("PGUSER", "postgres")
        self.password = os.environ.get("PGPASSWORD", "")

    def url(self, database: str) -> str:
        auth = quote(self.user, safe="")
        if self.password:
            auth += ":" + quote(self.password, safe="")
        return f"postgres://{auth}@{self.host}:{self.port}/{database}"

    def connect(self, database: str = "postgres") -> Any:
        import psycopg

        return psycopg.connect(
            host=self.host, port=self.port, user=self.user, password=self.password or None,
            dbname=database, autocommit=True,
        )  # fmt: skip

    def recreate(self, database: str) -> None:
        with self.connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{database}"')

    def drop(self, database: str) -> None:
        with self.connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

    def current_settings(
        self, names: tuple[str, ...], database: str = "postgres"
    ) -> dict[str, Any]:
        with self.connect(database) as conn:
            version = conn.execute("SELECT version()").fetchone()[0]
            settings = {
                name: conn.execute("SELECT current_setting(%s)", [name]).fetchone()[0]
                for name in names
            }
        return {"version": version, "settings": settings}
