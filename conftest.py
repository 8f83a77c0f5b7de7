"""Fixtures shared by every test: people made through the real services, API helpers, a browser."""

from __future__ import annotations

import email
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

CHROMIUM = os.environ.get("ISHIBASHI_CHROMIUM", "/usr/bin/chromium")
STRONG_PASSWORD = "hashi-wo-tataku-2026"


@pytest.fixture
def make_user(db: None) -> Callable[..., Any]:
    """Create a person through user_signup, as a real sign-up would.

    The address counts as confirmed (`email_verified=False` for a person who has not opened
    the link yet): only tests about verification need unverified people."""
    from ishibashi.accounts.services import user_signup

    counter = {"n": 0}

    def make(
        *,
        email: str | None = None,
        password: str = STRONG_PASSWORD,
        display_name: str = "テスト 太郎",
        is_client: bool = True,
        is_worker: bool = True,
        email_verified: bool = True,
        **fields: Any,
    ) -> Any:
        counter["n"] += 1
        return user_signup(
            email=email or f"person{counter['n']}@example.jp",
            password=password,
            display_name=display_name,
            is_client=is_client,
            is_worker=is_worker,
            email_verified=email_verified,
            **fields,
        )

    return make


@pytest.fixture
def make_staff(make_user: Callable[..., Any]) -> Callable[..., Any]:
    """A staff member with an authenticator app enrolled (through the real services); the test
    plays the phone with totp_code. enrolled=False: staff who have not set it up yet."""
    from ishibashi.accounts.services import totp_enrolment_confirm, totp_enrolment_start

    def make(*, enrolled: bool = True, **fields: Any) -> Any:
        fields.setdefault("email", None)
        user = make_user(**fields)
        user.is_staff = True
        user.save(update_fields=["is_staff"])
        if enrolled:
            totp_enrolment_start(user=user)
            # The previous step's code: the test's first code (the current step) is then unused.
            totp_enrolment_confirm(
                user=user, code=totp_code(user, steps_from_now=-1), ip_address=None
            )
        return user

    return make


def totp_code(user: Any, *, steps_from_now: int = 0) -> str:
    """The code the person's authenticator app shows (the clock is core.clock's)."""
    import pyotp

    from ishibashi.accounts.models import TotpDevice
    from ishibashi.core import clock

    device = TotpDevice.objects.get(user=user)
    return str(pyotp.TOTP(device.secret).at(clock.now(), counter_offset=steps_from_now))


def log_in(client: Client, user: Any) -> Client:
    """force_login; for staff with an app enrolled, also the mark the second-factor page leaves
    on the session (what a person who typed their code has). The production gate is unchanged."""
    from ishibashi.accounts.gate import SESSION_KEY, second_factor_mark
    from ishibashi.accounts.selectors import totp_device_get_confirmed

    client.force_login(user)
    device = totp_device_get_confirmed(user=user)
    if user.is_staff and device is not None:
        session = client.session
        session[SESSION_KEY] = second_factor_mark(device)
        session.save()
    return client


@pytest.fixture
def api() -> Client:
    """A client for JSON calls: api.post(path, data) sends JSON."""
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def token_for(db: None) -> Callable[[Any], str]:
    from ishibashi.accounts.services import api_token_create

    def issue(user: Any) -> str:
        # As POST /auth/token with the code (or a page after it) mints staff tokens.
        return api_token_create(user=user, name="test", second_factor_verified=user.is_staff).secret

    return issue


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _database_url_of_test_db() -> str:
    from django.db import connection

    settings = connection.settings_dict
    if settings["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings['NAME']}"
    user = settings.get("USER") or ""
    password = settings.get("PASSWORD") or ""
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    return (
        f"postgres://{credentials}{settings.get('HOST') or '127.0.0.1'}:"
        f"{settings.get('PORT') or 5432}/{settings['NAME']}"
    )


@pytest.fixture(scope="session")
def app_var_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The browser tests' server's var directory; the mail it sends lands in its mail/."""
    return tmp_path_factory.mktemp("server-var")


@pytest.fixture
def app_mail(app_var_dir: Path) -> Callable[[], list[str]]:
    """The mail the server has sent since the test began, oldest first, each as its text."""
    mail_dir = app_var_dir / "mail"
    before = set(mail_dir.glob("*.log")) if mail_dir.exists() else set()

    def sent() -> list[str]:
        files = sorted(set(mail_dir.glob("*.log")) - before, key=lambda f: f.stat().st_mtime)
        bodies = []
        for file in files:
            # The file backend writes each message followed by a line of 79 dashes.
            for raw in file.read_text().split("-" * 79):
                if raw.strip():
                    message = email.message_from_string(raw.strip("\n"))
                    payload = message.get_payload(decode=True)
                    assert isinstance(payload, bytes)
                    bodies.append(payload.decode(message.get_content_charset() or "utf-8"))
        return bodies

    return sent


@pytest.fixture(scope="session")
def app_server_var(app_var_dir: Path) -> Path:
    """The server's ISHIBASHI_VAR_DIR; its mail lands in `mail/` (the file e-mail backend)."""
    return app_var_dir


def mailed_link(mail_dir: Path, to: str, path: str) -> str:
    """The newest link containing `path` in the mail the server sent to `to` (site-relative)."""
    import email
    import email.policy

    found = ""
    for mail_file in sorted(mail_dir.glob("*.log"), key=lambda f: f.stat().st_mtime):
        for raw in mail_file.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            message = email.message_from_bytes(raw.strip(), policy=email.policy.default)
            body = message.get_body(("plain",)) if message["To"] == to else None
            for line in body.get_content().splitlines() if body is not None else []:
                if path in line:
                    found = path + line.split(path, 1)[1].strip()
    assert found, f"no mail to {to} with a link to {path}"
    return found


@pytest.fixture(scope="session")
def app_server(django_db_setup: None, django_db_blocker: Any, app_var_dir: Path) -> Iterator[str]:
    """The app under gunicorn (the production server), on the test database."""
    with django_db_blocker.unblock():
        database_url = _database_url_of_test_db()
    port = _free_port()
    var_dir = app_var_dir
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "ISHIBASHI_VAR_DIR": str(var_dir),
        "ISHIBASHI_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
    }
    log = (var_dir / "gunicorn.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "ishibashi.config.wsgi:application",
         "--bind", f"127.0.0.1:{port}", "--workers", "2", "--access-logfile", "-"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    break
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            log.close()
            pytest.fail("gunicorn did not start:\n" + (var_dir / "gunicorn.log").read_text())
        time.sleep(0.2)
    yield base_url
    server.terminate()
    server.wait(timeout=15)
    log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright; never a downloaded browser."""
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail(f"Chromium not found at {CHROMIUM}: run 'sudo make system-deps' first.")
    # Playwright's sync API runs an event loop in this thread; the ORM calls in browser tests
    # are ordinary synchronous code and safe here.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    )  # fmt: skip
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture
def page(browser: Any, app_server: str) -> Iterator[Any]:
    context = browser.new_context(base_url=app_server, locale="ja-JP")
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()
