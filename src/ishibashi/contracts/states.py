"""The milestone and contract state machines: one table each, and the one transition().

Every change of a milestone's state goes through `transition()`, which locks the contract and
the milestone, checks (state, action, actor role) against MILESTONE_TRANSITIONS, lets the use
case move money under those locks, saves, and appends the hash-chained event. Nothing else
writes `Milestone.state`; a test walks the code to hold that.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.db import connection, models
from django.db.models import Q, Subquery
from django.utils.translation import gettext_lazy as _

from ishibashi.accounts.models import User
from ishibashi.contracts.events import EventChains, event_append
from ishibashi.contracts.models import (
    ClientContractStats,
    Contract,
    ContractState,
    Milestone,
    MilestoneState,
)
from ishibashi.core.errors import Conflict, Forbidden, NotFound
from ishibashi.notifications.notices import notices_acted_by

S = MilestoneState


class Role(StrEnum):
    CLIENT = "client"
    WORKER = "worker"
    OPERATOR = "operator"
    # The sweeper acting on a deadline; never a person.
    SYSTEM = "system"


class Action(StrEnum):
    REQUEST_FUNDING = "request_funding"
    FUND = "fund"
    EXPIRE_FUNDING = "expire_funding"
    START = "start"
    DELIVER = "deliver"
    APPROVE = "approve"
    AUTO_APPROVE = "auto_approve"
    # Freelance Act art. 4: released at the legal deadline whatever the revision history.
    LEGAL_RELEASE = "legal_release"
    RELEASE = "release"
    REQUEST_REVISION = "request_revision"
    # Unstarted work ends: an unfunded milestone is cancelled, a funded one refunded.
    CANCEL_UNSTARTED = "cancel_unstarted"
    REFUND_UNSTARTED = "refund_unstarted"
    # Started work ends with the kill fee to the worker and the rest back to the client.
    CANCEL_WITH_KILL_FEE = "cancel_with_kill_fee"
    # The worker gives up started work: everything back to the client.
    WITHDRAW = "withdraw"
    DISPUTE = "dispute"
    RESOLVE = "resolve"


C, W, OP, SYS = Role.CLIENT, Role.WORKER, Role.OPERATOR, Role.SYSTEM
STARTED = (S.IN_PROGRESS, S.REVISION_REQUESTED, S.DELIVERED)


@dataclass(frozen=True)
class Rule:
    roles: frozenset[Role]
    to_state: MilestoneState


def _rules(
    entries: list[tuple[tuple[MilestoneState, ...], Action, tuple[Role, ...], MilestoneState]],
) -> dict[tuple[MilestoneState, Action], Rule]:
    table: dict[tuple[MilestoneState, Action], Rule] = {}
    for states, action, roles, to_state in entries:
        for state in states:
            assert (state, action) not in table, (state, action)
            table[(state, action)] = Rule(frozenset(roles), to_state)
    return table


# (from states, action, who may take it, to state). Anything not listed is refused.
MILESTONE_TRANSITIONS = _rules(
    [
        # The client funds directly; the worker (or the sweeper) asks for it.
        ((S.DRAFT,), Action.REQUEST_FUNDING, (W, SYS), S.AWAITING_FUNDING),
        ((S.DRAFT, S.AWAITING_FUNDING), Action.FUND, (C,), S.FUNDED),
        ((S.AWAITING_FUNDING,), Action.EXPIRE_FUNDING, (SYS,), S.CANCELLED),
        ((S.DRAFT, S.AWAITING_FUNDING), Action.CANCEL_UNSTARTED, (C, W, SYS), S.CANCELLED),
        ((S.FUNDED,), Action.REFUND_UNSTARTED, (C, W, SYS), S.REFUNDED),
        ((S.FUNDED,), Action.START, (W,), S.IN_PROGRESS),
        # A stand-by or research milestone may be delivered without a separate start.
        ((S.FUNDED, S.IN_PROGRESS, S.REVISION_REQUESTED), Action.DELIVER, (W,), S.DELIVERED),
        ((S.DELIVERED,), Action.APPROVE, (C,), S.APPROVED),
        ((S.DELIVERED,), Action.AUTO_APPROVE, (SYS,), S.APPROVED),
        ((*STARTED, S.DISPUTED), Action.LEGAL_RELEASE, (SYS,), S.APPROVED),
        ((S.APPROVED,), Action.RELEASE, (SYS,), S.RELEASED),
        ((S.DELIVERED,), Action.REQUEST_REVISION, (C,), S.REVISION_REQUESTED),
        # The worker accepts the client's cancellation (or lets its answer period run out), or
        # cancels after the client fell silent during the work.
        (STARTED, Action.CANCEL_WITH_KILL_FEE, (W, SYS), S.CANCELLED),
        (STARTED, Action.WITHDRAW, (W,), S.REFUNDED),
        ((S.FUNDED, *STARTED), Action.DISPUTE, (C, W), S.DISPUTED),
        ((S.DISPUTED,), Action.RESOLVE, (OP,), S.RESOLVED),
    ]
)

MILESTONE_TERMINAL = frozenset({S.RELEASED, S.CANCELLED, S.REFUNDED, S.RESOLVED})
# States in which escrow holds the milestone's money.
MILESTONE_HOLDS_ESCROW = frozenset({S.FUNDED, *STARTED, S.APPROVED, S.DISPUTED})

CS = ContractState
CONTRACT_TRANSITIONS: dict[tuple[ContractState, str], ContractState] = {
    (CS.ACTIVE, "complete"): CS.COMPLETED,
    (CS.ACTIVE, "cancel"): CS.CANCELLED,
    (CS.ACTIVE, "open_dispute"): CS.IN_DISPUTE,
    (CS.IN_DISPUTE, "close_dispute"): CS.ACTIVE,
    (CS.IN_DISPUTE, "complete"): CS.COMPLETED,
    (CS.IN_DISPUTE, "cancel"): CS.CANCELLED,
}

ACTION_REFUSALS = {
    Action.START: _(
        "Escrow (仮払い) for this milestone is not funded yet. Do not start work "
        "before the client's escrow is complete."
    ),
    Action.FUND: _("This milestone is not waiting for escrow."),
    Action.DELIVER: _("This milestone cannot be delivered now."),
    Action.APPROVE: _("There is no delivery waiting for your inspection."),
    Action.REQUEST_REVISION: _("There is no delivery waiting for your inspection."),
    Action.DISPUTE: _("A dispute can be opened only on funded work that is not yet paid."),
}
ACTION_CODES = {Action.START: "milestone_not_funded", Action.FUND: "milestone_not_fundable"}


def role_of(contract: Contract, actor: User | None) -> Role | None:
    if actor is None:
        return Role.SYSTEM
    if actor.pk == contract.client_id:
        return Role.CLIENT
    if actor.pk == contract.worker_id:
        return Role.WORKER
    if actor.is_staff:
        return Role.OPERATOR
    return None


def check(*, contract: Contract, milestone: Milestone, action: Action, role: Role) -> Rule:
    """The rule that allows this action, or the refusal a person can act on."""
    rule = MILESTONE_TRANSITIONS.get((MilestoneState(milestone.state), action))
    unfunded = milestone.state in (S.DRAFT, S.AWAITING_FUNDING)
    if rule is None and action == Action.START and not unfunded:
        raise Conflict(
            _("This milestone has already been started."),
            code="milestone_state",
            extra={"state": milestone.state},
        )
    if rule is None:
        message = ACTION_REFUSALS.get(
            action,
            _("This cannot be done while the milestone is “%(state)s”."),
        )
        raise Conflict(
            message % {"state": milestone.get_state_display()}
            if "%(state)s" in str(message)
            else message,
            code=ACTION_CODES.get(action, "milestone_state"),
            extra={"state": milestone.state},
        )
    if role not in rule.roles:
        raise Forbidden(_("This action is the other party's to take."), code="not_your_action")
    if contract.state not in (ContractState.ACTIVE, ContractState.IN_DISPUTE):
        raise Conflict(_("This contract has ended."), code="contract_ended")
    return rule


@dataclass
class Locked:
    contract: Contract
    milestone: Milestone
    role: Role


def lock(*, milestone_id: int, actor: User | None) -> Locked:
    """Lock the contract, then the milestone (always that order), visible only to its parties.

    Every writer of a contract takes its row first, so events get their sequence in order and
    two writers never wait on each other's milestones in opposite orders.
    """
    seen = Milestone.objects.filter(pk=milestone_id).values_list("contract_id", flat=True).first()
    if seen is None:
        raise NotFound(_("No such milestone."))
    # The parties come with the row: notices and the ledger need them on every action.
    contract = (
        Contract.objects.select_for_update(of=("self",))
        .select_related("client", "worker")
        .get(pk=seen)
    )
    lock_client_stats(contract)
    role = role_of(contract, actor)
    if role is None or (role is Role.OPERATOR and actor is not None and not actor.is_staff):
        raise NotFound(_("No such milestone."))
    milestone = Milestone.objects.select_for_update().get(pk=milestone_id)
    return Locked(contract=contract, milestone=milestone, role=role)


def lock_client_stats(contract: Contract) -> None:
    """Take the client's stats row right after the contract row, in every contract writer.

    Use cases bump these counters both before moving money (approval) and after it (a ruling or
    a change that completes the contract, a cancellation). Taken here, the lock order is always
    contract, stats, milestone, ledger accounts, so two writers for one client never wait on
    each other's stats row and fee or wallet account in a circle.
    """
    rows = ClientContractStats.objects.select_for_update().filter(client_id=contract.client_id)
    if rows.values_list("pk", flat=True).first() is None:
        ClientContractStats.objects.get_or_create(client_id=contract.client_id)
        rows.values_list("pk", flat=True).first()


@dataclass
class LockedBatch:
    """Many milestones locked at once for the sweeper, in the order every writer takes them.

    `milestones` holds the asked-for milestones (whatever their state now) and every milestone
    of their contracts that has not ended, all row-locked.
    """

    contracts: dict[int, Contract]
    milestones: dict[int, Milestone]


def lock_batch(*, milestone_ids: list[int]) -> LockedBatch:
    """Lock the contracts, then the milestones: lock()'s order, each kind in id order.

    Two statements whatever the batch's size; the second runs once the contracts are held, so
    it reads the milestones as the last writer of each contract committed them. The clients'
    stats rows are locked only at the end (Pending.write), not here as lock() does: two sweepers
    share most clients, and holding their stats rows for a whole batch would make each wait for
    the other's commit. That is still a cycle-free order: a batch takes contracts, milestones,
    stats, then ledger accounts, each kind in id order; a one-milestone writer takes its
    contract, stats, milestone, then accounts, and never waits for a milestone of a contract it
    does not hold, so it never holds what a batch that is waiting for stats holds.
    """
    contracts = {
        contract.pk: contract
        for contract in Contract.objects.select_for_update(of=("self",))
        .select_related("client", "worker")
        .filter(
            pk__in=Subquery(Milestone.objects.filter(pk__in=milestone_ids).values("contract_id"))
        )
        .order_by("pk")
    }
    milestones = {
        milestone.pk: milestone
        for milestone in Milestone.objects.select_for_update()
        .filter(
            Q(pk__in=milestone_ids)
            | (Q(contract_id__in=list(contracts)) & ~Q(state__in=MILESTONE_TERMINAL))
        )
        .order_by("pk")
    }
    return LockedBatch(contracts=contracts, milestones=milestones)


def _stats_locked(client_ids: list[int]) -> dict[int, ClientContractStats]:
    """The clients' stats rows, locked in id order; a client's first is created (as
    lock_client_stats creates it) and locked with the others."""
    rows = ClientContractStats.objects.select_for_update().order_by("pk")
    stats = {row.client_id: row for row in rows.filter(client_id__in=client_ids)}
    missing = [client_id for client_id in client_ids if client_id not in stats]
    if missing:
        ClientContractStats.objects.bulk_create(
            [ClientContractStats(client_id=client_id) for client_id in missing],
            ignore_conflicts=True,
        )
        stats.update((row.client_id, row) for row in rows.filter(client_id__in=missing))
    return stats


# What a deferred transition may change on a milestone (approval, release, funding request,
# reminders, the sweeper's lease): Pending.write saves these columns of every milestone it holds.
DEFERRED_MILESTONE_FIELDS = (
    "state",
    "ended_at",
    "approved_at",
    "cancellation_requested_at",
    "funding_requested_at",
    "clock",
    "clock_started_at",
    "clock_deadline_at",
    "reminders_sent",
    "action_due_at",
    "sweep_lease_until",
)


_UPDATE_ROWS_MAX = 500  # rows per statement: at most 12 columns each, within any driver's limit


def _update_rows(model: type[models.Model], rows: list[Any], names: tuple[str, ...]) -> None:
    """Save `names` of many rows of `model` in one UPDATE … FROM (VALUES …) per 500 rows.

    Django's bulk_update builds a CASE per column per row; compiling it cost the sweeper more
    than everything else it does (bench/README.md). PostgreSQL and SQLite (3.33+) both accept
    this form and name the VALUES columns column1, column2, …; PostgreSQL gets a cast per column
    because the values arrive as untyped literals.
    """
    if not rows:
        return
    fields: list[models.Field[Any, Any]] = []
    for name in names:
        field = model._meta.get_field(name)
        assert isinstance(field, models.Field)
        fields.append(field)
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    postgresql = connection.vendor == "postgresql"
    assignments = ", ".join(
        f"{quote(str(field.column))} = "
        + (f"CAST(v.column{n} AS {field.db_type(connection)})" if postgresql else f"v.column{n}")
        for n, field in enumerate(fields, start=2)
    )
    row_placeholders = "(" + ", ".join(["%s"] * (len(fields) + 1)) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _UPDATE_ROWS_MAX):
            chunk = rows[start : start + _UPDATE_ROWS_MAX]
            params: list[Any] = []
            for row in chunk:
                params.append(row.pk)
                params.extend(
                    field.get_db_prep_save(getattr(row, field.attname), connection)
                    for field in fields
                )
            cursor.execute(
                f"UPDATE {table} SET {assignments} FROM (VALUES "  # noqa: S608 (names from models)
                + ", ".join([row_placeholders] * len(chunk))
                + f") AS v WHERE {table}.{quote(model._meta.pk.column)} = v.column1",
                params,
            )


@dataclass
class Pending:
    """A batch's writes held in memory under its locks, then made in a few statements.

    transition() and contract_transition() given a Pending check the table and append the event
    exactly as without one, but leave the saving to `write()`: one UPDATE for the milestones,
    one for the contracts, one INSERT for the events, then the clients' stats rows locked and
    updated (one statement each).
    """

    locked: LockedBatch
    events: EventChains
    milestones: dict[int, Milestone] = field(default_factory=dict)
    contracts: dict[int, Contract] = field(default_factory=dict)
    stats: dict[int, Counter[str]] = field(default_factory=dict)

    def milestone_changed(self, milestone: Milestone) -> None:
        self.milestones[milestone.pk] = milestone

    def stats_add(self, client_id: int, **deltas: int) -> None:
        self.stats.setdefault(client_id, Counter()).update(deltas)

    def write(self) -> None:
        _update_rows(Milestone, list(self.milestones.values()), DEFERRED_MILESTONE_FIELDS)
        _update_rows(Contract, list(self.contracts.values()), ("state", "ended_at"))
        self.events.write()
        # Last, so the stats rows that two sweepers share are held only until the commit.
        if self.stats:
            locked = _stats_locked(sorted(self.stats))
            rows, fields = [], set[str]()
            for client_id, deltas in self.stats.items():
                row = locked[client_id]
                for name, delta in deltas.items():
                    setattr(row, name, getattr(row, name) + delta)
                fields.update(deltas)
                rows.append(row)
            _update_rows(ClientContractStats, rows, tuple(sorted(fields)))
        self.milestones, self.contracts, self.stats = {}, {}, {}


# The use case's own work under the locks (money, fields); returns the event's payload.
Effect = Callable[[Locked], dict[str, Any] | None]


def transition(
    locked: Locked,
    *,
    action: Action,
    actor: User | None,
    now: dt.datetime,
    effect: Effect | None = None,
    notify: Callable[[Locked], None] | None = None,
    pending: Pending | None = None,
) -> Milestone:
    """Check, run the effect, save the new state and append the event; the caller's transaction.

    `notify` runs at once but only queues mail with transaction.on_commit
    (notifications.notices), so a rolled-back transition tells nobody anything. With `pending`
    (the sweeper's batch, whose locks are all held) the row and the event are written by
    `pending.write()` instead, in the same transaction; the effect may then change only
    DEFERRED_MILESTONE_FIELDS.
    """

    # What the sweeper does after a person's action (the release after an approval) is its own.
    role = Role.SYSTEM if actor is None else locked.role
    rule = check(contract=locked.contract, milestone=locked.milestone, action=action, role=role)
    milestone = locked.milestone
    from_state = milestone.state
    payload = (effect(locked) if effect else None) or {}
    milestone.state = rule.to_state
    if rule.to_state in MILESTONE_TERMINAL:
        milestone.ended_at = now
    if pending is None:
        milestone.save()
    else:
        pending.milestone_changed(milestone)
    (event_append if pending is None else pending.events.append)(
        contract=locked.contract,
        action=action.value,
        actor=actor,
        now=now,
        milestone=milestone,
        from_state=from_state,
        to_state=milestone.state,
        payload=payload,
    )
    if notify is not None:
        # The actor is never told of their own action; the other party (or, for the
        # sweeper's, both) is.
        with notices_acted_by(actor):
            notify(locked)
    return milestone


def contract_transition(
    contract: Contract,
    *,
    action: str,
    actor: User | None,
    now: dt.datetime,
    payload: dict[str, Any] | None = None,
    pending: Pending | None = None,
) -> None:
    """Move the (locked) contract along CONTRACT_TRANSITIONS and record it (with `pending`: by
    pending.write(), as transition())."""

    to_state = CONTRACT_TRANSITIONS.get((ContractState(contract.state), action))
    if to_state is None:
        raise Conflict(_("This contract has ended."), code="contract_ended")
    from_state = contract.state
    contract.state = to_state
    if to_state in (ContractState.COMPLETED, ContractState.CANCELLED):
        contract.ended_at = now
    if pending is None:
        contract.save()
    else:
        pending.contracts[contract.pk] = contract
    (event_append if pending is None else pending.events.append)(
        contract=contract,
        action=f"contract_{action}",
        actor=actor,
        now=now,
        from_state=from_state,
        to_state=to_state,
        payload=payload,
    )
