"""The production stack of deploy/ as real processes: `ishibashi serve`, nginx in front, and
clients that trickle their request heads to hold connections open (issue #11)."""

from __future__ import annotations

import contextlib
import os
import secrets
import select
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def documented_env(var_dir: Path, *, port: int) -> dict[str, str]:
    """deploy/ishibashi.env.example line by line, with a fresh secret, a SQLite database and a
    var folder of this test's own, and a free port."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ISHIBASHI_", "DJANGO_", "PG")) and key not in {"PORT"}
    }
    for line in (DEPLOY / "ishibashi.env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key] = value
    env.update(
        ISHIBASHI_SECRET_KEY=secrets.token_urlsafe(50),
        DATABASE_URL=f"sqlite:///{var_dir / 'app.sqlite3'}",
        ISHIBASHI_VAR_DIR=str(var_dir),
        PORT=str(port),
        PYTHONUNBUFFERED="1",
    )
    return env


def run_cli(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ishibashi.config.cli", *args],
        env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


class Serve:
    """`ishibashi serve` with the env given; its log in var_dir/serve.log."""

    def __init__(self, env: dict[str, str], var_dir: Path) -> None:
        self.port = int(env["PORT"])
        # Production answers only its own host names, health checks included.
        self.host = env.get("ISHIBASHI_ALLOWED_HOSTS", "127.0.0.1").split(",")[0]
        self.log_path = var_dir / "serve.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ishibashi.config.cli", "serve"],
            env=env, stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                status, _ = http_get(
                    ("127.0.0.1", self.port), "/healthz", timeout=5, host=self.host
                )
                if status == 200:
                    return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"serve did not start:\n{self.log_tail()}")
            time.sleep(0.3)

    def log_tail(self, chars: int = 4000) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()


@contextlib.contextmanager
def serving(env: dict[str, str], var_dir: Path) -> Iterator[Serve]:
    server = Serve(env, var_dir)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def make_certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=ishibashi.example.jp", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


def render_nginx(folder: Path, *, app_port: int, http_port: int, https_port: int) -> Path:
    """deploy/nginx.conf on loopback ports, with a throwaway certificate, inside a main file of
    this test's own (pid, logs and temporary files in `folder`)."""
    cert, key = make_certificate(folder)
    site = (DEPLOY / "nginx.conf").read_text()
    replacements = {
        "server 127.0.0.1:8000;": f"server 127.0.0.1:{app_port};",
        "    listen 80;\n": f"    listen 127.0.0.1:{http_port};\n",
        "    listen [::]:80;\n": "",
        "    listen 443 ssl;\n": f"    listen 127.0.0.1:{https_port} ssl;\n",
        "    listen [::]:443 ssl;\n": "",
        "/etc/letsencrypt/live/ishibashi.example.jp/fullchain.pem": str(cert),
        "/etc/letsencrypt/live/ishibashi.example.jp/privkey.pem": str(key),
    }
    for old, new in replacements.items():
        assert site.count(old) == 1, f"deploy/nginx.conf no longer has {old!r} once"
        site = site.replace(old, new)
    (folder / "site.conf").write_text(site)
    user = "user root root;\n" if os.geteuid() == 0 else ""
    main = folder / "nginx.conf"
    main.write_text(
        f"{user}daemon off;\nworker_processes 1;\npid {folder}/nginx.pid;\n"
        f"error_log {folder}/error.log info;\n"
        "events { worker_connections 512; }\n"
        "http {\n"
        f"  access_log {folder}/access.log;\n"
        + "".join(
            f"  {kind}_temp_path {folder}/{kind}-temp;\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        + f"  include {folder}/site.conf;\n"
        "}\n"
    )
    return main


def nginx_test(main: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [NGINX, "-t", "-p", str(main.parent), "-c", str(main), "-e", str(main.parent / "error.log")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


@contextlib.contextmanager
def nginx_running(main: Path, https_port: int) -> Iterator[subprocess.Popen]:
    process = subprocess.Popen(
        [NGINX, "-p", str(main.parent), "-c", str(main), "-e", str(main.parent / "error.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", https_port), timeout=2),
            ):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((main.parent / "error.log").read_text()[-3000:])
            time.sleep(0.2)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _tls() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the test's own throwaway certificate
    return context


def _connect(address: tuple[str, int], *, tls: bool, timeout: float) -> socket.socket:
    sock = socket.create_connection(address, timeout=timeout)
    if tls:
        return _tls().wrap_socket(sock, server_hostname="ishibashi.example.jp")
    return sock


def http_get(
    address: tuple[str, int],
    path: str,
    *,
    tls: bool = False,
    timeout: float = 30,
    host: str = "127.0.0.1",
    headers: str = "",
) -> tuple[int, str]:
    """One request on a fresh connection (Connection: close): the status and the whole answer."""
    with _connect(address, tls=tls, timeout=timeout) as sock:
        sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{headers}Connection: close\r\n\r\n".encode()
        )
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    answer = b"".join(chunks).decode("utf-8", errors="replace")
    return int(answer.split(" ", 2)[1]), answer


class Tricklers:
    """`count` connections that send a request head one header line a second, never finishing it.

    One thread does all the sending and reading (a TLS socket is not safe to share between
    threads); `lifetimes` holds how long the server let each connection live once it closed it.
    """

    def __init__(self, address: tuple[str, int], count: int, *, tls: bool, host: str) -> None:
        self.socks = [_connect(address, tls=tls, timeout=60) for _ in range(count)]
        for sock in self.socks:
            sock.sendall(f"GET /healthz HTTP/1.1\r\nHost: {host}\r\n".encode())
            sock.setblocking(False)
        self.opened = time.monotonic()
        self.lifetimes: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _closed(self, index: int) -> None:
        self.lifetimes.setdefault(index, time.monotonic() - self.opened)

    def _run(self) -> None:
        line = 0
        next_send = time.monotonic() + 1
        while not self._stop.is_set():
            live = {sock: i for i, sock in enumerate(self.socks) if i not in self.lifetimes}
            if not live:
                return
            readable, _, _ = select.select(list(live), [], [], 0.2)
            for sock in readable:
                try:
                    if not sock.recv(4096):
                        self._closed(live[sock])
                except (ssl.SSLWantReadError, BlockingIOError):
                    pass
                except OSError:
                    self._closed(live[sock])
            if time.monotonic() >= next_send:
                line += 1
                next_send += 1
                for sock, i in live.items():
                    if i in self.lifetimes:
                        continue
                    try:
                        sock.send(f"X-Slow-{line}: aaaaaaaa\r\n".encode())
                    except (ssl.SSLWantWriteError, BlockingIOError):
                        pass
                    except OSError:
                        self._closed(i)

    def still_open(self) -> int:
        return len(self.socks) - len(self.lifetimes)

    def wait_all_closed(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.still_open() and time.monotonic() < deadline:
            time.sleep(0.2)
        return self.still_open() == 0

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        for sock in self.socks:
            with contextlib.suppress(OSError):
                sock.close()


@contextlib.contextmanager
def trickling(address: tuple[str, int], count: int, *, tls: bool, host: str) -> Iterator[Tricklers]:
    tricklers = Tricklers(address, count, tls=tls, host=host)
    try:
        yield tricklers
    finally:
        tricklers.stop()
