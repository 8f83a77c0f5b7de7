"""PostgreSQL restarted while clients run the whole lifecycle over HTTP: the app answers 503
(never 500) while the database is down, serves again by itself once it is back, and no
request is half-applied."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.faults.harness import assert_books_and_chains_hold, run_actor, run_cli
from tests.faults.web import (
    REPORT_SPLIT,
    HttpResult,
    Person,
    app_env_for_server,
    job_body,
    proposal_body,
    request,
    serving,
)

pytestmark = pytest.mark.faults

PAIRS = 4  # client and worker pairs, each running the lifecycle in its own thread
OUTAGE_S = 4.0  # how long PostgreSQL stays down
OUTAGES = ("fast", "immediate")  # pg_ctl stop modes: a clean restart, then a crash
LOAD_DEADLINE_S = 120  # the load stops by itself after this, whatever happens
PAUSE_AFTER_503_S = 0.2
FEE_BPS = 1000  # the platform fee (settings default): the worker earns 90 % of a milestone
DEPOSIT_JPY = REPORT_SPLIT[0][2]


class Stop(Exception):
    pass


@dataclass
class Load:
    """What every thread saw, and the clock of the outage."""

    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: Counter[int | None] = field(default_factory=Counter)
    bad_503: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    # Steps whose answer was lost (503 or none) although they had committed: the retry got a
    # 409 and reading the state showed the step done. Applied in full, not half-applied.
    done_unseen: list[str] = field(default_factory=list)
    rounds: list[tuple[int, float]] = field(default_factory=list)  # (pair, when it completed)
    api_503: int = 0
    page_503: int = 0
    up_at: float | None = None  # PostgreSQL came back; cleared by the first answer that is not 5xx
    recovered_after_s: list[float] = field(default_factory=list)

    def saw(self, what: str, answer: HttpResult, *, api: bool) -> None:
        with self.lock:
            self.statuses[answer.status] += 1
            if answer.status == 503:
                self._check_503(what, answer, api=api)
            elif answer.status is not None and answer.status < 500 and self.up_at is not None:
                self.recovered_after_s.append(round(time.monotonic() - self.up_at, 2))
                self.up_at = None

    def _check_503(self, what: str, answer: HttpResult, *, api: bool) -> None:
        ok = answer.headers.get("retry-after", "").isdigit()
        if api:
            self.api_503 += 1
            ok = ok and isinstance(answer.body, dict)
            ok = ok and answer.body.get("code") == "service_unavailable"
        else:
            self.page_503 += 1
            ok = ok and answer.headers.get("content-type", "").startswith("text/html")
            ok = ok and "もう一度お試しください" in answer.text and "try again" in answer.text
        if not ok:
            self.bad_503.append(f"{what}: {answer.headers} {answer.text[:300]}")


def until_done(
    load: Load, what: str, send: Any, *, ok: tuple[int, ...], already: Any = None
) -> Any:
    """Send until it is done: 503 or no answer → send again; a 409 on a retry → `already()`
    finds what the first attempt did (it committed, its answer was lost)."""
    retried = False
    while True:
        if load.stop.is_set():
            raise Stop
        answer: HttpResult = send()
        load.saw(what, answer, api=True)
        if answer.status in ok:
            return answer.body
        if answer.status in (503, None):
            retried = True
            time.sleep(PAUSE_AFTER_503_S)
            continue
        if answer.status == 409 and retried and already is not None:
            found = already()
            if found is not None:
                with load.lock:
                    load.done_unseen.append(what)
                return found
        with load.lock:
            load.unexpected.append(f"{what}: {answer.status} {answer.text[:300]}")
        raise Stop


def read(load: Load, what: str, person: Person, path: str) -> Any:
    return until_done(load, what, lambda: person.call("GET", path), ok=(200,))


def lifecycle(load: Load, pair: int, client: Person, worker: Person) -> None:
    """The lifecycle again and again, until told to stop."""
    n = 0
    try:
        while not load.stop.is_set():
            n += 1
            one_round(load, f"{pair}-{n}", client, worker)
            with load.lock:
                load.rounds.append((pair, time.monotonic()))
    except Stop:
        return


def one_round(load: Load, label: str, client: Person, worker: Person) -> None:
    """Deposit, post, propose, hire, fund, deliver, approve: each step sent until it is done."""
    until_done(load, "deposit", lambda: client.call(
        "POST", "/wallet/deposits", headers={"Idempotency-Key": f"faults-{label}"},
        json_body={"amount_jpy": DEPOSIT_JPY, "method": "card",
                   "card_number": "4242424242424242"},
    ), ok=(201,))  # fmt: skip
    job = until_done(load, "post job", lambda: client.call(
        "POST", "/jobs", json_body=job_body(f"障害試験 {label}")), ok=(201,))  # fmt: skip

    def proposal_of() -> Any:
        items = read(load, "proposals", worker, f"/jobs/{job['id']}/proposals")["items"]
        return items[0] if items else None

    proposal = until_done(load, "propose", lambda: worker.call(
        "POST", f"/jobs/{job['id']}/proposals", json_body=proposal_body()),
        ok=(201,), already=proposal_of)  # fmt: skip

    def contract_of() -> Any:
        for item in read(load, "contracts", client, "/contracts")["items"]:
            if item["job_id"] == job["id"]:
                return read(load, "contract", client, f"/contracts/{item['id']}")
        return None

    contract = until_done(load, "hire", lambda: client.call(
        "POST", f"/proposals/{proposal['id']}/hire", json_body={}),
        ok=(201,), already=contract_of)  # fmt: skip
    first = min(contract["milestones"], key=lambda m: m["position"])["id"]

    def milestone_in(*states: str) -> Any:
        milestone = read(load, "milestone", client, f"/milestones/{first}")
        return milestone if milestone["state"] in states else None

    until_done(load, "fund", lambda: client.call("POST", f"/milestones/{first}/fund"),
               ok=(200,), already=lambda: milestone_in("funded"))  # fmt: skip

    def delivery_of() -> Any:
        items = read(load, "deliveries", worker, f"/milestones/{first}/deliveries")["items"]
        return items[0] if items else None

    delivery = until_done(load, "deliver", lambda: worker.call(
        "POST", f"/milestones/{first}/deliveries", form={"message": "調査が完了しました。"}),
        ok=(201,), already=delivery_of)  # fmt: skip
    until_done(load, "approve", lambda: client.call(
        "POST", f"/deliveries/{delivery['id']}/approve"),
        ok=(200,), already=lambda: milestone_in("released", "approved"))  # fmt: skip


def pages(load: Load, base: str) -> None:
    """A browser's view: the job list page, again and again."""
    while not load.stop.is_set():
        load.saw("GET /jobs/", request(base, "GET", "/jobs/"), api=False)
        time.sleep(0.1)


def rounds_since(load: Load, pair: int, moment: float) -> int:
    with load.lock:
        return sum(1 for p, when in load.rounds if p == pair and when > moment)


def test_a_database_restart_under_load_gives_503_then_recovers_with_nothing_half_applied(
    cluster, app_db, tmp_path, say
):
    _name, env = app_db()
    with serving(app_env_for_server(env), tmp_path, workers=2) as server:
        people = [
            (Person(server, f"client{i}@faults.example.jp", client=True),
             Person(server, f"worker{i}@faults.example.jp", client=False))
            for i in range(PAIRS)
        ]  # fmt: skip
        load = Load()
        threads = [
            threading.Thread(target=lifecycle, args=(load, i, c, w), daemon=True)
            for i, (c, w) in enumerate(people)
        ] + [threading.Thread(target=pages, args=(load, server.base), daemon=True)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        try:
            # given: every pair has gone through the lifecycle once
            while any(rounds_since(load, i, started) < 1 for i in range(PAIRS)):
                assert not load.unexpected, load.unexpected
                assert time.monotonic() - started < LOAD_DEADLINE_S / 2, "no warm-up round"
                time.sleep(0.1)
            for mode in OUTAGES:
                # when: PostgreSQL stops (fast: sessions are cut and open transactions roll
                # back; immediate: a crash, recovered from the WAL at start) and comes back
                cluster.stop(mode)
                try:
                    time.sleep(OUTAGE_S)
                finally:
                    cluster.start()
                up = load.up_at = time.monotonic()
                # then: every pair completes a whole lifecycle after the restart, on its own
                while any(rounds_since(load, i, up) < 1 for i in range(PAIRS)):
                    assert not load.unexpected, load.unexpected
                    assert time.monotonic() - started < LOAD_DEADLINE_S, "no recovery"
                    time.sleep(0.1)
        finally:
            load.stop.set()
            for thread in threads:
                thread.join(timeout=60)
        access = Counter(server.access_statuses())
        worker_wallets = [w.call("GET", "/wallet") for _c, w in people]
        client_wallets = [c.call("GET", "/wallet") for c, _w in people]

    say(
        f"restart under load: {len(load.rounds)} lifecycles, statuses seen {dict(load.statuses)}, "
        f"503s {load.api_503} API + {load.page_503} pages, committed but answered 503 or cut: "
        f"{load.done_unseen}, first success after PostgreSQL was up "
        f"({OUTAGE_S} s down, {', '.join(OUTAGES)} stop): {load.recovered_after_s} s; "
        f"gunicorn access log {dict(access)}"
    )
    assert load.unexpected == []
    assert load.bad_503 == [], load.bad_503[:3]
    # The app never answered 500 (or any 5xx but 503), as seen by the clients and in its log.
    assert not [s for s in load.statuses if s is not None and s >= 500 and s != 503]
    assert not [s for s in access if s >= 500 and s != 503]
    assert load.api_503 > 0, "no API call saw the outage"
    assert load.page_503 > 0, "no page saw the outage"

    # Nothing half-applied: the deposits that succeeded each credited once, every released
    # milestone paid the worker once, and the books, chains and leases hold.
    sweep = run_cli(env, "sweep", "--once")  # settles deposits a cut request left pending
    assert sweep.returncode == 0, sweep.stderr
    state = assert_books_and_chains_hold(env)
    deposits = run_actor(env, "deposits")
    assert deposits["credited_not_once"] == [], deposits
    assert deposits["pending"] == 0, deposits
    released = sum(1 for m in state["milestones"].values() if m["state"] == "released")
    assert released >= len(load.rounds)
    for pk, milestone in state["milestones"].items():
        moves = state["transfers"].get(f"milestone:{pk}", {})
        assert all(n == 1 for n in moves.values()), (pk, moves)
        if milestone["state"] == "released":
            assert moves == {"escrow_fund": 1, "escrow_release": 1}, (pk, moves)
    earned = sum(answer.body["earnings_jpy"] for answer in worker_wallets)
    assert earned == released * DEPOSIT_JPY * (10_000 - FEE_BPS) // 10_000
    # The clients' money: what their deposits brought in, less what reached the workers.
    held = sum(answer.body["wallet_jpy"] + answer.body["escrow_jpy"] for answer in client_wallets)
    assert held == deposits["succeeded_jpy"] - released * DEPOSIT_JPY
