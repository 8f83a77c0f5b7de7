"""A production configuration that cannot be safe does not start: one line says why, no
traceback; the demo, whose people share a published password, never runs there."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

GOOD_KEY = "prod-" + "x7Q2" * 13


def _cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("ISHIBASHI_")
    }
    environment.update(
        ISHIBASHI_VAR_DIR=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        ISHIBASHI_ENVIRONMENT="production",
        ISHIBASHI_SECRET_KEY=GOOD_KEY,
        ISHIBASHI_ALLOWED_HOSTS="ishibashi.example.jp",
        ISHIBASHI_ALLOW_SANDBOX_PAYMENTS_IN_PRODUCTION="1",
    )
    environment.update(env)
    return subprocess.run(  # noqa: S603 (our own CLI, fixed arguments)
        [sys.executable, "-m", "ishibashi.config.cli", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"ISHIBASHI_DEBUG": "1"}, "ISHIBASHI_DEBUG"),
        ({"ISHIBASHI_SECRET_KEY": "short-key"}, "ISHIBASHI_SECRET_KEY"),
        ({"ISHIBASHI_SECRET_KEY": "a" * 60}, "ISHIBASHI_SECRET_KEY"),
        ({"ISHIBASHI_ALLOWED_HOSTS": ""}, "ISHIBASHI_ALLOWED_HOSTS"),
    ],
)
def test_an_unsafe_production_setting_is_one_line_and_exit_2(tmp_path, env, named):
    done = _cli(tmp_path, "check", **env)

    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("ishibashi: ")
    assert named in lines[0]


def test_a_safe_production_configuration_passes_the_check(tmp_path):
    done = _cli(tmp_path, "check")

    assert done.returncode == 0, done.stderr


def test_the_demo_data_is_refused_in_production(tmp_path):
    done = _cli(tmp_path, "seed-demo")

    assert done.returncode != 0
    assert "not for production" in done.stderr
    assert "Traceback" not in done.stderr
    assert "worker@example.jp" not in done.stdout
