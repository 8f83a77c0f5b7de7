"""A gunicorn worker SIGKILLed in the middle of a funding (仮払い): the funding happens in full
or not at all, and sending the same request again funds the milestone exactly once."""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from typing import Any

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
RANDOM_KILLS = 6  # fundings killed after a random delay, besides the one killed mid-transaction
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
        client = Person(server.base, "client@faults.example.jp", client=True)
        worker = Person(server.base, "worker@faults.example.jp", client=False)
        count = 1 + RANDOM_KILLS
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

            # given: the client's wallet row is held, so the funding stops inside its
            # transaction (contract, stats and milestone rows locked), at the ledger transfer
            target = milestones[0]
            fund = lambda: client.call("POST", f"/milestones/{target}/fund")  # noqa: E731
            with conn.transaction():
                cursor.execute(
                    "SELECT id FROM ledger_ledgeraccount WHERE owner_id = %s AND kind = 'wallet' "
                    "FOR UPDATE",
                    [client_id],
                )
                thread, answers = in_background(fund)
                backend = wait_for_lock_wait(watch, name)
                # when: the worker serving it is SIGKILLed
                (killed,) = server.workers()
                os.kill(killed, signal.SIGKILL)
                thread.join(timeout=30)
            # then: the request got no answer, and its transaction rolled back as a whole
            assert answers[0].status is None, answers[0]
            wait_backend_gone(watch, backend)
            assert money_of(cursor, target) == UNFUNDED
            # and: the same request, sent again, funds it once; a third time is refused
            server.wait_workers(1, exclude={killed})
            again = retry_until_answered(fund)
            assert again.status == 200, again
            assert again.body["state"] == "funded"
            third = fund()
            assert third.status == 409, third
            assert third.body["code"] == "milestone_not_fundable"
            assert money_of(cursor, target) == FUNDED

            # and: workers killed at random moments of other fundings (before, during or after
            # the commit): every milestone ends funded exactly once after the client's retries
            rng = random.Random(10)
            outcomes = []
            for milestone_id in milestones[1:]:
                fund_it = lambda m=milestone_id: client.call("POST", f"/milestones/{m}/fund")  # noqa: E731
                (victim,) = server.wait_workers(1, exclude={killed})
                thread, answers = in_background(fund_it)
                time.sleep(rng.uniform(0, KILL_DELAY_MAX_S))
                os.kill(victim, signal.SIGKILL)
                killed = victim
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

    say(f"worker killed mid-funding: retried once funded; random kills: {outcomes}")
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


def wait_backend_gone(watch: Any, pid: int, timeout: float = 30) -> None:
    """PostgreSQL ends a dead client's session (and rolls it back) when it next talks to it."""
    deadline = time.monotonic() + timeout
    while True:
        watch.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
        if watch.fetchone()[0] == 0:
            return
        assert time.monotonic() < deadline, f"backend {pid} outlived its client"
        time.sleep(0.05)
