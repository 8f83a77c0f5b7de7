"""A sweeper SIGKILLed in the middle of a batch: its lease lapses, another worker finishes the
batch, and no milestone is approved or paid twice.

The sweeper works a claimed batch in one transaction. To kill it inside that transaction every
time, the test holds the contracts' rows: the claim (milestone rows, SKIP LOCKED) commits its
lease, then the batch waits on the first contract lock, and is killed there.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from ishibashi.contracts.services import SWEEP_LEASE
from ishibashi.core.limits import SWEEP_BATCH_MAX
from tests.faults.harness import assert_books_and_chains_hold, run_actor, run_cli, run_later

pytestmark = pytest.mark.faults

# One claim batch and a bit: the killed sweeper holds a claim on one batch, and the rest is
# still unclaimed when it dies.
OVERDUE = SWEEP_BATCH_MAX + 40
LEASE_LAPSED_S = SWEEP_LEASE.total_seconds() + 60


def released_count(cursor) -> int:
    cursor.execute("SELECT count(*) FROM ledger_transfer WHERE reason = 'escrow_release'")
    return int(cursor.fetchone()[0])


def leased_count(cursor, overdue: list[int]) -> int:
    cursor.execute(
        "SELECT count(*) FROM contracts_milestone WHERE id = ANY(%s) AND sweep_lease_until > now()",
        [overdue],
    )
    return int(cursor.fetchone()[0])


def wait_alone(cursor, database: str, *, besides: int, timeout: float = 30) -> None:
    """Until no session but this one and `besides` is connected to `database`."""
    deadline = time.monotonic() + timeout
    while True:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
            "AND pid <> pg_backend_pid() AND pid <> %s",
            [database, besides],
        )
        if cursor.fetchone()[0] == 0:
            return
        assert time.monotonic() < deadline, "the killed sweeper's session lingers"
        time.sleep(0.02)


def test_a_sweeper_killed_mid_batch_is_finished_by_another_and_nothing_is_paid_twice(
    cluster, app_db, say
):
    # given: overdue milestones, delivered 10 days ago, the client silent, the escrow funded
    name, env = app_db()
    overdue = run_actor(env, "overdue", str(OVERDUE))["milestones"]
    assert len(overdue) == OVERDUE

    # when: a sweeper claims a batch and is SIGKILLed while it works on it
    with cluster.connect(name) as holder, cluster.connect(name) as conn, conn.cursor() as cursor:
        held_rows = holder.cursor()
        held_rows.execute("BEGIN")
        held_rows.execute("SELECT id FROM contracts_contract ORDER BY id FOR UPDATE")
        sweeper = subprocess.Popen(
            [sys.executable, "-m", "ishibashi.config.cli", "sweep", "--once"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        try:
            while leased_count(cursor, overdue) == 0:
                assert sweeper.poll() is None, "the sweeper ended before it could be killed"
                assert time.monotonic() < deadline, "the sweeper claimed nothing in 120 s"
                time.sleep(0.005)
            # The claim is committed; the batch is waiting inside its transaction.
            time.sleep(0.2)
            assert sweeper.poll() is None, "the sweeper ended while the contracts were held"
            sweeper.send_signal(signal.SIGKILL)
        finally:
            sweeper.kill()
            sweeper.wait(timeout=30)
            held_rows.execute("ROLLBACK")
        assert sweeper.returncode == -signal.SIGKILL
        # Its server session ends (rolling back the batch it was in) before the counting.
        wait_alone(cursor, name, besides=holder.info.backend_pid)
        released_by_dead = released_count(cursor)
        held = leased_count(cursor, overdue)
    unclaimed = OVERDUE - released_by_dead - held
    say(
        f"sweeper SIGKILLed inside its batch: {released_by_dead} of {OVERDUE} released, {held} "
        f"left under its lease, {unclaimed} unclaimed"
    )
    # The killed batch is all or nothing: nothing of it was written but its claim.
    assert released_by_dead == 0
    assert held == SWEEP_BATCH_MAX
    assert unclaimed == OVERDUE - SWEEP_BATCH_MAX

    # then: a sweeper running now takes what nobody claimed and leaves the dead one's claim
    # alone (the lease holds until it lapses)
    now_sweep = run_cli(env, "sweep", "--once")
    assert now_sweep.returncode == 0, now_sweep.stderr
    assert f"milestones_due: {unclaimed}\n" in now_sweep.stdout
    with cluster.connect(name) as conn, conn.cursor() as cursor:
        assert released_count(cursor) == unclaimed
        cursor.execute(
            "SELECT count(*) FROM contracts_milestone WHERE id = ANY(%s) AND state = 'delivered' "
            "AND sweep_lease_until > now()",
            [overdue],
        )
        assert cursor.fetchone()[0] == held

    # and: once the lease has lapsed, another sweeper finishes the dead one's batch
    later_sweep = run_later(env, LEASE_LAPSED_S, "sweep", "--once")
    assert f"milestones_due: {held}\n" in later_sweep

    # and: every milestone approved and paid exactly once; the books and the chains hold
    state = assert_books_and_chains_hold(env)
    for pk in overdue:
        milestone = state["milestones"][str(pk)]
        assert milestone["state"] == "released", (pk, milestone)
        assert milestone["escrow_jpy"] == 0, (pk, milestone)
        assert milestone["lease"] is None, (pk, milestone)
        assert state["transfers"][f"milestone:{pk}"] == {"escrow_fund": 1, "escrow_release": 1}
        events = state["events"][str(pk)]
        assert events["auto_approve"] == 1, (pk, events)
    assert state["due_now"] == 0
