"""What the fault tests share: the app's environment, its CLI and checks, as subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent


def app_env(url: str, var_dir: Path) -> dict[str, str]:
    """The environment of an app process (server, sweeper, CLI) on database `url`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ISHIBASHI_", "PG", "DJANGO_"))
    }
    env.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="ishibashi.config.settings",
        ISHIBASHI_VAR_DIR=str(var_dir),
        ISHIBASHI_SECRET_KEY="faults-suite-only-" + "k3y" * 16,
        ISHIBASHI_EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
        # Eight people signed up from one address, proposing round after round.
        ISHIBASHI_ACCOUNT_ABUSE_LIMITS="0",
        ISHIBASHI_LOG_LEVEL="WARNING",
    )
    return env


def run_cli(
    env: dict[str, str], *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`ishibashi ARGS…` as a separate process, as an operator would run it."""
    return subprocess.run(
        [sys.executable, "-m", "ishibashi.config.cli", *args],
        env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def run_actor(env: dict[str, str], *args: str, timeout: float = 300) -> Any:
    """tests/faults/actors.py ARGS… (Django-side set-up and checks); its JSON answer."""
    done = subprocess.run(
        [sys.executable, str(HERE / "actors.py"), *args],
        env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        pytest.fail(f"actors.py {' '.join(args)} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_later(env: dict[str, str], seconds: float, *args: str) -> str:
    """`ishibashi ARGS…` in a process whose clock runs `seconds` ahead; its output."""
    done = subprocess.run(
        [sys.executable, str(HERE / "actors.py"), "later", str(seconds), *args],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    return done.stdout


def assert_books_and_chains_hold(env: dict[str, str]) -> dict[str, Any]:
    """What must hold after every fault: the books balance, every event chain verifies, and no
    due milestone sits under a lease that lapsed with nobody working it. Returns verify's JSON."""
    books = run_cli(env, "check-books")
    assert books.returncode == 0, f"check-books failed:\n{books.stdout}\n{books.stderr}"
    assert books.stdout.startswith("OK")
    state = run_actor(env, "verify")
    assert state["chains_broken"] == {}, "event chains that do not verify (contract: sequence)"
    assert state["stuck_leases"] == [], "due milestones under a lapsed lease"
    return state
