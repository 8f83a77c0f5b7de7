"""Two servers on one machine each keep their own gunicorn control socket."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(port: int, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                return answer.status == 200
        except OSError:
            time.sleep(0.3)
    return False


def test_two_servers_run_side_by_side_with_a_control_socket_each(tmp_path: Path):
    ports = [_free_port(), _free_port()]
    env = {
        **os.environ,
        "ISHIBASHI_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "ISHIBASHI_DEBUG": "0",
    }
    ishibashi = [sys.executable, "-m", "ishibashi.config.cli"]
    servers = [
        subprocess.Popen(  # noqa: S603 (our own CLI, fixed arguments)
            [*ishibashi, "serve", "--port", str(port), "--workers", "1"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    try:
        assert all(_healthy(port) for port in ports)
        sockets = sorted(p.name for p in (tmp_path / "run").iterdir())
        assert sockets == sorted(f"gunicorn-{port}.ctl" for port in ports)
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=20)
