"""Contract pages: the viewer's contracts, and one contract with everything either party does.

Only the two parties and operators see a contract; anybody else gets the same 404 as for a
contract that does not exist (contracts.selectors decides). The buttons on the page come from
`milestone_actions`, `contract_actions` and `change_actions` only, so the page never offers what
the service would refuse. Every POST view parses a form, calls one service and redirects on
success; a refusal comes back next to the form it concerns (or as a message), in the
request's language, never as a server error.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.forms import Form
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from ishibashi.accounts.models import User
from ishibashi.contracts import forms, selectors, services
from ishibashi.contracts.models import (
    ChangeRequest,
    ClockKind,
    Contract,
    ContractEvent,
    ContractState,
    Delivery,
    DeliveryFile,
    FileVisibility,
    FlagKind,
    Milestone,
    MilestoneState,
)
from ishibashi.contracts.selectors import RunningClock
from ishibashi.contracts.states import MILESTONE_TERMINAL, STARTED, Role, role_of
from ishibashi.core import clock, limits
from ishibashi.core.errors import ApplicationError, Forbidden, NotFound
from ishibashi.ledger.selectors import wallet_summary_for_user

# Deep pages of a newest-first list are never read by a person and cost an OFFSET scan.
PAGES_MAX = 1000
PAGER_PAGES_BEFORE = 4
CHANGE_FIELD = re.compile(r"(milestones|add|remove)\[(\d+)\](?:\.(\w+))?")

# What each event means in words; an action added later shows its code until it is named here.
EVENT_LABELS = {
    "contract_created": gettext_lazy("Contract signed (terms version 1)"),
    "funding_requested": gettext_lazy("Escrow (仮払い) requested"),
    "request_funding": gettext_lazy("Escrow (仮払い) requested"),
    "fund": gettext_lazy("Escrow (仮払い) funded"),
    "start": gettext_lazy("Work started"),
    "deliver": gettext_lazy("Delivered (納品)"),
    "reminder_sent": gettext_lazy("Reminder sent"),
    "auto_approve": gettext_lazy("Approved automatically: no answer by the inspection deadline"),
    "legal_release": gettext_lazy("Released at the legal payment deadline (60-day rule)"),
    "approve": gettext_lazy("Delivery approved (検収)"),
    "release": gettext_lazy("Paid to the worker"),
    "request_revision": gettext_lazy("Revision requested (修正依頼)"),
    "expire_funding": gettext_lazy("Escrow not funded in time: milestone closed"),
    "cancel_unstarted": gettext_lazy("Cancelled before work started"),
    "refund_unstarted": gettext_lazy("Refunded to the client (work had not started)"),
    "cancel_with_kill_fee": gettext_lazy("Cancelled with the kill fee (キャンセル料)"),
    "withdraw": gettext_lazy("The worker withdrew; refunded to the client"),
    "dispute": gettext_lazy("Dispute opened (トラブル)"),
    "dispute_frozen": gettext_lazy("The operator froze the payment deadline while deciding"),
    "resolve": gettext_lazy("The operator decided the dispute"),
    "change_proposed": gettext_lazy("Change proposed (変更依頼)"),
    "change_accepted": gettext_lazy("Change accepted: new terms version"),
    "change_declined": gettext_lazy("Change declined"),
    "change_withdrawn": gettext_lazy("Change withdrawn"),
    "change_expired": gettext_lazy("Change expired without an answer"),
    "milestone_changed": gettext_lazy("Milestone changed"),
    "milestone_added": gettext_lazy("Milestone added"),
    "cancellation": gettext_lazy("Contract cancellation (キャンセル)"),
    "cancellation_requested": gettext_lazy("Cancellation of started work: the worker answers"),
    "termination_notice": gettext_lazy("Notice of termination (30 days)"),
    "client_silence_expired": gettext_lazy("The client stopped answering during the work"),
    "flagged": gettext_lazy("Reported: asked to work before escrow"),
    "period_opened": gettext_lazy("New month opened"),
    "contract_complete": gettext_lazy("Contract completed"),
    "contract_cancel": gettext_lazy("Contract ended by cancellation"),
    "contract_open_dispute": gettext_lazy("Contract in dispute"),
    "contract_close_dispute": gettext_lazy("Dispute closed"),
}
# Reasons the services write themselves (not typed by a person), shown in words.
SYSTEM_REASONS = {
    "notice period ended": gettext_lazy("The notice period ended."),
    "accepted early by the worker": gettext_lazy("The worker agreed to end the contract early."),
}
# What a running clock means for the person reading it: (clock, viewer's role) → words.
CLOCK_HINTS = {
    (ClockKind.FUNDING, Role.CLIENT): gettext_lazy(
        "Fund the escrow by then; otherwise the contract closes."
    ),
    (ClockKind.FUNDING, Role.WORKER): gettext_lazy(
        "If the client does not fund by then, the contract closes at no cost to you."
    ),
    (ClockKind.INSPECTION, Role.CLIENT): gettext_lazy(
        "Approve or request a revision by then; otherwise the delivery is approved and paid "
        "automatically."
    ),
    (ClockKind.INSPECTION, Role.WORKER): gettext_lazy(
        "If the client does not answer by then, the delivery is approved and paid automatically."
    ),
    (ClockKind.CLIENT_REPLY, Role.CLIENT): gettext_lazy(
        "The worker is waiting for your reply in the messages."
    ),
    (ClockKind.CLIENT_REPLY, Role.WORKER): gettext_lazy(
        "If the client does not reply by then, you may deliver the work so far, or cancel "
        "with the kill fee."
    ),
    (ClockKind.CANCELLATION_ANSWER, Role.CLIENT): gettext_lazy(
        "The worker answers your cancellation by then; silence counts as accepting it."
    ),
    (ClockKind.CANCELLATION_ANSWER, Role.WORKER): gettext_lazy(
        "Answer the cancellation by then; silence counts as accepting it."
    ),
    ("legal_release", Role.CLIENT): gettext_lazy(
        "By law the escrow is released to the worker by then at the latest."
    ),
    ("legal_release", Role.WORKER): gettext_lazy(
        "By law the escrow is released to you by then at the latest."
    ),
}
LOCKED_REASON = gettext_lazy(
    "The full files can be downloaded once you approve the delivery (or it is approved "
    "automatically). The preview is available now."
)
# Kinds a worker may deliver as done with a short report (contracts.services.REPORT_KINDS).
REPORT_KINDS = frozenset(services.REPORT_KINDS)


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _yen(amount: int) -> str:
    return f"¥{amount:,}"


def _page_number(request: HttpRequest) -> int:
    try:
        number = int(request.GET.get("page", "1"))
    except ValueError:
        return 1
    return min(max(number, 1), PAGES_MAX)


def _refusal_page(request: HttpRequest, error: ApplicationError) -> HttpResponse | None:
    """The 404 or 403 page for refusals about who may see or do what; None for the rest."""
    if isinstance(error, NotFound):
        return render(request, "404.html", {"message": error.message}, status=404)
    if isinstance(error, Forbidden):
        return render(request, "jobs/forbidden.html", {"message": error.message}, status=403)
    return None


def _show_error(form: Form, error: ApplicationError) -> None:
    form.add_error(error.field if error.field in form.fields else None, str(error.message))


def _to_contract(contract_id: int, anchor: str = "") -> HttpResponse:
    url = reverse("contracts:detail", args=[contract_id])
    return redirect(f"{url}#{anchor}" if anchor else url)


@login_required
@require_GET
def contract_list_view(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    number = _page_number(request)
    size = limits.PAGE_SIZE_DEFAULT
    start = (number - 1) * size
    found = list(selectors.contract_list_for_user(user=user)[start : start + size + 1])
    numbers = list(range(max(1, number - PAGER_PAGES_BEFORE), number + 1))
    has_next = len(found) > size
    if has_next:
        numbers.append(number + 1)
    context = {
        "contracts": found[:size],
        "pager": {"number": number, "numbers": numbers, "has_next": has_next},
    }
    return render(request, "contracts/list.html", context)


# --- the contract page: rows the template draws --------------------------------------------


@dataclass(frozen=True)
class EventRow:
    event: ContractEvent
    label: str
    milestone: Milestone | None
    from_label: str
    to_label: str
    detail: str = ""


def _state_label(value: str, *, of_milestone: bool) -> str:
    if not value:
        return ""
    choices: Any = MilestoneState if of_milestone else ContractState
    try:
        return str(choices(value).label)
    except ValueError:  # a state named by code that is newer than this page
        return value


def _event_detail(event: ContractEvent) -> str:
    """The part of an event's payload a person wants to read: a reason, amounts, a change."""
    payload = event.payload or {}
    parts: list[str] = []
    if event.action == "cancel_with_kill_fee":
        parts.append(
            _("Kill fee %(percent)s%%: %(worker)s to the worker, %(client)s back to the client")
            % {
                "percent": payload.get("kill_fee_percent", 0),
                "worker": _yen(int(payload.get("worker_amount_jpy", 0))),
                "client": _yen(int(payload.get("client_amount_jpy", 0))),
            }
        )
    elif event.action == "resolve":
        parts.append(
            _("%(worker)s to the worker, %(client)s back to the client")
            % {
                "worker": _yen(int(payload.get("worker_amount_jpy", 0))),
                "client": _yen(int(payload.get("client_amount_jpy", 0))),
            }
        )
    elif event.action == "change_proposed":
        parts.append(_("Price change: %(delta)s") % {"delta": _signed_yen(payload)})
    elif event.action == "change_accepted":
        parts.append(_("Terms version %(version)s") % {"version": payload.get("terms_version")})
    elif event.action in ("fund", "release", "refund_unstarted", "withdraw", "period_opened"):
        if isinstance(payload.get("amount_jpy"), int):
            parts.append(_yen(payload["amount_jpy"]))
    elif event.action == "deliver" and payload.get("version"):
        parts.append(_("Version %(version)s") % {"version": payload["version"]})
    for key in ("reason", "note"):
        text = payload.get(key)
        if isinstance(text, str) and text:
            parts.append(str(SYSTEM_REASONS.get(text, text)))
    return " · ".join(parts)


def _signed_yen(payload: dict[str, Any]) -> str:
    delta = int(payload.get("price_delta_jpy", 0))
    return f"+{_yen(delta)}" if delta > 0 else f"−{_yen(-delta)}" if delta < 0 else _yen(0)


def _event_rows(events: list[ContractEvent], milestones: list[Milestone]) -> list[EventRow]:
    by_id = {milestone.pk: milestone for milestone in milestones}
    rows = []
    for event in events:
        of_milestone = event.milestone_id is not None
        rows.append(
            EventRow(
                event=event,
                label=str(EVENT_LABELS.get(event.action, event.action)),
                milestone=by_id.get(event.milestone_id) if event.milestone_id else None,
                from_label=_state_label(event.from_state, of_milestone=of_milestone),
                to_label=_state_label(event.to_state, of_milestone=of_milestone),
                detail=_event_detail(event),
            )
        )
    return rows


def clock_in_words(running: RunningClock) -> str:
    """「検収期限まであと3日」, 「…あと2日5時間」; hours on the last day; "passed" once it has."""
    label = running.label
    if running.hours_left < 0:
        return _("%(deadline)s has passed") % {"deadline": label}
    if running.hours_left < 1:
        return _("%(deadline)s: less than an hour left") % {"deadline": label}
    days = max(running.days_left, 0)
    hours = running.hours_left - days * 24
    parts = []
    if days:
        parts.append(ngettext("%(count)d day", "%(count)d days", days) % {"count": days})
    if hours:
        parts.append(ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours})
    duration = (
        _("%(days)s %(hours)s") % {"days": parts[0], "hours": parts[1]}
        if len(parts) == 2
        else parts[0]
    )
    return _("%(deadline)s: %(duration)s left") % {"deadline": label, "duration": duration}


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


def _form(bound: Bound | None, kind: str, key: int | None, make: Callable[[], Form]) -> Form:
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


def _milestone_card(
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
            card.forms[kind] = _form(
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


def _cancellation_outcomes(
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
                "amount": _yen(m.amount_jpy)
            }
        elif state in (MilestoneState.IN_PROGRESS, MilestoneState.REVISION_REQUESTED):
            fee, rest = services.kill_fee_split(amount_jpy=m.amount_jpy, kill_fee_percent=percent)
            values = {"percent": percent, "fee": _yen(fee), "rest": _yen(rest)}
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
                ) % {"amount": _yen(m.amount_jpy)}
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


def _change_rows(
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
            _form(
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
                price_delta=_signed_yen({"price_delta_jpy": change.price_delta_jpy}),
                decline_form=decline_form,
            )
        )
    return rows


def _change_form(
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


def _contract_page(
    request: HttpRequest, contract_id: int, *, bound: Bound | None = None
) -> HttpResponse:
    user = _user(request)
    try:
        contract = selectors.contract_get_for_viewer(viewer=user, contract_id=contract_id)
    except ApplicationError as error:
        return render(request, "404.html", {"message": error.message}, status=404)
    now = clock.now()
    role = role_of(contract, user)
    terms = selectors.terms_current(contract=contract)
    milestones = list(contract.milestones.all())
    agreed = {item.get("position"): item for item in terms.snapshot.get("milestones", [])}
    wallet_jpy = wallet_summary_for_user(user=user).wallet_jpy if role is Role.CLIENT else None
    cards = [
        _milestone_card(
            viewer=user,
            role=role,
            contract=contract,
            milestone=m,
            agreed=agreed,
            now=now,
            wallet_jpy=wallet_jpy,
            bound=bound,
        )
        for m in milestones
    ]
    actions = frozenset(selectors.contract_actions(viewer=user, contract=contract))
    # The newest events, oldest first: a long-running contract's first events matter less.
    newest = selectors.contract_events(contract=contract).order_by("-sequence")
    events = list(reversed(newest[: limits.PAGE_SIZE_MAX]))
    thread = selectors.messages_for_contract(contract=contract).order_by("-id")
    contract_forms: dict[str, Form] = {}
    if "message" in actions:
        contract_forms["message"] = _form(bound, "message", None, forms.MessageForm)
    if "cancel" in actions:
        contract_forms["cancel"] = _form(
            bound, "cancel", None, lambda: forms.CancelForm(auto_id=forms.scoped_id("cancel"))
        )
    if "flag" in actions:
        contract_forms["flag"] = _form(
            bound, "flag", None, lambda: forms.NoteForm(auto_id=forms.scoped_id("flag"))
        )
    if "propose_change" in actions:
        contract_forms["change"] = _form(
            bound, "change", None, lambda: _change_form(contract, milestones)
        )
    changes = _change_rows(
        viewer=user, contract=contract, milestones=milestones, now=now, bound=bound
    )
    if bound is not None and not bound.used:
        # The form is no longer on the page (say, the milestone moved on): say why up top.
        for field_errors in bound.form.errors.values():
            for text in field_errors:
                messages.error(request, str(text))
    is_monthly_client_notice = contract.is_monthly and role is Role.CLIENT
    context = {
        "contract": contract,
        "terms": terms,
        "snapshot": terms.snapshot,
        "milestones": cards,
        "is_client": role is Role.CLIENT,
        "is_worker": role is Role.WORKER,
        "fee_percent": f"{contract.fee_rate_bps / 100:g}",
        "events": _event_rows(events, milestones),
        "actions": actions,
        "forms": contract_forms,
        "wallet_jpy": wallet_jpy,
        "thread": list(reversed(thread[: limits.PAGE_SIZE_MAX])),
        "changes": changes,
        "cancel_outcomes": _cancellation_outcomes(contract, milestones, role)
        if "cancel" in actions
        else [],
        "cancel_is_notice": is_monthly_client_notice,
        "notice_effective_on": now + dt.timedelta(days=settings.MONTHLY_TERMINATION_NOTICE_DAYS),
        "terms_versions": [
            TermsRow(
                version=version.version,
                agreed_at=version.agreed_at,
                sha256=version.snapshot_sha256,
                milestones=list(version.snapshot.get("milestones", [])),
                total_jpy=int(version.snapshot.get("total_jpy", 0)),
                kill_fee_percent=version.snapshot.get("kill_fee_percent"),
            )
            for version in selectors.terms_versions(contract=contract)[: limits.PAGE_SIZE_MAX]
        ],
        "flag_label": FlagKind.ASKED_BEFORE_ESCROW.label,
        "started_states": [s.value for s in STARTED],
        "locked_reason": LOCKED_REASON,
    }
    return render(request, "contracts/detail.html", context)


@login_required
@require_GET
def contract_detail_view(request: HttpRequest, contract_id: int) -> HttpResponse:
    return _contract_page(request, contract_id)


# --- actions: one service each --------------------------------------------------------------


def _act(
    request: HttpRequest,
    contract_id: int,
    call: Callable[[], object],
    *,
    success: str,
    anchor: str = "",
) -> HttpResponse:
    """A button with nothing to type: call the service, say what happened, back to the page."""
    try:
        call()
    except ApplicationError as error:
        refusal = _refusal_page(request, error)
        if refusal:
            return refusal
        messages.error(request, str(error.message))
    else:
        messages.success(request, success)
    return _to_contract(contract_id, anchor)


def _submit(
    request: HttpRequest,
    contract_id: int,
    *,
    form: Form,
    kind: str,
    key: int | None,
    call: Callable[[Form], object],
    success: str,
    anchor: str = "",
    show_error: Callable[[Form, ApplicationError], None] = _show_error,
) -> HttpResponse:
    """A form: a refusal is drawn next to its field on the page, with what was typed kept."""
    if form.is_valid():
        try:
            call(form)
        except ApplicationError as error:
            refusal = _refusal_page(request, error)
            if refusal:
                return refusal
            show_error(form, error)
        else:
            messages.success(request, success)
            return _to_contract(contract_id, anchor)
    return _contract_page(request, contract_id, bound=Bound(kind=kind, key=key, form=form))


@login_required
@require_POST
def milestone_request_funding_view(
    request: HttpRequest, contract_id: int, milestone_id: int
) -> HttpResponse:
    return _act(
        request,
        contract_id,
        lambda: services.milestone_request_funding(actor=_user(request), milestone_id=milestone_id),
        success=_("The client has been asked to fund the escrow (仮払い)."),
        anchor=f"milestone-{milestone_id}",
    )


@login_required
@require_POST
def milestone_fund_view(request: HttpRequest, contract_id: int, milestone_id: int) -> HttpResponse:
    return _act(
        request,
        contract_id,
        lambda: services.milestone_fund(client=_user(request), milestone_id=milestone_id),
        success=_(
            "Escrow (仮払い) funded. The money is held until you approve the delivery; the "
            "worker can start now."
        ),
        anchor=f"milestone-{milestone_id}",
    )


@login_required
@require_POST
def milestone_start_view(request: HttpRequest, contract_id: int, milestone_id: int) -> HttpResponse:
    return _act(
        request,
        contract_id,
        lambda: services.milestone_start(worker=_user(request), milestone_id=milestone_id),
        success=_("Work started. The client has been told."),
        anchor=f"milestone-{milestone_id}",
    )


@login_required
@require_POST
def milestone_deliver_view(
    request: HttpRequest, contract_id: int, milestone_id: int
) -> HttpResponse:
    form = forms.DeliverForm(
        request.POST, request.FILES, auto_id=forms.scoped_id("deliver", milestone_id)
    )

    def deliver(form: Form) -> object:
        data = form.cleaned_data
        uploads = [
            services.DeliveryUpload(file=file, visibility=FileVisibility.PREVIEW)
            for file in data["preview_files"]
        ] + [
            services.DeliveryUpload(file=file, visibility=FileVisibility.FULL)
            for file in data["full_files"]
        ]
        return services.delivery_create(
            worker=_user(request),
            milestone_id=milestone_id,
            message=data["message"],
            uploads=uploads,
        )

    return _submit(
        request,
        contract_id,
        form=form,
        kind="deliver",
        key=milestone_id,
        call=deliver,
        success=_("Delivered. The client's inspection period has started."),
        anchor=f"milestone-{milestone_id}",
    )


@login_required
@require_POST
def delivery_approve_view(request: HttpRequest, contract_id: int, delivery_id: int) -> HttpResponse:
    return _act(
        request,
        contract_id,
        lambda: services.delivery_approve(client=_user(request), delivery_id=delivery_id),
        success=_("Approved. The payment has been released to the worker."),
    )


@login_required
@require_POST
def delivery_revision_view(
    request: HttpRequest, contract_id: int, delivery_id: int
) -> HttpResponse:
    form = forms.RevisionForm(request.POST, auto_id=forms.scoped_id("revision", delivery_id))
    return _submit(
        request,
        contract_id,
        form=form,
        kind="revision",
        key=delivery_id,
        call=lambda form: services.delivery_request_revision(
            client=_user(request), delivery_id=delivery_id, reason=form.cleaned_data["reason"]
        ),
        success=_("Revision requested. The worker has been told what to change."),
    )


@login_required
@require_POST
def milestone_dispute_view(
    request: HttpRequest, contract_id: int, milestone_id: int
) -> HttpResponse:
    form = forms.DisputeForm(request.POST, auto_id=forms.scoped_id("dispute", milestone_id))
    return _submit(
        request,
        contract_id,
        form=form,
        kind="dispute",
        key=milestone_id,
        call=lambda form: services.milestone_dispute(
            actor=_user(request), milestone_id=milestone_id, reason=form.cleaned_data["reason"]
        ),
        success=_("Dispute opened. An operator will look at it."),
        anchor=f"milestone-{milestone_id}",
    )


@login_required
@require_POST
def milestone_cancellation_accept_view(
    request: HttpRequest, contract_id: int, milestone_id: int
) -> HttpResponse:
    return _act(
        request,
        contract_id,
        lambda: services.milestone_cancellation_accept(
            worker=_user(request), milestone_id=milestone_id
        ),
        success=_("You accepted the cancellation. The kill fee has been paid to you."),
        anchor=f"milestone-{milestone_id}",
    )


@login_required
@require_POST
def milestone_dispute_freeze_view(
    request: HttpRequest, contract_id: int, milestone_id: int
) -> HttpResponse:
    form = forms.NoteForm(request.POST, auto_id=forms.scoped_id("freeze", milestone_id))
    return _submit(
        request,
        contract_id,
        form=form,
        kind="freeze",
        key=milestone_id,
        call=lambda form: services.milestone_dispute_freeze(
            operator=_user(request), milestone_id=milestone_id, note=form.cleaned_data["note"]
        ),
        success=_("The payment deadline is frozen until you decide."),
        anchor=f"milestone-{milestone_id}",
    )


@login_required
@require_POST
def milestone_dispute_resolve_view(
    request: HttpRequest, contract_id: int, milestone_id: int
) -> HttpResponse:
    form = forms.ResolveForm(request.POST, auto_id=forms.scoped_id("resolve", milestone_id))
    return _submit(
        request,
        contract_id,
        form=form,
        kind="resolve",
        key=milestone_id,
        call=lambda form: services.milestone_dispute_resolve(
            operator=_user(request),
            milestone_id=milestone_id,
            worker_amount_jpy=form.cleaned_data["worker_amount_jpy"],
            note=form.cleaned_data["note"],
        ),
        success=_("The dispute is decided and the escrow split."),
        anchor=f"milestone-{milestone_id}",
    )


@login_required
@require_POST
def contract_cancel_view(request: HttpRequest, contract_id: int) -> HttpResponse:
    form = forms.CancelForm(request.POST, auto_id=forms.scoped_id("cancel"))
    return _submit(
        request,
        contract_id,
        form=form,
        kind="cancel",
        key=None,
        call=lambda form: services.contract_cancel(
            actor=_user(request), contract_id=contract_id, reason=form.cleaned_data["reason"]
        ),
        success=_("The cancellation is recorded. The page shows what happens to each milestone."),
    )


@login_required
@require_POST
def contract_termination_accept_view(request: HttpRequest, contract_id: int) -> HttpResponse:
    return _act(
        request,
        contract_id,
        lambda: services.contract_termination_accept_early(
            worker=_user(request), contract_id=contract_id
        ),
        success=_("You agreed to end the contract now."),
    )


@login_required
@require_POST
def contract_flag_view(request: HttpRequest, contract_id: int) -> HttpResponse:
    form = forms.NoteForm(request.POST, auto_id=forms.scoped_id("flag"))
    return _submit(
        request,
        contract_id,
        form=form,
        kind="flag",
        key=None,
        call=lambda form: services.contract_flag(
            worker=_user(request),
            contract_id=contract_id,
            kind=FlagKind.ASKED_BEFORE_ESCROW,
            note=form.cleaned_data["note"],
        ),
        success=_("Reported. It counts on the client's profile. Do not start before escrow."),
    )


@login_required
@require_POST
def contract_message_view(request: HttpRequest, contract_id: int) -> HttpResponse:
    form = forms.MessageForm(request.POST)
    return _submit(
        request,
        contract_id,
        form=form,
        kind="message",
        key=None,
        call=lambda form: services.contract_message_post(
            author=_user(request), contract_id=contract_id, body=form.cleaned_data["body"]
        ),
        success=_("Message sent."),
        anchor="messages",
    )


def _show_change_error(form: Form, error: ApplicationError) -> None:
    """Put a change's refusal on its row: "milestones[1].amount_jpy" is the second edit."""
    assert isinstance(form, forms.ChangeProposeForm)
    match = CHANGE_FIELD.fullmatch(error.field or "")
    name: str | None = error.field if error.field in form.fields else None
    if match:
        group, index, part = match[1], int(match[2]), match[3]
        if group == "milestones":
            edits = form.edits()
            if index < len(edits):
                suffix = "due_on" if part == "due_on" else "amount_jpy"
                name = f"m{edits[index].id}_{suffix}"
        elif group == "remove":
            removals = form.removals()
            if index < len(removals):
                name = f"m{removals[index]}_remove"
        elif group == "add" and part:
            name = f"add_{part}" if f"add_{part}" in form.fields else None
    form.add_error(name, str(error.message))


@login_required
@require_POST
def change_propose_view(request: HttpRequest, contract_id: int) -> HttpResponse:
    user = _user(request)
    try:
        contract = selectors.contract_get_for_viewer(viewer=user, contract_id=contract_id)
    except ApplicationError as error:
        return render(request, "404.html", {"message": error.message}, status=404)
    form = _change_form(contract, list(contract.milestones.all()), request.POST)

    def propose(form: Form) -> object:
        assert isinstance(form, forms.ChangeProposeForm)
        return services.change_propose(
            actor=user,
            contract_id=contract_id,
            message=form.cleaned_data["message"],
            scope=form.scope_text(),
            edits=form.edits(),
            additions=form.additions(),
            removals=form.removals(),
            kill_fee_percent=form.cleaned_data["kill_fee_percent"],
        )

    return _submit(
        request,
        contract_id,
        form=form,
        kind="change",
        key=None,
        call=propose,
        success=_("Change proposed. It takes effect only when the other party accepts."),
        anchor="changes",
        show_error=_show_change_error,
    )


@login_required
@require_POST
def change_accept_view(request: HttpRequest, contract_id: int, change_id: int) -> HttpResponse:
    return _act(
        request,
        contract_id,
        lambda: services.change_accept(actor=_user(request), change_id=change_id),
        success=_("Change accepted. The new terms version is in force."),
        anchor="changes",
    )


@login_required
@require_POST
def change_decline_view(request: HttpRequest, contract_id: int, change_id: int) -> HttpResponse:
    form = forms.NoteForm(request.POST, auto_id=forms.scoped_id("decline", change_id))
    return _submit(
        request,
        contract_id,
        form=form,
        kind="decline",
        key=change_id,
        call=lambda form: services.change_decline(
            actor=_user(request), change_id=change_id, note=form.cleaned_data["note"]
        ),
        success=_("Change declined. The terms stay as they were."),
        anchor="changes",
    )


@login_required
@require_POST
def change_withdraw_view(request: HttpRequest, contract_id: int, change_id: int) -> HttpResponse:
    return _act(
        request,
        contract_id,
        lambda: services.change_withdraw(actor=_user(request), change_id=change_id),
        success=_("Change withdrawn."),
        anchor="changes",
    )


# --- files ----------------------------------------------------------------------------------


@login_required
@require_GET
def delivery_file_view(request: HttpRequest, file_id: int) -> HttpResponseBase:
    """A delivered file, as an attachment: never shown inline, so no upload runs as a page."""
    try:
        record = selectors.delivery_file_for_download(viewer=_user(request), file_id=file_id)
    except ApplicationError as error:
        refusal = _refusal_page(request, error)
        assert refusal is not None  # the selector refuses only with 404 or 403
        return refusal
    return FileResponse(
        record.file.open("rb"),
        as_attachment=True,
        filename=record.name,
        content_type="application/octet-stream",
    )
