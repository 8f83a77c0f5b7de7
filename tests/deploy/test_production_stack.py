"""The production deployment of deploy/ (issue #11): nginx's configuration, the deploy check at
`serve`, and slow clients, which must not keep a normal request from being answered.

The slow-client tests hold connections open with a request head that grows by one header line a
second and never ends. Under the old server (2 sync workers) two of them took both workers and
everyone else waited. Timings are generous: a "quick" answer is one within 15 s on a loaded
2-core machine, while a starved server would not answer for as long as the trickle lasts.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.deploy.stack import (
    documented_env,
    free_port,
    http_get,
    nginx_running,
    nginx_test,
    render_nginx,
    run_cli,
    serving,
    trickling,
)

pytestmark = pytest.mark.deploy

HOST = "ishibashi.example.jp"  # deploy/ishibashi.env.example's ISHIBASHI_ALLOWED_HOSTS
QUICK_S = 15
THREADS = 4  # deploy/ishibashi.env.example's ISHIBASHI_WEB_THREADS


def _timed_get(address, path, **kwargs):
    started = time.monotonic()
    status, answer = http_get(address, path, timeout=QUICK_S, **kwargs)
    return status, answer, time.monotonic() - started


def test_nginx_accepts_the_deploy_configuration(tmp_path: Path) -> None:
    main = render_nginx(
        tmp_path, app_port=free_port(), http_port=free_port(), https_port=free_port()
    )

    checked = nginx_test(main)

    assert checked.returncode == 0, checked.stderr
    assert "test is successful" in checked.stderr


def test_the_documented_production_settings_pass_the_deploy_check(tmp_path: Path) -> None:
    env = documented_env(tmp_path, port=free_port())
    assert env["ISHIBASHI_ENVIRONMENT"] == "production"

    done = run_cli(env, "check", "--deploy", "--fail-level", "WARNING")

    assert done.returncode == 0, done.stderr
    # The sandbox override is still said out loud at every start.
    assert "ishibashi.I001" in done.stdout + done.stderr


def test_serve_refuses_a_failing_deploy_check_with_one_line_and_no_traceback(
    tmp_path: Path,
) -> None:
    env = {**documented_env(tmp_path, port=free_port()), "ISHIBASHI_HSTS_SECONDS": "0"}

    done = run_cli(env, "serve", timeout=90)

    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("ishibashi: refusing to start in production")
    assert "security.W004" in lines[0]
    assert "Traceback" not in done.stdout + done.stderr


def test_plain_http_in_production_is_an_explicit_opt_out(tmp_path: Path) -> None:
    env = {**documented_env(tmp_path, port=free_port()), "ISHIBASHI_ALLOW_PLAIN_HTTP": "1"}

    done = run_cli(env, "check", "--deploy", "--fail-level", "WARNING")

    assert done.returncode == 0, done.stderr
    assert "ishibashi.I002" in done.stdout + done.stderr


@pytest.mark.parametrize(("proxies", "expected"), [("0", 301), ("1", 200)])
def test_x_forwarded_proto_is_believed_only_behind_a_trusted_proxy(
    tmp_path: Path, proxies: str, expected: int
) -> None:
    env = {
        **documented_env(tmp_path, port=free_port()),
        "ISHIBASHI_TRUSTED_PROXY_COUNT": proxies,
    }
    with serving(env, tmp_path) as server:
        status, answer, _ = _timed_get(
            ("127.0.0.1", server.port),
            "/api/v1/openapi.json",
            host=HOST,
            headers="X-Forwarded-Proto: https\r\n",
        )

    assert status == expected, answer[:500]
    if expected == 301:
        assert f"Location: https://{HOST}/api/v1/openapi.json" in answer


def test_slow_clients_do_not_starve_the_app_server(tmp_path: Path) -> None:
    """`serve` alone (loopback, plain HTTP opt-out): each trickler holds one thread of one
    worker; fewer of them than a worker has threads can never fill a worker, wherever they land."""
    env = {**documented_env(tmp_path, port=free_port()), "ISHIBASHI_ALLOW_PLAIN_HTTP": "1"}
    with serving(env, tmp_path) as server:
        address = ("127.0.0.1", server.port)
        with trickling(address, THREADS - 1, tls=False, host=HOST) as tricklers:
            time.sleep(3)  # the tricklers have sent their first lines and hold their threads
            answers = [_timed_get(address, "/healthz", host=HOST) for _ in range(5)]
            assert tricklers.still_open() == THREADS - 1

    assert [status for status, _, _ in answers] == [200] * 5
    assert max(seconds for _, _, seconds in answers) < QUICK_S


def test_behind_nginx_many_slow_clients_are_cut_off_and_never_reach_the_app(
    tmp_path: Path,
) -> None:
    app_port, http_port, https_port = free_port(), free_port(), free_port()
    main = render_nginx(tmp_path, app_port=app_port, http_port=http_port, https_port=https_port)
    env = documented_env(tmp_path, port=app_port)
    slow = 4 * 2 * THREADS  # four times every thread of every worker
    with serving(env, tmp_path), nginx_running(main, https_port):
        proxy = ("127.0.0.1", https_port)
        with trickling(proxy, slow, tls=True, host=HOST) as tricklers:
            time.sleep(3)
            answers = [
                _timed_get(proxy, path, tls=True, host=HOST)
                for path in ("/healthz", "/api/v1/openapi.json", "/")
            ]
            # nginx's client_header_timeout (10 s) ends every one of them.
            assert tricklers.wait_all_closed(timeout=40), f"{tricklers.still_open()} still open"
            lifetimes = sorted(tricklers.lifetimes.values())
        redirect, location, _ = _timed_get(("127.0.0.1", http_port), "/jobs/", host=HOST)

    assert [status for status, _, _ in answers] == [200, 200, 200], [a[:300] for _, a, _ in answers]
    assert max(seconds for _, _, seconds in answers) < QUICK_S
    # the answers passed through the app's HTTPS settings: HSTS, and no redirect loop
    assert "Strict-Transport-Security: max-age=31536000; includeSubDomains" in answers[0][1]
    # held while they trickled (the 3 s above), then closed well before the trickle would end
    assert lifetimes[0] >= 3, lifetimes
    assert lifetimes[-1] < 30, lifetimes
    assert redirect == 301
    assert f"Location: https://{HOST}/jobs/" in location
