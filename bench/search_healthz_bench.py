"""Issue 11, finding 5: do anonymous searches slow everyone else? /healthz under search load.

    python bench/jobs_search_bench.py --only postgresql --keep   # loads ishibashi_bench_jobs
    python bench/search_healthz_bench.py [--clients 4] [--seconds 30] [--workers 2] [--src DIR]

Starts `ishibashi serve` (gunicorn, --workers sync workers) on the kept 100,000-job database,
probes GET /healthz every 0.2 s for --seconds alone, then again while --clients anonymous clients
each send the issue's searches back to back (GET /api/v1/jobs?q=…, cycling through データ,
「ま す 。 を へ」, の, 予算, 「ます へ」, ください納期). Each client speaks from its own loopback
address (127.0.0.10, .11, …), so the per-address limit applies to each as to separate visitors.
--src runs another checkout's code (its `src` directory goes first on PYTHONPATH): how the
"before" numbers were taken. Prints /healthz p50/p95/max alone and under load, and per client
the answers by status; writes bench/results/search-healthz-<date>[-label].json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

from common import (
    BENCH,
    PROJECT_PYTHON,
    RESULTS,
    ROOT,
    in_project_venv,
    ishibashi_env,
    log,
    machine_facts,
)

QUERIES = ["データ", "ま す 。 を へ", "の", "予算", "ます へ", "ください納期"]
DB_JOBS = "ishibashi_bench_jobs"


def get(source: str, port: int, path: str) -> tuple[int, float]:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60, source_address=(source, 0))
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status, (time.perf_counter() - started) * 1000
    finally:
        conn.close()


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * pct // 100) - 1)] if ordered else 0.0


def probe(port: int, seconds: float) -> dict[str, Any]:
    samples, statuses = [], []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status, ms = get("127.0.0.1", port, "/healthz")
        samples.append(ms)
        statuses.append(status)
        time.sleep(0.2)
    return {
        "n": len(samples), "non_200": sum(1 for s in statuses if s != 200),
        "p50_ms": round(percentile(samples, 50), 1), "p95_ms": round(percentile(samples, 95), 1),
        "max_ms": round(max(samples), 1),
    }  # fmt: skip


def main() -> int:
    if not in_project_venv():
        os.execv(str(PROJECT_PYTHON), [str(PROJECT_PYTHON), __file__, *sys.argv[1:]])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (serve's default)")
    parser.add_argument("--src", help="another checkout's src directory (the 'before' code)")
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    sys.path.insert(0, str(BENCH))
    from common import Postgres
    from http_bench import SCRATCH, Server, free_port

    SCRATCH.mkdir(parents=True, exist_ok=True)
    pg = Postgres()
    env = ishibashi_env(pg.url(DB_JOBS), var_dir=SCRATCH / "var", label="search-healthz")
    if args.src:
        env["PYTHONPATH"] = str(Path(args.src).resolve())
    port = free_port()
    server = Server(env, port, args.workers, SCRATCH / "search-healthz-access.log")
    result: dict[str, Any] = {"machine": machine_facts(), "args": vars(args)}
    try:
        server.wait_ready()
        log("healthz alone")
        result["healthz_alone"] = probe(port, args.seconds)
        stop = threading.Event()
        answers: list[dict[str, Any]] = [{"statuses": {}, "ms": []} for _ in range(args.clients)]

        def client(index: int) -> None:
            source, n = f"127.0.0.{10 + index}", 0
            while not stop.is_set():
                q = QUERIES[(index + n) % len(QUERIES)]
                n += 1
                status, ms = get(source, port, "/api/v1/jobs?" + urllib.parse.urlencode({"q": q}))
                answers[index]["statuses"][status] = answers[index]["statuses"].get(status, 0) + 1
                answers[index]["ms"].append(ms)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
        for thread in threads:
            thread.start()
        log(f"healthz with {args.clients} anonymous clients searching")
        time.sleep(1)
        result["healthz_under_search"] = probe(port, args.seconds)
        stop.set()
        for thread in threads:
            thread.join()
        result["clients"] = [
            {"statuses": a["statuses"], "requests": len(a["ms"]),
             "p50_ms": round(percentile(a["ms"], 50), 1),
             "p95_ms": round(percentile(a["ms"], 95), 1)}
            for a in answers
        ]  # fmt: skip
    finally:
        server.stop()
    RESULTS.mkdir(exist_ok=True)
    suffix = f"-{args.label}" if args.label else ""
    out = RESULTS / f"search-healthz-{result['machine']['date'][:10]}{suffix}.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=2))
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
