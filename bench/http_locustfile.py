"""Locust users for bench/http_bench.py: the whole lifecycle over the JSON API, /healthz, and one
reader of a large contract. Every request is named by its endpoint (`name=`), so the statistics
group per endpoint whatever the ids.

    HealthzUser     GET /healthz, again and again
    LifecycleUser   a client and a worker sign up and take API tokens, then, again and again: the
                    client posts a job, the worker searches for it and proposes, the client hires,
                    deposits by card (sandbox), reads the contract and funds the milestone, the
                    worker starts, delivers a small file, the client approves, and the worker
                    reads the wallet and asks for a payout of the earnings
    ContractReader  one user: builds a contract of 12 milestones (11 paid, one delivered) with
                    messages through the API (requests named "setup: …", left out of the figures),
                    logs in through the log-in form, then reads the contract page (HTML, session)
                    and the contract API (GET /api/v1/contracts/{id}) in turn

No user waits between requests: the figures are what the server carries, not a traffic model.
A response with another status than the one the API documents counts as a failure, and the
lifecycle of that iteration stops there (the next one starts afresh).

Run it through bench/http_bench.py, which starts the server and the database. By hand:
    .venv/bin/locust -f bench/http_locustfile.py --headless -u 8 -r 8 -t 30s \
        --host http://127.0.0.1:8000 LifecycleUser
"""

# A benchmark: random ids (S311) and its users' fixed password (S105).
# ruff: noqa: S311, S105

from __future__ import annotations

import datetime as dt
import email as email_parser
import email.policy
import itertools
import os
import random
import re
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from locust import FastHttpUser, constant, task
from locust.exception import RescheduleTask, StopUser

PASSWORD = "hashi-wo-tataku-bench-2026"
AMOUNT_JPY = 10_000
CARD = "4242424242424242"  # the sandbox card that always succeeds
BIG_MILESTONES = 12  # a proposal's maximum
BIG_MESSAGES = int(os.environ.get("HTTP_BENCH_BIG_MESSAGES", "60"))
API = "/api/v1"
JST = dt.timezone(dt.timedelta(hours=9))
_serial = itertools.count(1)


def _run_tag() -> str:
    # Unique per locust process and user, so e-mails and search terms never collide across runs.
    return f"{os.getpid():x}{random.getrandbits(32):08x}{next(_serial):x}"


def _dates() -> dict[str, str]:
    now = dt.datetime.now(JST)
    return {
        "deadline": (now + dt.timedelta(days=7)).isoformat(timespec="seconds"),
        "delivery_on": (now.date() + dt.timedelta(days=30)).isoformat(),
        "due_on": (now.date() + dt.timedelta(days=20)).isoformat(),
    }


def multipart(
    fields: dict[str, str], files: dict[str, tuple[str, bytes, str]]
) -> tuple[bytes, str]:
    """A multipart/form-data body and its Content-Type (FastHttpSession has no `files=`)."""
    boundary = f"----ishibashi-bench-{uuid.uuid4().hex}"
    chunks: list[bytes] = []
    for name, value in fields.items():
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode()
            + b"\r\n"
        )
    for name, (filename, content, content_type) in files.items():
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'.encode()
            + content
            + b"\r\n"
        )
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def _mailed_verification_token(mail_dir: Path, to: str) -> str:
    """The token of the confirmation link mailed to `to`, or "" if none has arrived yet."""
    marker = "/accounts/verify-email/"
    for mail_file in mail_dir.glob("*.log") if mail_dir.exists() else []:
        raw_file = mail_file.read_bytes()
        if to.encode() not in raw_file:
            continue
        for raw in raw_file.split(b"\n" + b"-" * 79 + b"\n"):
            message = email_parser.message_from_bytes(raw.strip(), policy=email.policy.default)
            body = message.get_body(("plain",)) if message["To"] == to else None
            for line in body.get_content().splitlines() if body is not None else []:
                if marker in line:
                    return line.split(marker, 1)[1].strip().strip("/")
    return ""


class ApiUser(FastHttpUser):
    """A FastHttpUser with the API's calls: expected status checked, JSON returned."""

    abstract = True
    wait_time = constant(0)

    def call(
        self,
        method: str,
        path: str,
        name: str,
        *,
        expect: int = 200,
        token: str | None = None,
        body: Any = None,
        data: bytes | None = None,
        content_type: str | None = None,
    ) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if content_type:
            headers["Content-Type"] = content_type
        with self.client.request(
            method, path, name=name, headers=headers, json=body, data=data, catch_response=True
        ) as response:
            if response.status_code != expect:
                text = (response.text or "")[:300]
                response.failure(f"{response.status_code} (expected {expect}): {text}")
                raise RescheduleTask()
            try:
                return response.json() if expect != 204 else None
            except ValueError:
                response.failure("not JSON")
                raise RescheduleTask() from None

    def confirm_email(self, email: str, name: str) -> None:
        """Follow the confirmation link the server mailed to `email` (the file mail backend)."""
        mail_dir = Path(os.environ["HTTP_BENCH_MAIL_DIR"])
        deadline = time.monotonic() + 10
        while True:
            token = _mailed_verification_token(mail_dir, email)
            if token or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        if not token:
            raise StopUser()
        self.call("POST", f"{API}/auth/verify-email", name, body={"token": token})

    def sign_up(self, role: str, tag: str) -> tuple[str, str]:
        """(e-mail, bearer token) of a new account, its address confirmed."""
        email = f"{role}-{tag}@bench.example.jp"
        self.call(
            "POST", f"{API}/auth/signup", "POST /api/v1/auth/signup", expect=202,
            body={"email": email, "password": PASSWORD, "display_name": f"{role} {tag}"[:50],
                  "roles": [role], "entity_type": "individual"},
        )  # fmt: skip
        self.confirm_email(email, "POST /api/v1/auth/verify-email")
        issued = self.call(
            "POST", f"{API}/auth/token", "POST /api/v1/auth/token", expect=201,
            body={"email": email, "password": PASSWORD, "name": "bench"},
        )  # fmt: skip
        return email, issued["token"]

    def hired_contract(
        self, client: str, worker: str, *, milestones: int, prefix: str = ""
    ) -> dict[str, Any]:
        """Job posted, found by search, proposed on and hired: the contract (hire's answer)."""
        term = f"HB{_run_tag()}"
        when = _dates()
        total = AMOUNT_JPY * milestones
        job = self.call(
            "POST", f"{API}/jobs", prefix + "POST /api/v1/jobs", expect=201, token=client,
            body={"title": f"サーバー移行 {term}", "description": f"既存サイトの移行です。{term}",
                  "category": "server_infrastructure", "contract_type": "fixed",
                  "budget_min_jpy": total // 2, "budget_max_jpy": total * 2,
                  "recruiting_deadline": when["deadline"],
                  "desired_delivery_on": when["delivery_on"],
                  "scope_deliverables": "移行済みのサイト",
                  "scope_acceptance_criteria": "全ページが表示されること", "publish": True},
        )  # fmt: skip
        found = self.call(
            "GET", f"{API}/jobs?q={term}", prefix + "GET /api/v1/jobs?q=", token=worker
        )
        if [item["id"] for item in found["items"]] != [job["id"]]:
            self.environment.events.request.fire(
                request_type="CHECK", name="search finds the job", response_time=0,
                response_length=0, exception=AssertionError(f"search for {term}: {found}"),
            )  # fmt: skip
            raise RescheduleTask()
        proposal = self.call(
            "POST", f"{API}/jobs/{job['id']}/proposals",
            prefix + "POST /api/v1/jobs/{id}/proposals", expect=201, token=worker,
            body={"cover_letter": "経験があります。", "total_jpy": total,
                  "milestones": [{"title": f"工程{i + 1}", "kind": "main_work",
                                  "amount_jpy": AMOUNT_JPY, "due_on": when["due_on"]}
                                 for i in range(milestones)]},
        )  # fmt: skip
        return self.call(
            "POST", f"{API}/proposals/{proposal['id']}/hire",
            prefix + "POST /api/v1/proposals/{id}/hire", expect=201, token=client, body={},
        )  # fmt: skip

    def deposit(self, client: str, amount_jpy: int, prefix: str = "") -> None:
        self.call(
            "POST", f"{API}/wallet/deposits", prefix + "POST /api/v1/wallet/deposits",
            expect=201, token=client,
            body={"amount_jpy": amount_jpy, "method": "card", "card_number": CARD},
        )  # fmt: skip

    def work_through(
        self, client: str, worker: str, milestone_id: int, *, approve: bool = True, prefix: str = ""
    ) -> None:
        """Fund, start, deliver a small file and (if `approve`) approve one milestone."""
        self.call(
            "POST", f"{API}/milestones/{milestone_id}/fund",
            prefix + "POST /api/v1/milestones/{id}/fund", token=client,
        )  # fmt: skip
        self.call(
            "POST", f"{API}/milestones/{milestone_id}/start",
            prefix + "POST /api/v1/milestones/{id}/start", token=worker,
        )  # fmt: skip
        data, content_type = multipart(
            {"message": "移行が完了しました。手順書を添付します。"},
            {"full_files": ("手順書.txt", "移行手順\n1. バックアップ\n2. 移行\n".encode() * 20,
                            "text/plain")},
        )  # fmt: skip
        delivery = self.call(
            "POST", f"{API}/milestones/{milestone_id}/deliveries",
            prefix + "POST /api/v1/milestones/{id}/deliveries", expect=201, token=worker,
            data=data, content_type=content_type,
        )  # fmt: skip
        if approve:
            self.call(
                "POST", f"{API}/deliveries/{delivery['id']}/approve",
                prefix + "POST /api/v1/deliveries/{id}/approve", token=client,
            )  # fmt: skip


class HealthzUser(ApiUser):
    @task
    def healthz(self) -> None:
        self.call("GET", "/healthz", "GET /healthz")


class LifecycleUser(ApiUser):
    """A client and a worker, working one contract after another."""

    def on_start(self) -> None:
        tag = _run_tag()
        try:
            _email, self.client_token = self.sign_up("client", tag)
            _email, self.worker_token = self.sign_up("worker", tag)
        except RescheduleTask:
            raise StopUser() from None

    @task
    def lifecycle(self) -> None:
        client, worker = self.client_token, self.worker_token
        contract = self.hired_contract(client, worker, milestones=1)
        milestone_id = contract["milestones"][0]["id"]
        self.deposit(client, AMOUNT_JPY)
        self.call(
            "GET", f"{API}/contracts/{contract['id']}", "GET /api/v1/contracts/{id}", token=client
        )
        self.work_through(client, worker, milestone_id)
        wallet = self.call("GET", f"{API}/wallet", "GET /api/v1/wallet", token=worker)
        self.call(
            "POST", f"{API}/wallet/payouts", "POST /api/v1/wallet/payouts", expect=201,
            token=worker,
            body={"amount_jpy": wallet["earnings_jpy"], "bank_name": "みずほ銀行",
                  "branch_name": "本店", "account_type": "ordinary",
                  "account_number": f"{random.randrange(1, 10_000_000):07d}",
                  "account_holder": "ジュチュウ タロウ"},
        )  # fmt: skip


class ContractReader(ApiUser):
    """One person reading one large contract, page and API in turn."""

    def on_start(self) -> None:
        setup = "setup: "
        tag = _run_tag()
        try:
            client_email, client = self._setup_sign_up("client", tag)
            _email, worker = self._setup_sign_up("worker", tag)
            contract = self.hired_contract(client, worker, milestones=BIG_MILESTONES, prefix=setup)
            self.deposit(client, AMOUNT_JPY * BIG_MILESTONES, prefix=setup)
            ids = [m["id"] for m in contract["milestones"]]
            for index, milestone_id in enumerate(ids):
                state = self.call(
                    "GET", f"{API}/milestones/{milestone_id}", setup + "GET milestone",
                    token=client,
                )["state"]  # fmt: skip
                if state == "draft":
                    self.call(
                        "POST", f"{API}/milestones/{milestone_id}/request-funding",
                        setup + "POST request-funding", token=worker,
                    )  # fmt: skip
                self.work_through(
                    client, worker, milestone_id, approve=index < len(ids) - 1, prefix=setup
                )
            for n in range(BIG_MESSAGES):
                self.call(
                    "POST", f"{API}/contracts/{contract['id']}/messages", setup + "POST message",
                    expect=201, token=worker if n % 2 else client,
                    body={"body": f"進捗のご連絡 {n + 1}: 問題ありません。"},
                )  # fmt: skip
            self.contract_id = contract["id"]
            self.token = client
            self._log_in(client_email)
        except RescheduleTask:
            raise StopUser() from None

    def _setup_sign_up(self, role: str, tag: str) -> tuple[str, str]:
        email = f"{role}-{tag}@bench.example.jp"
        self.call(
            "POST", f"{API}/auth/signup", "setup: signup", expect=202,
            body={"email": email, "password": PASSWORD, "display_name": f"{role} {tag}"[:50],
                  "roles": [role], "entity_type": "individual"},
        )  # fmt: skip
        self.confirm_email(email, "setup: verify-email")
        issued = self.call(
            "POST", f"{API}/auth/token", "setup: token", expect=201,
            body={"email": email, "password": PASSWORD, "name": "bench"},
        )  # fmt: skip
        return email, issued["token"]

    def _log_in(self, email: str) -> None:
        """The log-in form, as a browser sends it: the session cookie stays in the cookie jar."""
        form = self.client.get("/accounts/login/", name="setup: login form")
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text or "")
        if match is None:
            raise StopUser()
        body = urlencode(
            {"csrfmiddlewaretoken": match.group(1), "email": email, "password": PASSWORD}
        )
        with self.client.post(
            "/accounts/login/", name="setup: login", data=body, allow_redirects=False,
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "Referer": f"{self.host}/accounts/login/"},
            catch_response=True,
        ) as response:  # fmt: skip
            if response.status_code != 302:
                response.failure(f"log-in: {response.status_code}")
                raise StopUser()

    @task
    def read(self) -> None:
        with self.client.get(
            f"/contracts/{self.contract_id}/", name="GET /contracts/{id}/ (HTML)",
            catch_response=True,
        ) as response:  # fmt: skip
            if response.status_code != 200 or "工程12" not in (response.text or ""):
                response.failure(f"contract page: {response.status_code}")
        contract = self.call(
            "GET", f"{API}/contracts/{self.contract_id}", "GET /api/v1/contracts/{id}",
            token=self.token,
        )  # fmt: skip
        if len(contract["milestones"]) != BIG_MILESTONES:
            raise StopUser()


__all__ = ["ContractReader", "HealthzUser", "LifecycleUser"]
