"""The contract's timeline in words: a label for every event, the running clock."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from ishibashi.contracts.models import (
    ClockKind,
    ContractEvent,
    ContractState,
    Milestone,
    MilestoneState,
)
from ishibashi.contracts.selectors import RunningClock
from ishibashi.contracts.states import Role
from ishibashi.contracts.views.base import choice_label, yen
from ishibashi.core.money import format_signed_yen

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
    return choice_label(MilestoneState if of_milestone else ContractState, value)


def _event_detail(event: ContractEvent) -> str:
    """The part of an event's payload a person wants to read: a reason, amounts, a change."""
    payload = event.payload or {}
    parts: list[str] = []
    if event.action == "cancel_with_kill_fee":
        parts.append(
            _("Kill fee %(percent)s%%: %(worker)s to the worker, %(client)s back to the client")
            % {
                "percent": payload.get("kill_fee_percent", 0),
                "worker": yen(int(payload.get("worker_amount_jpy", 0))),
                "client": yen(int(payload.get("client_amount_jpy", 0))),
            }
        )
    elif event.action == "resolve":
        parts.append(
            _("%(worker)s to the worker, %(client)s back to the client")
            % {
                "worker": yen(int(payload.get("worker_amount_jpy", 0))),
                "client": yen(int(payload.get("client_amount_jpy", 0))),
            }
        )
    elif event.action == "change_proposed":
        parts.append(_("Price change: %(delta)s") % {"delta": signed_yen(payload)})
    elif event.action == "change_accepted":
        parts.append(_("Terms version %(version)s") % {"version": payload.get("terms_version")})
    elif event.action in ("fund", "release", "refund_unstarted", "withdraw", "period_opened"):
        if isinstance(payload.get("amount_jpy"), int):
            parts.append(yen(payload["amount_jpy"]))
    elif event.action == "deliver" and payload.get("version"):
        parts.append(_("Version %(version)s") % {"version": payload["version"]})
    for key in ("reason", "note"):
        text = payload.get(key)
        if isinstance(text, str) and text:
            parts.append(str(SYSTEM_REASONS.get(text, text)))
    return " · ".join(parts)


def signed_yen(payload: dict[str, Any]) -> str:
    return format_signed_yen(int(payload.get("price_delta_jpy", 0)))


def event_rows(events: list[ContractEvent], milestones: list[Milestone]) -> list[EventRow]:
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
