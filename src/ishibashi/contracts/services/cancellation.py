"""Cancellation and termination: the outcomes of the product rules per milestone."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from ishibashi.accounts.models import User
from ishibashi.contracts import clocks, notices
from ishibashi.contracts.events import event_append
from ishibashi.contracts.models import (
    ClockKind,
    Contract,
    ContractState,
    Milestone,
    MilestoneState,
)
from ishibashi.contracts.services.settlement import (
    cancel_unstarted,
    cancel_with_kill_fee,
    contract_for_party,
    contract_settle,
    ledger_key,
    role_or_system,
    stats_bump,
)
from ishibashi.contracts.states import (
    STARTED,
    Action,
    Locked,
    Role,
    lock,
    lock_client_stats,
    transition,
)
from ishibashi.core import clock, limits
from ishibashi.core.errors import Conflict, Forbidden
from ishibashi.core.text import clean_text
from ishibashi.ledger import services as ledger
from ishibashi.notifications.notices import notices_batched


def _withdraw(locked: Locked, *, actor: User, now: dt.datetime) -> Milestone:
    def refund(lk: Locked) -> dict[str, Any]:
        m = lk.milestone
        transfer = ledger.escrow_refund(
            client=lk.contract.client,
            escrow_reference=m.escrow_reference,
            amount_jpy=m.amount_jpy,
            idempotency_key=ledger_key(m, "refund"),
        )
        clocks.clock_stop(m)
        m.action_due_at = None
        return {"amount_jpy": m.amount_jpy, "transfer": transfer.pk}

    return transition(locked, action=Action.WITHDRAW, actor=actor, now=now, effect=refund)


def _contract_cancel_now(
    contract: Contract, *, role: Role, actor: User | None, reason: str, now: dt.datetime
) -> None:
    """Apply a cancellation by `role` to every milestone (the contract row is locked).

    Delivered and disputed work is left to inspection and the operator: a cancellation never
    takes back work the client has received.
    """
    funded_before = Milestone.objects.filter(
        contract=contract, state__in=(MilestoneState.FUNDED, *STARTED)
    ).exists()
    contract.cancelled_at = now
    contract.next_period_starts_on = None
    contract.save(update_fields=["cancelled_at", "next_period_starts_on"])
    event_append(
        contract=contract,
        action="cancellation",
        actor=actor,
        now=now,
        payload={"by": role.value, "reason": reason, "funded_before": funded_before},
    )
    cancel_unstarted(contract, actor=actor, now=now)
    started = Milestone.objects.select_for_update().filter(
        contract=contract, state__in=(MilestoneState.IN_PROGRESS, MilestoneState.REVISION_REQUESTED)
    )
    for milestone in started:
        locked = Locked(contract=contract, milestone=milestone, role=role)
        if role is Role.WORKER:
            if milestone.client_silence_expired_at is not None:
                cancel_with_kill_fee(locked, actor=actor, now=now)
            else:
                _withdraw(locked, actor=actor, now=now)  # type: ignore[arg-type]
            continue
        # The client's cancellation of started work waits for the worker: accept (kill fee),
        # deliver what is done, or dispute. Silence until the deadline counts as accepting.
        milestone.cancellation_requested_at = now
        clocks.clock_start(
            milestone,
            kind=ClockKind.CANCELLATION_ANSWER,
            now=now,
            deadline=now + dt.timedelta(days=settings.CANCELLATION_ANSWER_DAYS),
        )
        milestone.save()
        event_append(
            contract=contract,
            action="cancellation_requested",
            actor=actor,
            now=now,
            milestone=milestone,
            from_state=milestone.state,
            to_state=milestone.state,
            payload={
                "answer_by": milestone.clock_deadline_at,
                "kill_fee_percent": contract.kill_fee_percent,
            },
        )
        notices.cancellation_requested(milestone=milestone, contract=contract)
    if role is Role.CLIENT and funded_before:
        stats_bump(contract.client_id, cancellations_after_funding=1)
    contract_settle(contract, actor=actor, now=now)


def contract_cancel(*, actor: User, contract_id: int, reason: str) -> Contract:
    """キャンセル: by either party, with the outcomes of the product rules.

    A client's notice on a monthly contract takes effect after 30 days (law.md L-41) unless
    the worker agrees to end it sooner.
    """
    reason = clean_text(reason, field="reason", multiline=True, length_max=limits.REASON_LENGTH_MAX)
    with transaction.atomic(), notices_batched():
        now = clock.now()
        contract = contract_for_party(user=actor, contract_id=contract_id)
        role = role_or_system(contract, actor)
        if contract.state not in (ContractState.ACTIVE, ContractState.IN_DISPUTE) or (
            contract.cancelled_at is not None
        ):
            raise Conflict(
                _("This contract has already ended or is being cancelled."), code="contract_ended"
            )
        if contract.is_monthly and role is Role.CLIENT:
            if contract.termination_effective_at is not None:
                raise Conflict(
                    _("Notice of termination has already been given."), code="termination_pending"
                )
            contract.termination_requested_at = now
            contract.termination_effective_at = now + dt.timedelta(
                days=settings.MONTHLY_TERMINATION_NOTICE_DAYS
            )
            contract.save(update_fields=["termination_requested_at", "termination_effective_at"])
            event_append(
                contract=contract,
                action="termination_notice",
                actor=actor,
                now=now,
                payload={"reason": reason, "effective_at": contract.termination_effective_at},
            )
            notices.termination_notice(contract=contract)
            return contract
        _contract_cancel_now(contract, role=role, actor=actor, reason=reason, now=now)
        return contract


def contract_termination_accept_early(*, worker: User, contract_id: int) -> Contract:
    """The worker agrees to end a monthly contract now instead of after the notice period."""
    with transaction.atomic(), notices_batched():
        now = clock.now()
        contract = contract_for_party(user=worker, contract_id=contract_id)
        if contract.worker_id != worker.pk:
            raise Forbidden(_("Only the worker can agree to this."), code="not_your_action")
        if contract.termination_effective_at is None or contract.cancelled_at is not None:
            raise Conflict(
                _("No notice of termination is waiting for your answer."),
                code="no_termination_pending",
            )
        contract.termination_effective_at = now
        contract.save(update_fields=["termination_effective_at"])
        _contract_cancel_now(
            contract, role=Role.CLIENT, actor=worker, reason="accepted early by the worker", now=now
        )
        return contract


def milestone_cancellation_accept(*, worker: User, milestone_id: int) -> Milestone:
    """The worker accepts the client's cancellation of started work: kill fee, rest refunded."""
    with transaction.atomic(), notices_batched():
        now = clock.now()
        locked = lock(milestone_id=milestone_id, actor=worker)
        if locked.role is not Role.WORKER:
            raise Forbidden(_("This action is the other party's to take."), code="not_your_action")
        if locked.milestone.cancellation_requested_at is None:
            raise Conflict(
                _("No cancellation is waiting for your answer on this milestone."),
                code="no_cancellation_pending",
            )
        milestone = cancel_with_kill_fee(locked, actor=worker, now=now)
        contract_settle(locked.contract, actor=worker, now=now)
        return milestone


def contracts_terminate_due(*, batch: int = limits.SWEEP_BATCH_MAX) -> int:
    """Sweep: monthly contracts whose notice period has run out end now."""
    now = clock.now()
    due = list(
        Contract.objects.filter(
            termination_effective_at__lte=now,
            cancelled_at__isnull=True,
            state__in=(ContractState.ACTIVE, ContractState.IN_DISPUTE),
        )
        .order_by("termination_effective_at")
        .values_list("pk", flat=True)[:batch]
    )
    ended = 0
    for contract_id in due:
        with transaction.atomic(), notices_batched():
            contract = (
                Contract.objects.select_for_update()
                .filter(
                    pk=contract_id,
                    cancelled_at__isnull=True,
                    state__in=(ContractState.ACTIVE, ContractState.IN_DISPUTE),
                )
                .first()
            )
            if contract is None:
                continue
            lock_client_stats(contract)
            _contract_cancel_now(
                contract, role=Role.CLIENT, actor=None, reason="notice period ended", now=now
            )
            ended += 1
    return ended
