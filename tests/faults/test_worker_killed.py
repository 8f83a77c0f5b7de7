"""A gunicorn worker SIGKILLed in the middle of a funding (仮払い): the funding happens in full
or not at all, and sending the same request again funds the milestone exactly once."""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from typing import Any

import psycopg
import pytest

from tests.faults.harness import assert_books_and_chains_hold
from tests.faults.web import (
    REPORT_SPLIT,
    HttpResult,
    Person,
    app_env_for_server,
    job_body,
    proposal_body,
    serving,
)

pytestmark = pytest.mark.faults

AMOUNT = REPORT_SPLIT[0][2]
RANDOM_KILLS = 6  # fundings killed after a random delay, besides the two held mid-transaction
KILL_DELAY_MAX_S = 0.08  # about the time one funding takes here: kills land before and after


def hired_milestones(client: Person, worker: Person, count: int) -> list[int]:
    """`count` contracts hired over the API; each one's first milestone awaits funding."""
    ids = []
    for n in range(count):
        job = client.call("POST", "/jobs", json_body=job_body(f"仮払い試験 {n}"))
        assert job.status == 201, job
        proposal = worker.call(
            "POST", f"/jobs/{job.body['id']}/proposals", json_body=proposal_body()
        )
        assert proposal.status == 201, proposal
        contract = client.call("POST", f"/proposals/{proposal.body['id']}/hire", json_body={})
        assert contract.status == 201, contract
        first = min(contract.body["milestones"], key=lambda m: m["position"])
        assert first["state"] == "awaiting_funding", first
        ids.append(first["id"])
    return ids


def money_of(cursor: Any, milestone_id: int) -> dict[str, Any]:
    """What the database says about one milestone's funding."""
    reference = f"milestone:{milestone_id}"
    cursor.execute("SELECT state FROM contracts_milestone WHERE id = %s", [milestone_id])
    state = cursor.fetchone()[0]
    cursor.execute(
        "SELECT count(*) FROM ledger_transfer WHERE reference = %s AND reason = 'escrow_fund'",
        [reference],
    )
    transfers = cursor.fetchone()[0]
    cursor.execute(
        "SELECT coalesce(sum(balance_jpy), 0) FROM ledger_ledgeraccount "
        "WHERE kind = 'escrow' AND reference = %s",
        [reference],
    )
    escrow = cursor.fetchone()[0]
    cursor.execute(
        "SELECT count(*) FROM contracts_contractevent WHERE milestone_id = %s AND action = 'fund'",
        [milestone_id],
    )
    events = cursor.fetchone()[0]
    return {"state": state, "transfers": transfers, "escrow": escrow, "fund_events": events}


FUNDED = {"state": "funded", "transfers": 1, "escrow": AMOUNT, "fund_events": 1}
UNFUNDED = {"state": "awaiting_funding", "transfers": 0, "escrow": 0, "fund_events": 0}


def in_background(call: Any) -> tuple[threading.Thread, list[HttpResult]]:
    answers: list[HttpResult] = []
    thread = threading.Thread(target=lambda: answers.append(call()), daemon=True)
    thread.start()
    return thread, answers


def retry_until_answered(call: Any, deadline_s: float = 60) -> HttpResult:
    """The client's retry: the same request again until a worker answers it."""
    deadline = time.monotonic() + deadline_s
    while True:
        answer = call()
        if answer.status is not None:
            return answer
        assert time.monotonic() < deadline, answer.error
        time.sleep(0.1)


def test_a_worker_killed_during_a_funding_leaves_all_or_nothing_and_a_retry_funds_once(
    cluster, app_db, tmp_path, say
):
    name, env = app_db()
    with serving(app_env_for_server(env), tmp_path, workers=1) as server:
        client = Person(server, "client@faults.example.jp", client=True)
        worker = Person(server, "worker@faults.example.jp", client=False)
        count = 2 + RANDOM_KILLS
        deposit = client.call(
            "POST", "/wallet/deposits", headers={"Idempotency-Key": "faults-fund"},
            json_body={"amount_jpy": AMOUNT * count, "method": "card",
                       "card_number": "4242424242424242"},
        )  # fmt: skip
        assert deposit.status == 201, deposit
        milestones = hired_milestones(client, worker, count)
        client_id = client.call("GET", "/me").body["id"]

        with cluster.connect(name) as conn, cluster.connect(name) as watcher:
            cursor, watch = conn.cursor(), watcher.cursor()
            killed: set[int] = set()

            def hold_wallet(milestone_id: int) -> None:
                # Stops the funding at the ledger transfer, before it moves money.
                cursor.execute(
                    "SELECT id FROM ledger_ledgeraccount WHERE owner_id = %s AND kind = 'wallet' "
                    "FOR UPDATE",
                    [client_id],
                )

            def hold_next_event(milestone_id: int) -> None:
                # Stops the funding at its event, after the transfer, the counters and the
                # milestone's new state: an uncommitted event with the sequence it will take.
                cursor.execute(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_name = 'contracts_contractevent' AND column_name <> 'id'"
                )
                columns = [row[0] for row in cursor.fetchall()]
                values = ["e.sequence + 1" if c == "sequence" else f"e.{c}" for c in columns]
                cursor.execute(
                    f"INSERT INTO contracts_contractevent ({', '.join(columns)}) "  # noqa: S608
                    f"SELECT {', '.join(values)} FROM contracts_contractevent e "
                    "JOIN contracts_milestone m ON m.contract_id = e.contract_id "
                    "WHERE m.id = %s ORDER BY e.sequence DESC LIMIT 1",
                    [milestone_id],
                )

            for target, hold, wrote in (
                (milestones[0], hold_wallet, set()),
                (milestones[1], hold_next_event, {"ledger_transfer", "contracts_milestone"}),
            ):
                fund = lambda m=target: client.call("POST", f"/milestones/{m}/fund")  # noqa: E731
                # given: the funding is held inside its transaction (contract, counters and
                # milestone rows locked) by a row this test holds
                with conn.transaction():
                    hold(target)
                    thread, answers = in_background(fund)
                    backend = wait_for_lock_wait(watch, name)
                    assert wrote <= tables_written(watch, backend), hold.__name__
                    # when: the worker serving it is SIGKILLed, and the held row let go
                    (victim,) = server.wait_workers(1, exclude=killed)
                    os.kill(victim, signal.SIGKILL)
                    killed.add(victim)
                    thread.join(timeout=30)
                    raise psycopg.Rollback
                # then: the request got no answer, and its transaction rolled back as a whole
                assert answers[0].status is None, answers[0]
                wait_backend_gone(watch, backend)
                assert money_of(cursor, target) == UNFUNDED, hold.__name__
                # and: the same request, sent again, funds it once; a third time is refused
                server.wait_workers(1, exclude=killed)
                again = retry_until_answered(fund)
                assert again.status == 200, again
                assert again.body["state"] == "funded"
                third = fund()
                assert third.status == 409, third
                assert third.body["code"] == "milestone_not_fundable"
                assert money_of(cursor, target) == FUNDED, hold.__name__

            # and: workers killed at random moments of other fundings (before, during or after
            # the commit): every milestone ends funded exactly once after the client's retries
            rng = random.Random(10)
            outcomes = []
            for milestone_id in milestones[2:]:
                fund_it = lambda m=milestone_id: client.call("POST", f"/milestones/{m}/fund")  # noqa: E731
                (victim,) = server.wait_workers(1, exclude=killed)
                thread, answers = in_background(fund_it)
                time.sleep(rng.uniform(0, KILL_DELAY_MAX_S))
                os.kill(victim, signal.SIGKILL)
                killed.add(victim)
                thread.join(timeout=30)
                first = answers[0]
                retry = retry_until_answered(fund_it)
                if first.status == 200:
                    outcomes.append("answered before the kill")
                    assert retry.status == 409, retry
                elif retry.status == 200:
                    outcomes.append("killed before the commit")
                else:
                    outcomes.append("killed after the commit")
                    assert retry.status == 409, retry
                    assert retry.body["code"] == "milestone_not_fundable"
                assert money_of(cursor, milestone_id) == FUNDED, (milestone_id, outcomes[-1])
        wallet = client.call("GET", "/wallet")
        access = server.access_statuses()

    say(
        "worker killed mid-funding: held at the ledger row and at the event (money moved, "
        f"uncommitted): rolled back, retried, funded once; random kills: {outcomes}"
    )
    assert wallet.body["wallet_jpy"] == 0
    assert wallet.body["escrow_jpy"] == AMOUNT * count
    assert not [status for status in access if status >= 500], access
    assert_books_and_chains_hold(env)


def wait_for_lock_wait(watch: Any, database: str, timeout: float = 30) -> int:
    """The backend of the request that waits on a row lock in `database`."""
    deadline = time.monotonic() + timeout
    while True:
        watch.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
            [database],
        )
        row = watch.fetchone()
        if row:
            return int(row[0])
        assert time.monotonic() < deadline, "the funding never reached the held row"
        time.sleep(0.02)


def tables_written(watch: Any, pid: int) -> set[str]:
    """The tables a session has written to in its open transaction (RowExclusiveLock)."""
    watch.execute(
        "SELECT c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
        "WHERE l.pid = %s AND l.mode = 'RowExclusiveLock' AND l.granted",
        [pid],
    )
    return {row[0] for row in watch.fetchall()}


def wait_backend_gone(watch: Any, pid: int, timeout: float = 30) -> None:
    """PostgreSQL ends a dead client's session (and rolls it back) when it next talks to it."""
    deadline = time.monotonic() + timeout
    while True:
        watch.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
        if watch.fetchone()[0] == 0:
            return
        assert time.monotonic() < deadline, f"backend {pid} outlived its client"
        time.sleep(0.05)
