"""The production server (`ishibashi serve`, gunicorn) under test, and a plain HTTP client.

The client is http.client, one connection per request, so a killed worker or a refused
connection shows up as an `HttpResult` with `status=None` instead of an exception.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import email.policy
import http.client
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.faults.cluster import free_port

STRONG_PASSWORD = "hashi-wo-tataku-2026"
# A milestone delivered with a report alone (research), then the completion check.
REPORT_SPLIT = (("事前調査", "research", 20_000), ("作業完了確認", "completion_check", 20_000))


@dataclass
class HttpResult:
    status: int | None  # None: no answer (connection refused, reset or closed mid-request)
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    error: str = ""

    @property
    def text(self) -> str:
        return self.body if isinstance(self.body, str) else json.dumps(self.body)


class Server:
    """`ishibashi serve` on a free port; `workers()` are the gunicorn worker pids."""

    def __init__(self, env: dict[str, str], var_dir: Path, *, workers: int) -> None:
        self.port = free_port()
        self.base = f"127.0.0.1:{self.port}"
        self.log_path = var_dir / "server.log"
        # Mail as files, so a sign-up can follow its confirmation link as a person would.
        self.mail_dir = var_dir / "mail"
        env = {**env, "ISHIBASHI_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
               "ISHIBASHI_VAR_DIR": str(var_dir)}  # fmt: skip
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ishibashi.config.cli", "serve", "--host", "127.0.0.1",
             "--port", str(self.port), "--workers", str(workers)],
            env=env, stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while request(self.base, "GET", "/healthz").status != 200:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start:\n{self.log_tail()}")
            time.sleep(0.2)

    def workers(self) -> list[int]:
        """The master's children: gunicorn's workers (the master execs from `ishibashi serve`)."""
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return [int(child) for child in children]

    def wait_workers(self, count: int, *, exclude: set[int] = frozenset(), timeout: float = 30):
        deadline = time.monotonic() + timeout
        while True:
            pids = [pid for pid in self.workers() if pid not in exclude]
            if len(pids) >= count:
                return pids
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not replace its worker:\n{self.log_tail()}")
            time.sleep(0.05)

    def log_tail(self, chars: int = 4000) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-chars:]

    def access_statuses(self) -> list[int]:
        """Every status in gunicorn's access log (the common log format's 9th field)."""
        self._log.flush()
        statuses = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            parts = line.split('"')
            if len(parts) >= 3 and parts[2].split()[:1] and parts[2].split()[0].isdigit():
                statuses.append(int(parts[2].split()[0]))
        return statuses

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()


@contextlib.contextmanager
def serving(env: dict[str, str], var_dir: Path, *, workers: int) -> Iterator[Server]:
    server = Server(env, var_dir, workers=workers)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def request(
    base: str,
    method: str,
    path: str,
    *,
    token: str | None = None,
    json_body: Any = None,
    form: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> HttpResult:
    host, port = base.split(":")
    sent = {"Accept-Language": "ja", **(headers or {})}
    body: bytes | None = None
    if token:
        sent["Authorization"] = f"Bearer {token}"
    if json_body is not None:
        body = json.dumps(json_body).encode()
        sent["Content-Type"] = "application/json"
    elif form is not None:
        boundary = uuid.uuid4().hex
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            for name, value in form.items()
        ]
        body = ("".join(parts) + f"--{boundary}--\r\n").encode()
        sent["Content-Type"] = f"multipart/form-data; boundary={boundary}"
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        raw = response.read()
        answer_headers = {key.lower(): value for key, value in response.getheaders()}
    except (OSError, http.client.HTTPException) as error:
        return HttpResult(None, error=f"{type(error).__name__}: {error}")
    finally:
        connection.close()
    text = raw.decode("utf-8", errors="replace")
    parsed: Any = text
    if answer_headers.get("content-type", "").startswith("application/json"):
        parsed = json.loads(text)
    return HttpResult(response.status, answer_headers, parsed)


def mailed_token(mail_dir: Path, to: str, *, path: str = "/accounts/verify-email/") -> str:
    """The token of the newest link under `path` mailed to `to` (the file e-mail backend)."""
    found = ""
    for mail_file in sorted(mail_dir.glob("*.log"), key=lambda f: f.stat().st_mtime):
        for raw in mail_file.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            message = email.message_from_bytes(raw.strip(), policy=email.policy.default)
            if message["To"] != to:
                continue
            body = message.get_body(("plain",))
            text = body.get_content() if body is not None else ""
            for line in text.splitlines():
                if path in line:
                    found = line.split(path, 1)[1].strip().strip("/")
    assert found, f"no mail to {to} with {path}"
    return found


class Person:
    """Someone signed up over the API, confirmed their address from the mail, with a token."""

    def __init__(self, server: Server, email: str, *, client: bool) -> None:
        base = self.base = server.base
        roles = ["client"] if client else ["worker"]
        signup = {"email": email, "password": STRONG_PASSWORD, "display_name": "故障 試験",
                  "roles": roles}  # fmt: skip
        answer = request(base, "POST", "/api/v1/auth/signup", json_body=signup)
        assert answer.status == 202, answer
        token = mailed_token(server.mail_dir, email)
        answer = request(base, "POST", "/api/v1/auth/verify-email", json_body={"token": token})
        assert answer.status == 200, answer
        answer = request(
            base, "POST", "/api/v1/auth/token",
            json_body={"email": email, "password": STRONG_PASSWORD, "name": "faults"},
        )  # fmt: skip
        assert answer.status == 201, answer
        self.token: str = answer.body["token"]

    def call(self, method: str, path: str, **kwargs: Any) -> HttpResult:
        return request(self.base, method, "/api/v1" + path, token=self.token, **kwargs)


def job_body(title: str) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    total = sum(amount for _t, _k, amount in REPORT_SPLIT)
    return {
        "title": title, "description": "障害試験の案件です。調査と完了確認をお願いします。",
        "category": "server_infrastructure", "contract_type": "fixed",
        "budget_min_jpy": total // 2, "budget_max_jpy": total * 2,
        "recruiting_deadline": (now + dt.timedelta(days=7)).isoformat(),
        "desired_delivery_on": (now + dt.timedelta(days=40)).date().isoformat(),
        "scope_deliverables": "調査報告", "scope_acceptance_criteria": "報告があること",
        "publish": True,
    }  # fmt: skip


def proposal_body() -> dict[str, Any]:
    due = (dt.datetime.now(dt.UTC) + dt.timedelta(days=20)).date().isoformat()
    return {
        "cover_letter": "経験があります。",
        "total_jpy": sum(amount for _t, _k, amount in REPORT_SPLIT),
        "milestones": [
            {"title": title, "kind": kind, "amount_jpy": amount, "due_on": due}
            for title, kind, amount in REPORT_SPLIT
        ],
    }


def app_env_for_server(env: dict[str, str]) -> dict[str, str]:
    """The production configuration (`ISHIBASHI_ENVIRONMENT=production`), on loopback."""
    return {
        **env,
        "ISHIBASHI_ENVIRONMENT": "production",
        "ISHIBASHI_ALLOWED_HOSTS": "127.0.0.1,localhost",
        # The server answers plain HTTP on loopback: the documented opt-out of production's
        # HTTPS-only defaults (deploy/README.md), which `serve` would otherwise refuse.
        "ISHIBASHI_ALLOW_PLAIN_HTTP": "1",
        # The payment provider stays the sandbox: deposits succeed without a card network.
        "ISHIBASHI_ALLOW_SANDBOX_PAYMENTS_IN_PRODUCTION": "1",
        "PYTHONUNBUFFERED": "1",
        **({"ISHIBASHI_LOG_LEVEL": os.environ["FAULTS_LOG_LEVEL"]}
           if "FAULTS_LOG_LEVEL" in os.environ else {}),
    }  # fmt: skip
