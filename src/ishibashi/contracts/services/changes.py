"""Change requests (変更依頼): priced changes that take effect when the other party accepts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ishibashi.accounts.models import User
from ishibashi.contracts import clocks, notices
from ishibashi.contracts.events import event_append
from ishibashi.contracts.models import (
    ChangeRequest,
    ChangeState,
    Contract,
    ContractState,
    Milestone,
    MilestoneState,
)
from ishibashi.contracts.services.settlement import (
    contract_for_party,
    contract_settle,
    ledger_key,
    refund_unstarted,
    role_or_system,
)
from ishibashi.contracts.services.terms import terms_version_create
from ishibashi.contracts.states import (
    MILESTONE_TERMINAL,
    STARTED,
    Action,
    Locked,
    transition,
)
from ishibashi.core import clock, limits
from ishibashi.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from ishibashi.core.text import clean_text
from ishibashi.jobs.models import (
    MilestoneKind,
)
from ishibashi.ledger import services as ledger
from ishibashi.notifications.notices import notices_batched


@dataclass(frozen=True)
class MilestoneEdit:
    id: int
    title: str | None = None
    amount_jpy: int | None = None
    due_on: dt.date | None = None


@dataclass(frozen=True)
class MilestoneAddition:
    title: str
    kind: str
    amount_jpy: int
    due_on: dt.date


# A price may move on these; escrow holds money on the funded ones, so only a cut is possible
# there (the difference is refunded), and added work comes as a new milestone funded first.
PRICE_FREE_STATES = frozenset({MilestoneState.DRAFT, MilestoneState.AWAITING_FUNDING})


PRICE_CUT_STATES = frozenset({MilestoneState.FUNDED, *STARTED})


# Months of a retainer are opened by the sweep, not by changes; this bounds a page's length.
CONTRACT_MILESTONES_MAX = limits.PROPOSAL_MILESTONES_MAX * 4


REMOVABLE_STATES = frozenset(
    {MilestoneState.DRAFT, MilestoneState.AWAITING_FUNDING, MilestoneState.FUNDED}
)


def _checked_amount(value: object, *, field: str) -> int:
    if type(value) is not int or not (
        limits.MILESTONE_AMOUNT_JPY_MIN <= value <= limits.MILESTONE_AMOUNT_JPY_MAX
    ):
        raise InvalidInput(
            _("An amount must be whole yen from %(min)s to %(max)s.")
            % {
                "min": f"{limits.MILESTONE_AMOUNT_JPY_MIN:,}",
                "max": f"{limits.MILESTONE_AMOUNT_JPY_MAX:,}",
            },
            field=field,
        )
    return value


def _change_effects(
    *,
    contract: Contract,
    edits: Sequence[MilestoneEdit],
    additions: Sequence[MilestoneAddition],
    removals: Sequence[int],
    today: dt.date,
) -> tuple[int, bool]:
    """Check a change against the milestones as they are now; (price delta, shortens a date)."""
    milestones = {m.pk: m for m in Milestone.objects.filter(contract=contract)}
    delta, shortens = 0, False
    seen: set[int] = set()
    for index, edit in enumerate(edits):
        field = f"milestones[{index}]"
        milestone = milestones.get(edit.id)
        if milestone is None or edit.id in seen or edit.id in removals:
            raise InvalidInput(
                _("Each milestone can be changed once, and only on this contract."), field=field
            )
        seen.add(edit.id)
        if milestone.state in MILESTONE_TERMINAL or milestone.state == MilestoneState.APPROVED:
            raise InvalidInput(
                _("“%(title)s” has ended and cannot be changed.") % {"title": milestone.title},
                field=field,
            )
        if edit.title is not None:
            clean_text(
                edit.title, field=f"{field}.title", length_max=limits.MILESTONE_TITLE_LENGTH_MAX
            )
        if edit.amount_jpy is not None:
            amount = _checked_amount(edit.amount_jpy, field=f"{field}.amount_jpy")
            if amount > milestone.amount_jpy and milestone.state not in PRICE_FREE_STATES:
                raise InvalidInput(
                    _(
                        "“%(title)s” is already in escrow. Add a new milestone for the added "
                        "work, so that it is funded before the work starts."
                    )
                    % {"title": milestone.title},
                    field=f"{field}.amount_jpy",
                )
            if milestone.state == MilestoneState.DISPUTED:
                raise InvalidInput(
                    _("A milestone in dispute is changed by the operator's ruling."),
                    field=f"{field}.amount_jpy",
                )
            delta += amount - milestone.amount_jpy
        if edit.due_on is not None:
            if edit.due_on < today:
                raise InvalidInput(_("A due date cannot be in the past."), field=f"{field}.due_on")
            shortens = shortens or edit.due_on < milestone.due_on
    for index, addition in enumerate(additions):
        field = f"add[{index}]"
        clean_text(
            addition.title, field=f"{field}.title", length_max=limits.MILESTONE_TITLE_LENGTH_MAX
        )
        if addition.kind not in MilestoneKind.values:
            raise InvalidInput(_("Choose a kind of milestone."), field=f"{field}.kind")
        delta += _checked_amount(addition.amount_jpy, field=f"{field}.amount_jpy")
        if addition.due_on < today:
            raise InvalidInput(_("A due date cannot be in the past."), field=f"{field}.due_on")
    for index, milestone_id in enumerate(removals):
        milestone = milestones.get(milestone_id)
        if milestone is None or removals.count(milestone_id) > 1:
            raise InvalidInput(
                _("Each milestone can be removed once, and only on this contract."),
                field=f"remove[{index}]",
            )
        if milestone.state not in REMOVABLE_STATES:
            raise InvalidInput(
                _("“%(title)s” has been started; cancel it or open a dispute instead.")
                % {"title": milestone.title},
                field=f"remove[{index}]",
            )
        delta -= milestone.amount_jpy
    remaining = len(milestones) - len(removals) + len(additions)
    if remaining <= 0:
        raise InvalidInput(_("A contract keeps at least one milestone."), field="remove")
    if len(milestones) + len(additions) > CONTRACT_MILESTONES_MAX:
        raise InvalidInput(
            _("A contract can have at most %(count)d milestones.")
            % {"count": CONTRACT_MILESTONES_MAX},
            field="add",
        )
    return delta, shortens


def change_propose(
    *,
    actor: User,
    contract_id: int,
    message: str,
    scope: str | None = None,
    edits: Sequence[MilestoneEdit] = (),
    additions: Sequence[MilestoneAddition] = (),
    removals: Sequence[int] = (),
    kill_fee_percent: int | None = None,
) -> ChangeRequest:
    """変更依頼: a change to scope, price, dates or milestones that the other party answers."""
    message = clean_text(
        message, field="message", multiline=True, length_max=limits.CHANGE_MESSAGE_LENGTH_MAX
    )
    if scope is not None:
        scope = clean_text(
            scope, field="scope", multiline=True, length_max=limits.JOB_DESCRIPTION_LENGTH_MAX
        )
    if kill_fee_percent is not None and (
        type(kill_fee_percent) is not int
        or not 0 <= kill_fee_percent <= settings.KILL_FEE_PERCENT_MAX
    ):
        raise InvalidInput(
            _("The kill fee must be 0 to %(max)d percent.")
            % {"max": settings.KILL_FEE_PERCENT_MAX},
            field="kill_fee_percent",
        )
    if len(edits) + len(additions) + len(removals) > limits.CHANGE_MILESTONES_MAX:
        raise InvalidInput(
            _("A change can touch at most %(count)d milestones.")
            % {"count": limits.CHANGE_MILESTONES_MAX},
            field="milestones",
        )
    if scope is None and kill_fee_percent is None and not (edits or additions or removals):
        raise InvalidInput(_("The change does not change anything."), field="milestones")
    with transaction.atomic(), notices_batched():
        now = clock.now()
        contract = contract_for_party(user=actor, contract_id=contract_id)
        if contract.state != ContractState.ACTIVE or contract.cancelled_at is not None:
            raise Conflict(_("Only an active contract can be changed."), code="contract_ended")
        if ChangeRequest.objects.filter(contract=contract, state=ChangeState.PROPOSED).exists():
            raise Conflict(
                _(
                    "A change is already waiting for an answer on this contract. "
                    "Answer or withdraw it first."
                ),
                code="change_pending",
            )
        delta, shortens = _change_effects(
            contract=contract,
            edits=edits,
            additions=additions,
            removals=list(removals),
            today=timezone.localdate(now),
        )
        change = ChangeRequest.objects.create(
            contract=contract,
            proposed_by=actor,
            message=message,
            changes={
                "scope": scope,
                "milestones": [
                    {
                        "id": e.id,
                        "title": e.title,
                        "amount_jpy": e.amount_jpy,
                        "due_on": e.due_on.isoformat() if e.due_on else None,
                    }
                    for e in edits
                ],
                "add": [
                    {
                        "title": a.title.strip(),
                        "kind": a.kind,
                        "amount_jpy": a.amount_jpy,
                        "due_on": a.due_on.isoformat(),
                    }
                    for a in additions
                ],
                "remove": list(removals),
                "kill_fee_percent": kill_fee_percent,
            },
            price_delta_jpy=delta,
            shortens_due_date=shortens,
            based_on_terms_version=contract.terms_version,
            created_at=now,
            expires_at=now + dt.timedelta(days=settings.CHANGE_ANSWER_DAYS),
        )
        event_append(
            contract=contract,
            action="change_proposed",
            actor=actor,
            now=now,
            payload={"change": change.pk, "price_delta_jpy": delta, "shortens_due_date": shortens},
        )
        notices.change_proposed(change=change)
        return change


def _change_for_party(*, user: User, change_id: int) -> tuple[ChangeRequest, Contract]:
    seen = ChangeRequest.objects.filter(pk=change_id).values_list("contract_id", flat=True).first()
    if seen is None:
        raise NotFound(_("No such change request."))
    contract = contract_for_party(user=user, contract_id=seen)
    change = ChangeRequest.objects.select_for_update().get(pk=change_id)
    return change, contract


def _answerable(change: ChangeRequest, *, user: User, now: dt.datetime) -> None:
    if change.state != ChangeState.PROPOSED:
        raise Conflict(
            _("This change has already been answered or has expired."), code="change_closed"
        )
    if change.expires_at <= now:
        raise Conflict(_("This change request has expired."), code="change_expired")
    if change.proposed_by_id == user.pk:
        raise Forbidden(_("A change is accepted by the other party."), code="not_your_action")


def _edits_of(
    change: ChangeRequest,
) -> tuple[list[MilestoneEdit], list[MilestoneAddition], list[int]]:
    data = change.changes
    edits = [
        MilestoneEdit(
            id=e["id"],
            title=e["title"],
            amount_jpy=e["amount_jpy"],
            due_on=dt.date.fromisoformat(e["due_on"]) if e["due_on"] else None,
        )
        for e in data["milestones"]
    ]
    additions = [
        MilestoneAddition(
            title=a["title"],
            kind=a["kind"],
            amount_jpy=a["amount_jpy"],
            due_on=dt.date.fromisoformat(a["due_on"]),
        )
        for a in data["add"]
    ]
    return edits, additions, list(data["remove"])


def change_accept(*, actor: User, change_id: int) -> ChangeRequest:
    """The other party accepts: the change applies and becomes the next terms version."""
    with transaction.atomic(), notices_batched():
        now = clock.now()
        change, contract = _change_for_party(user=actor, change_id=change_id)
        _answerable(change, user=actor, now=now)
        if contract.state != ContractState.ACTIVE or contract.cancelled_at is not None:
            raise Conflict(_("Only an active contract can be changed."), code="contract_ended")
        if change.based_on_terms_version != contract.terms_version:
            raise Conflict(
                _("The terms changed after this request was made; it no longer applies."),
                code="terms_changed",
            )
        edits, additions, removals = _edits_of(change)
        # Checked again under the locks: a milestone may have been funded or started since.
        _change_effects(
            contract=contract,
            edits=edits,
            additions=additions,
            removals=removals,
            today=timezone.localdate(now),
        )
        _change_apply(
            contract,
            change=change,
            edits=edits,
            additions=additions,
            removals=removals,
            actor=actor,
            now=now,
        )
        change.state = ChangeState.ACCEPTED
        change.answered_at = now
        change.resulting_terms_version = contract.terms_version
        change.save(update_fields=["state", "answered_at", "resulting_terms_version"])
        notices.change_answered(change=change, actor=actor)
        contract_settle(contract, actor=actor, now=now)
        return change


def _change_apply(
    contract: Contract,
    *,
    change: ChangeRequest,
    edits: Sequence[MilestoneEdit],
    additions: Sequence[MilestoneAddition],
    removals: Sequence[int],
    actor: User,
    now: dt.datetime,
) -> None:
    role = role_or_system(contract, actor)
    contract.terms_version += 1
    if change.changes.get("kill_fee_percent") is not None:
        contract.kill_fee_percent = change.changes["kill_fee_percent"]
    contract.save(update_fields=["terms_version", "kill_fee_percent"])
    for edit in edits:
        milestone = Milestone.objects.select_for_update().get(pk=edit.id)
        before = milestone.amount_jpy
        if edit.title is not None:
            milestone.title = edit.title.strip()
        if edit.due_on is not None:
            milestone.due_on = edit.due_on
        if edit.amount_jpy is not None and edit.amount_jpy != before:
            if before > edit.amount_jpy and milestone.state in PRICE_CUT_STATES:
                # The cut part of the escrow goes back to the client at once.
                ledger.escrow_refund(
                    client=contract.client,
                    escrow_reference=milestone.escrow_reference,
                    amount_jpy=before - edit.amount_jpy,
                    idempotency_key=ledger_key(
                        milestone, f"refund:terms-v{contract.terms_version}"
                    ),
                )
            milestone.amount_jpy = edit.amount_jpy
        milestone.save()
        event_append(
            contract=contract,
            action="milestone_changed",
            actor=actor,
            now=now,
            milestone=milestone,
            from_state=milestone.state,
            to_state=milestone.state,
            payload={
                "change": change.pk,
                "amount_jpy_before": before,
                "amount_jpy": milestone.amount_jpy,
                "due_on": milestone.due_on,
                "title": milestone.title,
            },
        )
    for milestone_id in removals:
        milestone = Milestone.objects.select_for_update().get(pk=milestone_id)
        locked = Locked(contract=contract, milestone=milestone, role=role)
        if milestone.state == MilestoneState.FUNDED:
            refund_unstarted(locked, actor=actor, now=now)
        else:
            clocks.clock_stop(milestone)
            transition(
                locked,
                action=Action.CANCEL_UNSTARTED,
                actor=actor,
                now=now,
                effect=lambda lk: {"change": change.pk},
            )
    position = contract.milestones.aggregate(p=Max("position"))["p"] or 0
    for addition in additions:
        position += 1
        milestone = Milestone.objects.create(
            contract=contract,
            position=position,
            title=addition.title.strip(),
            kind=addition.kind,
            amount_jpy=addition.amount_jpy,
            due_on=addition.due_on,
            created_at=now,
            added_in_terms_version=contract.terms_version,
        )
        event_append(
            contract=contract,
            action="milestone_added",
            actor=actor,
            now=now,
            milestone=milestone,
            to_state=milestone.state,
            payload={"change": change.pk, "amount_jpy": milestone.amount_jpy},
        )
    terms = terms_version_create(contract=contract, now=now, change=change)
    event_append(
        contract=contract,
        action="change_accepted",
        actor=actor,
        now=now,
        payload={
            "change": change.pk,
            "terms_version": terms.version,
            "terms_sha256": terms.snapshot_sha256,
        },
    )


def change_decline(*, actor: User, change_id: int, note: str = "") -> ChangeRequest:
    note = clean_text(
        note, field="note", multiline=True, length_max=limits.REASON_LENGTH_MAX, required=False
    )
    with transaction.atomic(), notices_batched():
        now = clock.now()
        change, contract = _change_for_party(user=actor, change_id=change_id)
        _answerable(change, user=actor, now=now)
        change.state, change.answered_at, change.answer_note = ChangeState.DECLINED, now, note
        change.save(update_fields=["state", "answered_at", "answer_note"])
        event_append(
            contract=contract,
            action="change_declined",
            actor=actor,
            now=now,
            payload={"change": change.pk, "note": note},
        )
        notices.change_answered(change=change, actor=actor)
        return change


def change_withdraw(*, actor: User, change_id: int) -> ChangeRequest:
    with transaction.atomic(), notices_batched():
        now = clock.now()
        change, contract = _change_for_party(user=actor, change_id=change_id)
        if change.proposed_by_id != actor.pk:
            raise Forbidden(
                _("Only the party who proposed a change can withdraw it."), code="not_your_action"
            )
        if change.state != ChangeState.PROPOSED:
            raise Conflict(
                _("This change has already been answered or has expired."), code="change_closed"
            )
        change.state, change.answered_at = ChangeState.WITHDRAWN, now
        change.save(update_fields=["state", "answered_at"])
        event_append(
            contract=contract,
            action="change_withdrawn",
            actor=actor,
            now=now,
            payload={"change": change.pk},
        )
        return change


def changes_expire_due(*, batch: int = limits.SWEEP_BATCH_MAX) -> int:
    """Sweep: unanswered change requests lapse at their deadline; the terms stay as they were."""
    now = clock.now()
    due = list(
        ChangeRequest.objects.filter(state=ChangeState.PROPOSED, expires_at__lte=now)
        .order_by("expires_at")
        .values_list("pk", "contract_id")[:batch]
    )
    expired = 0
    for change_id, contract_id in due:
        with transaction.atomic(), notices_batched():
            contract = Contract.objects.select_for_update().get(pk=contract_id)
            change = (
                ChangeRequest.objects.select_for_update()
                .filter(pk=change_id, state=ChangeState.PROPOSED)
                .first()
            )
            if change is None:
                continue
            change.state, change.answered_at = ChangeState.EXPIRED, now
            change.save(update_fields=["state", "answered_at"])
            event_append(
                contract=contract,
                action="change_expired",
                actor=None,
                now=now,
                payload={"change": change.pk},
            )
            notices.change_answered(change=change, actor=None)
            expired += 1
    return expired
