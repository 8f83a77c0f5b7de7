"""Disputes: opening one, the operator's freeze and the operator's ruling."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from ishibashi.accounts.models import User
from ishibashi.contracts import clocks, notices
from ishibashi.contracts.events import event_append
from ishibashi.contracts.models import (
    Milestone,
    MilestoneState,
)
from ishibashi.contracts.services.settlement import contract_settle, ledger_key, stats_bump
from ishibashi.contracts.states import (
    Action,
    Locked,
    Role,
    lock,
    transition,
)
from ishibashi.core import clock, limits
from ishibashi.core.errors import Conflict, Forbidden, InvalidInput
from ishibashi.core.text import clean_text
from ishibashi.ledger import services as ledger
from ishibashi.notifications.notices import notices_batched


def dispute_outcome(worker_amount_jpy: int, amount_jpy: int) -> str:
    """The client's counter a ruling bumps: all to the worker, all back, or a split."""
    if worker_amount_jpy >= amount_jpy:
        return "disputes_for_worker"
    if worker_amount_jpy == 0:
        return "disputes_for_client"
    return "disputes_split"


def milestone_dispute(*, actor: User, milestone_id: int, reason: str) -> Milestone:
    """トラブル: either party freezes nothing yet; an operator decides, the legal clock runs."""
    reason = clean_text(reason, field="reason", multiline=True, length_max=limits.REASON_LENGTH_MAX)
    with transaction.atomic(), notices_batched():
        now = clock.now()
        locked = lock(milestone_id=milestone_id, actor=actor)

        def disputed(lk: Locked) -> dict[str, Any]:
            m = lk.milestone
            m.cancellation_requested_at = None
            clocks.clock_stop(m)
            stats_bump(lk.contract.client_id, disputes=1)
            return {"reason": reason, "opened_by": lk.role.value}

        milestone = transition(
            locked,
            action=Action.DISPUTE,
            actor=actor,
            now=now,
            effect=disputed,
            notify=notices.dispute_opened,
        )
        clocks.refresh_action_due(milestone)
        milestone.save(update_fields=["action_due_at"])
        contract_settle(locked.contract, actor=actor, now=now)
        return milestone


def milestone_dispute_freeze(*, operator: User, milestone_id: int, note: str) -> Milestone:
    """An operator stops the legal-deadline release while they decide (law.md L-26)."""
    note = clean_text(note, field="note", multiline=True, length_max=limits.REASON_LENGTH_MAX)
    with transaction.atomic(), notices_batched():
        now = clock.now()
        locked = lock(milestone_id=milestone_id, actor=operator)
        milestone = locked.milestone
        if locked.role is not Role.OPERATOR:
            raise Forbidden(_("Only an operator can do this."), code="operators_only")
        if milestone.state != MilestoneState.DISPUTED or milestone.dispute_frozen:
            raise Conflict(
                _("Only an open, unfrozen dispute can be frozen."), code="milestone_state"
            )
        milestone.dispute_frozen = True
        clocks.refresh_action_due(milestone)
        milestone.save(update_fields=["dispute_frozen", "action_due_at"])
        event_append(
            contract=locked.contract,
            action="dispute_frozen",
            actor=operator,
            now=now,
            milestone=milestone,
            from_state=milestone.state,
            to_state=milestone.state,
            payload={"note": note},
        )
        return milestone


def milestone_dispute_resolve(
    *, operator: User, milestone_id: int, worker_amount_jpy: int, note: str
) -> Milestone:
    """An operator's ruling: the escrow split between worker and client in one transfer."""
    note = clean_text(note, field="note", multiline=True, length_max=limits.REASON_LENGTH_MAX)
    with transaction.atomic(), notices_batched():
        now = clock.now()
        locked = lock(milestone_id=milestone_id, actor=operator)
        amount = locked.milestone.amount_jpy
        if type(worker_amount_jpy) is not int or not 0 <= worker_amount_jpy <= amount:
            raise InvalidInput(
                _("The worker's share must be a whole number of yen from 0 to %(amount)s.")
                % {"amount": f"{amount:,}"},
                field="worker_amount_jpy",
            )

        def ruled(lk: Locked) -> dict[str, Any]:
            m, contract = lk.milestone, lk.contract
            transfer = ledger.escrow_split(
                client=contract.client,
                worker=contract.worker,
                escrow_reference=m.escrow_reference,
                worker_amount_jpy=worker_amount_jpy,
                client_amount_jpy=amount - worker_amount_jpy,
                fee_rate_bps=contract.fee_rate_bps,
                withholding_applies=contract.withholding_applies,
                idempotency_key=ledger_key(m, "split"),
            )
            clocks.clock_stop(m)
            m.action_due_at = None
            stats_bump(contract.client_id, **{dispute_outcome(worker_amount_jpy, amount): 1})
            return {
                "worker_amount_jpy": worker_amount_jpy,
                "client_amount_jpy": amount - worker_amount_jpy,
                "note": note,
                "transfer": transfer.pk,
            }

        milestone = transition(
            locked,
            action=Action.RESOLVE,
            actor=operator,
            now=now,
            effect=ruled,
            notify=notices.dispute_resolved,
        )
        contract_settle(locked.contract, actor=operator, now=now)
        return milestone
