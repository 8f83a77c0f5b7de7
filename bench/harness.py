"""Run N worker processes for a fixed window and count what they commit (stdlib only).

Shared by ledger_bench.py (Ishibashi's venv) and hordak_project/hordak_bench.py (the hordak
venv), so both sides are timed by the same code.

A worker is named by "module:function". The function is called in the child as
`fn(payload, index)`, after the child set its environment; it does its own setup (django.setup(),
opening the connection, a few warm-up transfers) and returns a callable that makes one transfer.
Timing starts only when every worker is ready: setup and warm-up are not measured.
"""

from __future__ import annotations

import importlib
import multiprocessing as mp
import os
import sys
import time
import traceback
from collections import Counter
from typing import Any

READY_TIMEOUT_S = 180


def _resolve(target: str) -> Any:
    module_name, _, function_name = target.partition(":")
    return getattr(importlib.import_module(module_name), function_name)


def _worker_main(
    target: str, index: int, payload: dict[str, Any], env: dict[str, str], sys_path: list[str],
    ready: Any, go: Any, end_at: Any, results: Any,
) -> None:  # fmt: skip
    os.environ.update(env)
    for entry in reversed(sys_path):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    try:
        one_transfer, retryable = _resolve(target)(payload, index)
    except BaseException:
        ready.put(("error", index, traceback.format_exc()))
        return
    ready.put(("ready", index, ""))
    go.wait()
    end = end_at.value
    cpu_start = time.process_time()
    committed = 0
    errors: Counter[str] = Counter()
    first_error = ""
    while time.monotonic() < end:
        try:
            one_transfer()
        except retryable as error:  # a deadlock or serialization failure: count it, go on
            errors[type(error).__name__] += 1
            first_error = first_error or repr(error)
            continue
        except BaseException:
            results.put({"index": index, "fatal": traceback.format_exc()})
            return
        committed += 1
    results.put(
        {"index": index, "committed": committed, "errors": dict(errors), "first_error": first_error,
         "cpu_s": time.process_time() - cpu_start}
    )  # fmt: skip


def run_workers(
    *, target: str, workers: int, seconds: float, payload: dict[str, Any], env: dict[str, str],
    sys_path: list[str] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Start `workers` spawned processes, open the window when all are ready, sum their counts."""
    ctx = mp.get_context("spawn")
    ready, results = ctx.Queue(), ctx.Queue()
    go, end_at = ctx.Event(), ctx.Value("d", 0.0)
    procs = [
        ctx.Process(
            target=_worker_main,
            args=(target, i, payload, env, sys_path or [], ready, go, end_at, results),
            daemon=True,
        )
        for i in range(workers)
    ]
    for proc in procs:
        proc.start()
    try:
        for _ in range(workers):
            state, index, detail = ready.get(timeout=READY_TIMEOUT_S)
            if state == "error":
                raise RuntimeError(f"worker {index} failed during setup:\n{detail}")
        # CLOCK_MONOTONIC is system-wide on Linux, so every process sees the same deadline.
        start = time.monotonic() + 0.05
        end_at.value = start + seconds
        go.set()
        rows = [results.get(timeout=seconds + READY_TIMEOUT_S) for _ in range(workers)]
        wall = time.monotonic() - start
    finally:
        for proc in procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.terminate()
    fatal = [row["fatal"] for row in rows if "fatal" in row]
    if fatal:
        raise RuntimeError(f"a worker crashed during the run:\n{fatal[0]}")
    committed = sum(row["committed"] for row in rows)
    cpu_s = sum(row["cpu_s"] for row in rows)
    errors: Counter[str] = Counter()
    for row in rows:
        errors.update(row["errors"])
    return {
        "workers": workers,
        "seconds": seconds,
        "wall_seconds": round(wall, 3),
        "committed": committed,
        "per_second": round(committed / seconds, 1),
        "per_worker": [row["committed"] for row in sorted(rows, key=lambda r: r["index"])],
        # CPU time of the worker processes only (Python, Django, the driver); not the server's.
        "client_cpu_us_per_transfer": round(1e6 * cpu_s / committed) if committed else None,
        "retryable_errors": dict(errors),
        "first_error": next((row["first_error"] for row in rows if row["first_error"]), ""),
    }


def run_in_child(target: str, payload: dict[str, Any], env: dict[str, str],
                 sys_path: list[str] | None = None) -> Any:  # fmt: skip
    """Run one function in a fresh spawned process (its own django.setup()); return its result."""
    ctx = mp.get_context("spawn")
    with ctx.Pool(1) as pool:
        return pool.apply(_child_call, (target, payload, env, sys_path or []))


def _child_call(target: str, payload: dict[str, Any], env: dict[str, str],
                sys_path: list[str]) -> Any:  # fmt: skip
    os.environ.update(env)
    for entry in reversed(sys_path):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    return _resolve(target)(payload)
