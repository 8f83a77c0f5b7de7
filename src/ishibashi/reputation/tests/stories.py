"""Clients' histories built through the real services with the clock moved (tests, the browser
test and nothing else): contracts approved by hand or automatically, silences, disputes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import time_machine
from django.core.management import call_command

from ishibashi.contracts import services as cs
from ishibashi.contracts.models import Contract, Milestone
from ishibashi.contracts.tests.factories import deposit, hire
from ishibashi.core import clock

ONE_PART = (("事前調査", "research", 10_000),)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


class Story:
    """One clock for a whole history: every step moves it forward, never back."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start
        self._traveller = time_machine.travel(start, tick=False)
        self._coordinates = self._traveller.start()

    def move(self, delta: dt.timedelta) -> None:
        self.now += delta
        self._coordinates.move_to(self.now)

    def stop(self) -> None:
        self._traveller.stop()

    def sweep(self) -> None:
        for _round in range(10):
            if not cs.milestones_sweep_due():
                break

    def started(self, client: Any, worker: Any) -> tuple[Contract, Milestone]:
        contract = hire(client, worker, split=ONE_PART, due_in_days=20)
        milestone = Milestone.objects.get(contract=contract)
        self.move(2 * HOUR)
        cs.milestone_fund(client=client, milestone_id=milestone.pk)
        cs.milestone_start(worker=worker, milestone_id=milestone.pk)
        return contract, milestone

    def delivered(self, client: Any, worker: Any) -> tuple[Contract, Milestone, int]:
        contract, milestone = self.started(client, worker)
        self.move(HOUR)
        delivery = cs.delivery_create(
            worker=worker, milestone_id=milestone.pk, message="納品します"
        )
        return contract, milestone, delivery.pk

    def approved(self, client: Any, worker: Any) -> Contract:
        contract, _milestone, delivery_id = self.delivered(client, worker)
        self.move(3 * HOUR)
        cs.delivery_approve(client=client, delivery_id=delivery_id)
        return contract

    def auto_approved(self, client: Any, worker: Any) -> Contract:
        contract, _milestone, _delivery_id = self.delivered(client, worker)
        self.move(contract.inspection_days * DAY + HOUR)
        self.sweep()
        return contract


def client_with_auto_approvals(
    client: Any, worker: Any, *, contracts: int, automatic: int, start: dt.datetime
) -> None:
    """`contracts` one-milestone contracts, the first `automatic` left to the inspection
    deadline and approved automatically, the rest approved by the client."""
    deposit(client, contracts * 10_000)
    story = Story(start)
    try:
        for n in range(contracts):
            if n < automatic:
                story.auto_approved(client, worker)
            else:
                story.approved(client, worker)
    finally:
        story.stop()


def rebuild_agrees() -> bool:
    """`ishibashi rebuild-reputation` exits 0 (every counter equals its recount)."""
    try:
        call_command("rebuild_reputation")
    except SystemExit as stop:
        return stop.code == 0
    except Exception:  # CommandError: the recount differs
        return False
    return True


__all__ = ["DAY", "HOUR", "Story", "client_with_auto_approvals", "clock", "rebuild_agrees"]
