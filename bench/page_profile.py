"""The contract page in-process: CPU ms per request and where it goes (issue 10).

    python bench/http_bench.py --reader-only --anatomy-rounds 0 --keep --db ishibashi_page_x
    python bench/page_profile.py --db ishibashi_page_x [--rounds 30] [--profile]

Reads the database a kept http_bench run left (its largest contract: 12 milestones, ~70 events,
~60 messages), logs in as that contract's client with Django's test client (no HTTP, no
gunicorn), GETs `/contracts/<id>/` --rounds times and prints the median and p95 CPU ms of the
request in this process (PostgreSQL's CPU is not in it) and the SQL statements. --profile runs
the requests under cProfile and prints the 40 most expensive functions (cumulative time).
DEBUG is off, as in production. Runs itself under the project's .venv/bin/python.
"""

# A command-line tool that prints its figures.
# ruff: noqa: T201, S606

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time

from common import PROJECT_PYTHON, Postgres, background_load, in_project_venv


def main() -> int:
    if not in_project_venv():
        if PROJECT_PYTHON.exists():
            os.execv(str(PROJECT_PYTHON), [str(PROJECT_PYTHON), __file__, *sys.argv[1:]])
        sys.exit("run `make install` first")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True, help="a database a kept http_bench run left")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions")
    parser.add_argument("--path-suffix", default="", help="e.g. ?history=all")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = Postgres().url(args.db)
    os.environ.setdefault("ISHIBASHI_DEBUG", "0")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ishibashi.config.settings")
    import django

    django.setup()
    from django.db import connection
    from django.db.models import Count
    from django.test import Client

    from ishibashi.contracts.models import Contract

    big = Contract.objects.annotate(n=Count("milestones")).order_by("-n", "-id").first()
    if big is None:
        sys.exit(f"no contract in {args.db}")
    web = Client()
    web.force_login(big.client)
    path = f"/contracts/{big.pk}/{args.path_suffix}"
    statements: list[str] = []

    def count(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        first = web.get(path)
    assert first.status_code == 200, first.status_code
    load = background_load()
    profiler = cProfile.Profile() if args.profile else None
    times = []
    for _ in range(args.rounds):
        started = time.process_time()
        if profiler:
            profiler.enable()
        web.get(path)
        if profiler:
            profiler.disable()
        times.append((time.process_time() - started) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    print(
        f"{path} ({big.n} milestones): {len(first.content):,} bytes, "  # type: ignore[attr-defined]
        f"{len(statements)} SQL statements; CPU ms over {args.rounds}: median "
        f"{statistics.median(times):.1f}, p95 {p95:.1f}, min {times[0]:.1f}; "
        f"machine {load} % busy before, load average {os.getloadavg()[0]:.2f}"
    )
    if profiler:
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(
            r"ishibashi|template/(loader_tags|defaulttags)|forms/", 40
        )
        stats.sort_stats("tottime").print_stats(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
