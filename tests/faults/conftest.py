"""The fault suite's fixtures: a private PostgreSQL server, one database per test, the CLI.

Every test here is marked `faults` and runs only under `make test-faults` (`pytest -m faults`);
the normal runs deselect the mark (pyproject's addopts). The suite needs Debian's PostgreSQL
server binaries (/usr/lib/postgresql/<version>/bin) and, when run as root, the `postgres` user.
It never touches the shared server named by DATABASE_URL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.faults.cluster import Cluster, pg_bindir
from tests.faults.harness import app_env, run_cli

TEMPLATE = "ishibashi_faults_template"


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    bindir = pg_bindir()
    if bindir is None:
        pytest.fail("the fault suite needs Debian's PostgreSQL server (postgresql-15): not found")
    server = Cluster(bindir)
    try:
        server.start()
        yield server
    finally:
        server.destroy()


@pytest.fixture
def say(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """A line on the terminal, captured output or not: what the fault did, in numbers."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")

    def write(message: str) -> None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"[faults] {message}")

    return write


@pytest.fixture(scope="session")
def migrated_template(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database that each test copies (CREATE DATABASE … TEMPLATE)."""
    cluster.create_database(TEMPLATE)
    env = app_env(cluster.url(TEMPLATE), tmp_path_factory.mktemp("migrate-var"))
    done = run_cli(env, "migrate", "--no-input", "--verbosity", "0")
    if done.returncode != 0:
        pytest.fail(f"migrate failed:\n{done.stderr[-4000:]}")
    return TEMPLATE


@pytest.fixture
def app_db(
    cluster: Cluster, migrated_template: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Callable[[], tuple[str, dict[str, str]]]:
    """A fresh migrated database for this test: (its name, the app's environment on it)."""

    def make() -> tuple[str, dict[str, str]]:
        name = f"ishibashi_faults_{request.node.name[:40]}".lower()
        cluster.create_database(name, template=migrated_template)
        (tmp_path / "var").mkdir(exist_ok=True)
        return name, app_env(cluster.url(name), tmp_path / "var")

    return make
