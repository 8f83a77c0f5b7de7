"""Ended contracts made the way users end them, for the reviews tests and the browser walk."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ishibashi.contracts import services as cs
from ishibashi.contracts.models import Contract, ContractState
from ishibashi.contracts.tests.factories import hire
from ishibashi.core import clock

# One completion check: delivered with a message alone, so no files are needed.
ONE_CHECK = (("作業完了確認", "completion_check", 20_000),)


def ended_contract(client: Any, worker: Any, *, time_machine: Any = None) -> Contract:
    """Hired, funded, delivered and approved by the client: the contract is completed.

    With `time_machine`, the client stays silent instead: the clock moves past the inspection
    deadline and the sweeper approves the delivery automatically (「検収期限内に応答がなく自動承認」).
    """
    contract = hire(client, worker, split=ONE_CHECK)
    milestone = contract.milestones.get()
    cs.milestone_fund(client=client, milestone_id=milestone.pk)
    delivery = cs.delivery_create(
        worker=worker, milestone_id=milestone.pk, message="完了しました。"
    )
    if time_machine is None:
        cs.delivery_approve(client=client, delivery_id=delivery.pk)
    else:
        time_machine.move_to(clock.now() + dt.timedelta(days=contract.inspection_days, hours=1))
        while cs.milestones_sweep_due():
            pass
    contract.refresh_from_db()
    assert contract.state == ContractState.COMPLETED, contract.state
    return contract


def disputed_then_ended(client: Any, worker: Any, operator: Any) -> Contract:
    """The worker opened a dispute on delivered work; the operator ruled; the contract completed."""
    contract = hire(client, worker, split=ONE_CHECK)
    milestone = contract.milestones.get()
    cs.milestone_fund(client=client, milestone_id=milestone.pk)
    cs.delivery_create(worker=worker, milestone_id=milestone.pk, message="完了しました。")
    cs.milestone_dispute(actor=worker, milestone_id=milestone.pk, reason="検収されません")
    cs.milestone_dispute_resolve(
        operator=operator, milestone_id=milestone.pk, worker_amount_jpy=20_000, note="全額"
    )
    contract.refresh_from_db()
    assert contract.state == ContractState.COMPLETED, contract.state
    return contract


def cancelled_after_funding(client: Any, worker: Any) -> Contract:
    """The client funded the first milestone, then cancelled before the work started."""
    contract = hire(client, worker, split=ONE_CHECK)
    milestone = contract.milestones.get()
    cs.milestone_fund(client=client, milestone_id=milestone.pk)
    cs.contract_cancel(actor=client, contract_id=contract.pk, reason="予算がなくなりました")
    contract.refresh_from_db()
    assert contract.state == ContractState.CANCELLED, contract.state
    return contract
