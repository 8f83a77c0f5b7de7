"""How milestones end and the contract follows: release, refunds, the kill fee."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from ishibashi.accounts.models import User
from ishibashi.contracts import clocks, notices, timing
from ishibashi.contracts.models import (
    ClientContractStats,
    ClockKind,
    Contract,
    ContractState,
    Delivery,
    Milestone,
    MilestoneState,
)
from ishibashi.contracts.states import (
    MILESTONE_TERMINAL,
    STARTED,
    Action,
    Locked,
    Pending,
    Role,
    contract_transition,
    lock_client_stats,
    role_of,
    transition,
)
from ishibashi.core.errors import NotFound
from ishibashi.ledger import services as ledger
from ishibashi.notifications.notices import notices_acted_by


def ledger_key(milestone: Milestone, purpose: str) -> str:
    # One key per money movement a milestone can make: a replay after a crash or a race can
    # never move the same yen twice (the ledger answers a repeated key with the first transfer).
    return f"{milestone.escrow_reference}:{purpose}"


def stats_bump(client_id: int, **deltas: int) -> None:
    changes = {name: F(name) + delta for name, delta in deltas.items()}
    # Every contract writer has locked (and so made) the row already; create it only if not.
    if not ClientContractStats.objects.filter(client_id=client_id).update(**changes):
        ClientContractStats.objects.get_or_create(client_id=client_id)
        ClientContractStats.objects.filter(client_id=client_id).update(**changes)


def request_funding(
    locked: Locked, *, actor: User | None, now: dt.datetime, pending: Pending | None = None
) -> None:
    milestone = locked.milestone
    milestone.funding_requested_at = now
    clocks.clock_start(
        milestone,
        kind=ClockKind.FUNDING,
        now=now,
        deadline=now + dt.timedelta(days=settings.FUNDING_DAYS),
    )
    transition(
        locked,
        action=Action.REQUEST_FUNDING,
        actor=actor,
        now=now,
        effect=lambda lk: {
            "amount_jpy": lk.milestone.amount_jpy,
            "deadline": lk.milestone.clock_deadline_at,
        },
        notify=notices.funding_requested,
        pending=pending,
    )


def next_milestone_request_funding(
    contract: Contract,
    *,
    now: dt.datetime,
    pending: Pending | None = None,
    milestones: list[Milestone] | None = None,
) -> None:
    """After a milestone ends, ask for the next one's escrow — unless one is already asked.

    `milestones`: the contract's milestones not yet ended, already row-locked (the sweeper's
    batch); otherwise they are read and the next one locked here.
    """
    if contract.cancelled_at is not None or contract.termination_effective_at is not None:
        return
    if milestones is None:
        rows = list(Milestone.objects.filter(contract=contract).order_by("position"))
    else:
        rows = sorted(milestones, key=lambda m: m.position)
    waiting = {MilestoneState.AWAITING_FUNDING, MilestoneState.FUNDED, *STARTED}
    if any(m.state in waiting for m in rows):
        return
    following = next((m for m in rows if m.state == MilestoneState.DRAFT), None)
    if following is None:
        return
    if milestones is None:
        following = Milestone.objects.select_for_update().get(pk=following.pk)
    locked = Locked(contract=contract, milestone=following, role=Role.SYSTEM)
    request_funding(locked, actor=None, now=now, pending=pending)


def contract_settle(
    contract: Contract,
    *,
    actor: User | None,
    now: dt.datetime,
    pending: Pending | None = None,
    milestones: list[Milestone] | None = None,
) -> None:
    """Bring the contract's state in line with its milestones (the contract row is locked).

    `milestones`: every milestone of the contract not yet ended, already row-locked (the
    sweeper's batch, with `pending`); the ended ones need no reading to settle.
    """
    if milestones is None:
        states = set(Milestone.objects.filter(contract=contract).values_list("state", flat=True))
    else:
        states = {m.state for m in milestones}
    if MilestoneState.DISPUTED in states:
        if contract.state == ContractState.ACTIVE:
            contract_transition(
                contract, action="open_dispute", actor=actor, now=now, pending=pending
            )
        return
    if contract.state == ContractState.IN_DISPUTE:
        contract_transition(contract, action="close_dispute", actor=actor, now=now, pending=pending)
    open_periods = (
        contract.is_monthly
        and (contract.termination_effective_at is None or contract.termination_effective_at > now)
        and contract.cancelled_at is None
    )
    if states <= MILESTONE_TERMINAL and not open_periods:
        if contract.cancelled_at is not None:
            contract_transition(contract, action="cancel", actor=actor, now=now, pending=pending)
            if pending is None:
                stats_bump(contract.client_id, contracts_cancelled=1)
            else:
                pending.stats_add(contract.client_id, contracts_cancelled=1)
        else:
            contract_transition(contract, action="complete", actor=actor, now=now, pending=pending)
            if pending is None:
                stats_bump(contract.client_id, contracts_completed=1)
            else:
                pending.stats_add(contract.client_id, contracts_completed=1)
            notices.contract_ended(contract=contract, actor=actor)
        return
    next_milestone_request_funding(contract, now=now, pending=pending, milestones=milestones)


def latest_delivery(milestone: Milestone) -> Delivery | None:
    return milestone.deliveries.order_by("-version").first()


def release_escrow(lk: Locked) -> None:
    m, contract = lk.milestone, lk.contract
    ledger.escrow_release(
        client=contract.client,
        worker=contract.worker,
        escrow_reference=m.escrow_reference,
        amount_jpy=m.amount_jpy,
        fee_rate_bps=contract.fee_rate_bps,
        withholding_applies=contract.withholding_applies,
        idempotency_key=ledger_key(m, "release"),
    )


def release_escrow_many(released: list[Locked]) -> None:
    """release_escrow for a batch of approved milestones, in one ledger statement."""
    ledger.escrow_release_many(
        [
            ledger.EscrowRelease(
                client=lk.contract.client,
                worker=lk.contract.worker,
                escrow_reference=lk.milestone.escrow_reference,
                amount_jpy=lk.milestone.amount_jpy,
                fee_rate_bps=lk.contract.fee_rate_bps,
                withholding_applies=lk.contract.withholding_applies,
                idempotency_key=ledger_key(lk.milestone, "release"),
            )
            for lk in released
        ]
    )


def approve_and_release(
    locked: Locked,
    *,
    action: Action,
    actor: User | None,
    now: dt.datetime,
    payload: dict[str, Any] | None = None,
    pending: Pending | None = None,
) -> Milestone:
    """Approve and release under the caller's locks; the contract follows, then the money moves.

    With `pending` (the sweeper's batch) the rows, events and counters are written by
    pending.write(), and the caller settles the contract from its locked milestones and makes
    the release transfer (release_escrow_many) last in its transaction.
    """
    bump = stats_bump if pending is None else pending.stats_add

    def approved(lk: Locked) -> dict[str, Any]:
        m = lk.milestone
        m.approved_at = now
        m.cancellation_requested_at = None
        if m.delivered_at is not None and action != Action.LEGAL_RELEASE:
            waited = int((now - m.delivered_at).total_seconds())
            bump(
                lk.contract.client_id,
                inspections=1,
                inspection_seconds_total=waited,
                **timing.bump_for("inspect", waited),
            )
        clocks.clock_stop(m)
        m.action_due_at = None
        return payload or {}

    transition(locked, action=action, actor=actor, now=now, effect=approved, pending=pending)
    amount, key = locked.milestone.amount_jpy, ledger_key(locked.milestone, "release")
    # The release and what follows (the next milestone's escrow request, the contract's end)
    # are the approver's doing: they are not told of them.
    with notices_acted_by(actor):
        milestone = transition(
            locked,
            action=Action.RELEASE,
            actor=None,
            now=now,
            # The ledger key names the transfer: the ledger holds one transfer per key, ever.
            effect=lambda lk: {"amount_jpy": amount, "ledger_key": key},
            notify=notices.released,
            pending=pending,
        )
        if pending is not None:
            return milestone
        contract_settle(locked.contract, actor=actor, now=now)
    # Last in the transaction: every release locks the platform's fee account, the one row all
    # sweepers share, so it is held only for the transfer and the commit, not for the rest.
    release_escrow(locked)
    return milestone


def contract_for_party(*, user: User, contract_id: int, lock_row: bool = True) -> Contract:
    rows = Contract.objects.select_related("client", "worker")
    if lock_row:
        rows = rows.select_for_update(of=("self",))
    contract = rows.filter(pk=contract_id).first()
    if contract is None or not contract.is_party(user.pk):
        raise NotFound(_("No such contract."))
    if lock_row:
        lock_client_stats(contract)
    return contract


def cancel_unstarted(contract: Contract, *, actor: User | None, now: dt.datetime) -> None:
    """Unfunded milestones are cancelled; funded but unstarted ones refunded in full."""
    for milestone in Milestone.objects.select_for_update().filter(
        contract=contract,
        state__in=(MilestoneState.DRAFT, MilestoneState.AWAITING_FUNDING, MilestoneState.FUNDED),
    ):
        locked = Locked(
            contract=contract, milestone=milestone, role=role_or_system(contract, actor)
        )
        if milestone.state == MilestoneState.FUNDED:
            refund_unstarted(locked, actor=actor, now=now)
        else:
            clocks.clock_stop(milestone)
            transition(locked, action=Action.CANCEL_UNSTARTED, actor=actor, now=now)


def role_or_system(contract: Contract, actor: User | None) -> Role:
    role = role_of(contract, actor)
    assert role is not None
    return role


def refund_unstarted(locked: Locked, *, actor: User | None, now: dt.datetime) -> None:
    def refund(lk: Locked) -> dict[str, Any]:
        m = lk.milestone
        transfer = ledger.escrow_refund(
            client=lk.contract.client,
            escrow_reference=m.escrow_reference,
            amount_jpy=m.amount_jpy,
            idempotency_key=ledger_key(m, "refund"),
        )
        clocks.clock_stop(m)
        return {"amount_jpy": m.amount_jpy, "transfer": transfer.pk}

    transition(locked, action=Action.REFUND_UNSTARTED, actor=actor, now=now, effect=refund)


def kill_fee_split(*, amount_jpy: int, kill_fee_percent: int) -> tuple[int, int]:
    """(to the worker, back to the client); the fee is rounded down to whole yen."""
    fee = amount_jpy * kill_fee_percent // 100
    return fee, amount_jpy - fee


def cancel_with_kill_fee(locked: Locked, *, actor: User | None, now: dt.datetime) -> Milestone:
    def split(lk: Locked) -> dict[str, Any]:
        m, contract = lk.milestone, lk.contract
        to_worker, to_client = kill_fee_split(
            amount_jpy=m.amount_jpy, kill_fee_percent=contract.kill_fee_percent
        )
        transfer = ledger.escrow_split(
            client=contract.client,
            worker=contract.worker,
            escrow_reference=m.escrow_reference,
            worker_amount_jpy=to_worker,
            client_amount_jpy=to_client,
            fee_rate_bps=contract.fee_rate_bps,
            withholding_applies=contract.withholding_applies,
            idempotency_key=ledger_key(m, "split"),
        )
        clocks.clock_stop(m)
        m.action_due_at = None
        return {
            "kill_fee_percent": contract.kill_fee_percent,
            "worker_amount_jpy": to_worker,
            "client_amount_jpy": to_client,
            "transfer": transfer.pk,
        }

    return transition(
        locked,
        action=Action.CANCEL_WITH_KILL_FEE,
        actor=actor,
        now=now,
        effect=split,
        notify=notices.cancelled_with_kill_fee,
    )
