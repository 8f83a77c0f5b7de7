"""What the contract page draws per milestone, change and terms version, with its forms."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.conf import settings
from django.forms import Form
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from ishibashi.accounts.models import User
from ishibashi.contracts import forms, selectors, services
from ishibashi.contracts.models import (
    ChangeRequest,
    Contract,
    Delivery,
    DeliveryFile,
    Milestone,
    MilestoneState,
)
from ishibashi.contracts.selectors import RunningClock
from ishibashi.contracts.states import MILESTONE_TERMINAL, Role
from ishibashi.contracts.views import fragments
from ishibashi.contracts.views.base import LOCKED_REASON, REPORT_KINDS, yen
from ishibashi.contracts.views.timeline import CLOCK_HINTS, clock_in_words, signed_yen
from ishibashi.core import limits


@dataclass(frozen=True)
class FileRow:
    file: DeliveryFile
    can_download: bool


@dataclass(frozen=True)
class DeliveryRow:
    delivery: Delivery
    files: list[FileRow]
    is_latest: bool


@dataclass
class Bound:
    """A posted form that was refused, to draw again in its place with its errors."""

    kind: str
    key: int | None
    form: Form
    used: bool = False

    def take(self, kind: str, key: int | None) -> Form | None:
        if self.kind == kind and self.key == key:
            self.used = True
            return self.form
        return None


def bound_form(bound: Bound | None, kind: str, key: int | None, make: Callable[[], Form]) -> Form:
    return (bound.take(kind, key) if bound else None) or make()


@dataclass
class MilestoneCard:
    milestone: Milestone
    # From the agreed terms: when payment is due at the latest if delivered on the due date.
    payment_due_on: str
    actions: frozenset[str]
    clock: RunningClock | None = None
    clock_words: str = ""
    clock_hint: str = ""
    deliveries: list[DeliveryRow] = field(default_factory=list)
    latest: Delivery | None = None
    revisions_left: int = 0
    can_report: bool = False
    fund_shortfall_jpy: int = 0
    # If the worker accepts the client's cancellation: (to the worker, back to the client).
    kill_fee_split: tuple[int, int] | None = None
    forms: dict[str, Form] = field(default_factory=dict)
    deliveries_html: SafeString = field(default_factory=SafeString)
    # An ended milestone's whole card, drawn in Python (fragments.ended_milestone); else "".
    html: SafeString = field(default_factory=SafeString)


def _delivery_rows(viewer: User, contract: Contract, milestone: Milestone) -> list[DeliveryRow]:
    if milestone.first_delivered_at is None:  # never delivered: no query
        return []
    deliveries = list(selectors.deliveries_for_milestone(milestone=milestone))
    return [
        DeliveryRow(
            delivery=delivery,
            files=[
                FileRow(
                    file=file,
                    can_download=selectors.file_is_downloadable(
                        viewer=viewer, contract=contract, milestone=milestone, file=file
                    ),
                )
                for file in delivery.files.all()
            ],
            is_latest=index == 0,
        )
        for index, delivery in enumerate(deliveries)
    ]


def milestone_card(
    *,
    viewer: User,
    role: Role | None,
    contract: Contract,
    milestone: Milestone,
    agreed: dict[Any, Any],
    now: dt.datetime,
    wallet_jpy: int | None,
    bound: Bound | None,
) -> MilestoneCard:
    actions = frozenset(
        selectors.milestone_actions(viewer=viewer, contract=contract, milestone=milestone)
    )
    card = MilestoneCard(
        milestone=milestone,
        payment_due_on=str(agreed.get(milestone.position, {}).get("payment_due_on", "")),
        actions=actions,
        revisions_left=max(contract.revision_rounds - milestone.revisions_used, 0),
        can_report=milestone.kind in REPORT_KINDS
        or milestone.client_silence_expired_at is not None,
    )
    card.clock = selectors.milestone_clock(milestone=milestone, now=now)
    if card.clock is not None:
        card.clock_words = clock_in_words(card.clock)
        hint = CLOCK_HINTS.get((card.clock.kind, role)) if role else None
        card.clock_hint = str(hint) if hint else ""
    card.deliveries = _delivery_rows(viewer, contract, milestone)
    card.latest = card.deliveries[0].delivery if card.deliveries else None
    card.deliveries_html = fragments.delivery_list(card.deliveries, str(LOCKED_REASON))
    if milestone.state in MILESTONE_TERMINAL and not actions:
        card.html = fragments.ended_milestone(card)
        return card
    if "fund" in actions and wallet_jpy is not None:
        card.fund_shortfall_jpy = max(milestone.amount_jpy - wallet_jpy, 0)
    if milestone.cancellation_requested_at is not None:
        card.kill_fee_split = services.kill_fee_split(
            amount_jpy=milestone.amount_jpy, kill_fee_percent=contract.kill_fee_percent
        )
    # Each form's place on the page: the milestone, or for a revision the delivery inspected.
    makers: dict[str, tuple[str, int, type[Form]]] = {
        "deliver": ("deliver", milestone.pk, forms.DeliverForm),
        "dispute": ("dispute", milestone.pk, forms.DisputeForm),
        "resolve": ("resolve", milestone.pk, forms.ResolveForm),
        "freeze_dispute": ("freeze", milestone.pk, forms.NoteForm),
    }
    if card.latest is not None:
        makers["request_revision"] = ("revision", card.latest.pk, forms.RevisionForm)
    for action, (kind, key, form_class) in makers.items():
        if action in actions:
            card.forms[kind] = bound_form(
                bound,
                kind,
                key,
                partial(form_class, auto_id=forms.scoped_id(kind, key)),
            )
    return card


@dataclass(frozen=True)
class Outcome:
    milestone: Milestone
    text: str


def cancellation_outcomes(
    contract: Contract, milestones: list[Milestone], role: Role | None
) -> list[Outcome]:
    """What cancelling now does to each milestone, said before the button (product.md rules)."""
    outcomes = []
    percent = contract.kill_fee_percent
    for m in milestones:
        state = m.state
        if state in (MilestoneState.DRAFT, MilestoneState.AWAITING_FUNDING):
            text = _("Cancelled; nothing was paid in.")
        elif state == MilestoneState.FUNDED:
            text = _("Not started: %(amount)s is refunded to the client in full.") % {
                "amount": yen(m.amount_jpy)
            }
        elif state in (MilestoneState.IN_PROGRESS, MilestoneState.REVISION_REQUESTED):
            fee, rest = services.kill_fee_split(amount_jpy=m.amount_jpy, kill_fee_percent=percent)
            values = {"percent": percent, "fee": yen(fee), "rest": yen(rest)}
            if role is Role.CLIENT:
                text = _(
                    "Work has started: the worker is asked to accept. If they do, or do not "
                    "answer within %(days)d days, the kill fee of %(percent)d%% (%(fee)s) goes "
                    "to the worker and %(rest)s back to you. The worker may instead deliver "
                    "the work so far or open a dispute."
                ) % {**values, "days": settings.CANCELLATION_ANSWER_DAYS}
            elif m.client_silence_expired_at is not None:
                text = (
                    _(
                        "The client stopped answering: the kill fee of %(percent)d%% (%(fee)s) is "
                        "paid to you and %(rest)s goes back to the client."
                    )
                    % values
                )
            else:
                text = _(
                    "You give up started work: %(amount)s goes back to the client in full. "
                    "Deliver the work so far instead if you want to be paid for it."
                ) % {"amount": yen(m.amount_jpy)}
        elif state == MilestoneState.DELIVERED:
            text = _(
                "Delivered: not affected. The inspection continues, and the delivery is approved "
                "and paid automatically at its deadline."
            )
        elif state == MilestoneState.DISPUTED:
            text = _("In dispute: the operator decides.")
        elif state in (MilestoneState.APPROVED, MilestoneState.RELEASED):
            text = _("Already paid; it stays paid.")
        else:
            continue
        outcomes.append(Outcome(milestone=m, text=text))
    return outcomes


@dataclass(frozen=True)
class ChangeRow:
    change: ChangeRequest
    actions: frozenset[str]
    edits: list[dict[str, Any]]
    additions: list[dict[str, Any]]
    removals: list[Milestone | int]
    price_delta: str
    decline_form: Form | None


def change_rows(
    *,
    viewer: User,
    contract: Contract,
    milestones: list[Milestone],
    now: dt.datetime,
    bound: Bound | None,
) -> list[ChangeRow]:
    by_id = {m.pk: m for m in milestones}
    rows = []
    for change in selectors.changes_for_contract(contract=contract)[: limits.PAGE_SIZE_MAX]:
        actions = frozenset(
            selectors.change_actions(viewer=viewer, contract=contract, change=change, now=now)
        )
        data = change.changes or {}
        edits = [
            {**edit, "milestone": by_id.get(edit.get("id"))} for edit in data.get("milestones", [])
        ]
        decline_form = (
            bound_form(
                bound,
                "decline",
                change.pk,
                partial(forms.NoteForm, auto_id=forms.scoped_id("decline", change.pk)),
            )
            if "decline" in actions
            else None
        )
        rows.append(
            ChangeRow(
                change=change,
                actions=actions,
                edits=edits,
                additions=list(data.get("add", [])),
                removals=[by_id.get(pk, pk) for pk in data.get("remove", [])],
                price_delta=signed_yen({"price_delta_jpy": change.price_delta_jpy}),
                decline_form=decline_form,
            )
        )
    return rows


def change_form(
    contract: Contract, milestones: list[Milestone], data: Any = None
) -> forms.ChangeProposeForm:
    editable = [
        m
        for m in milestones
        if m.state not in MILESTONE_TERMINAL and m.state != MilestoneState.APPROVED
    ]
    removable = [m.pk for m in editable if m.state in services.REMOVABLE_STATES]
    return forms.ChangeProposeForm(
        data, editable=editable, removable_ids=removable, auto_id=forms.scoped_id("change")
    )


@dataclass(frozen=True)
class TermsRow:
    version: int
    agreed_at: dt.datetime
    sha256: str
    milestones: list[dict[str, Any]]
    total_jpy: int
    kill_fee_percent: int | None
