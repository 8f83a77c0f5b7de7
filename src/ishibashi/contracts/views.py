"""Contract pages: the viewer's contracts, and one contract with its terms and event timeline.

Only the two parties and operators see a contract; anybody else gets the same 404 as for a
contract that does not exist (contracts.selectors decides).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from ishibashi.accounts.models import User
from ishibashi.contracts import selectors
from ishibashi.contracts.models import ContractEvent, ContractState, Milestone, MilestoneState
from ishibashi.core import limits
from ishibashi.core.errors import ApplicationError

# Deep pages of a newest-first list are never read by a person and cost an OFFSET scan.
PAGES_MAX = 1000
PAGER_PAGES_BEFORE = 4

# What each event means in words; an action added later shows its code until it is named here.
EVENT_LABELS = {
    "contract_created": _("Contract signed (terms version 1)"),
    "funding_requested": _("Escrow (仮払い) requested"),
}


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _page_number(request: HttpRequest) -> int:
    try:
        number = int(request.GET.get("page", "1"))
    except ValueError:
        return 1
    return min(max(number, 1), PAGES_MAX)


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


@dataclass(frozen=True)
class EventRow:
    event: ContractEvent
    label: str
    milestone: Milestone | None
    from_label: str
    to_label: str


def _state_label(value: str, *, of_milestone: bool) -> str:
    if not value:
        return ""
    choices: Any = MilestoneState if of_milestone else ContractState
    try:
        return str(choices(value).label)
    except ValueError:  # a state named by code that is newer than this page
        return value


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
            )
        )
    return rows


@dataclass(frozen=True)
class MilestoneRow:
    milestone: Milestone
    # From the agreed terms: when payment is due at the latest if delivered on the due date.
    payment_due_on: str


def _milestone_rows(milestones: list[Milestone], snapshot: dict[str, Any]) -> list[MilestoneRow]:
    agreed = {item.get("position"): item for item in snapshot.get("milestones", [])}
    return [
        MilestoneRow(
            milestone=milestone,
            payment_due_on=str(agreed.get(milestone.position, {}).get("payment_due_on", "")),
        )
        for milestone in milestones
    ]


@login_required
@require_GET
def contract_detail_view(request: HttpRequest, contract_id: int) -> HttpResponse:
    user = _user(request)
    try:
        contract = selectors.contract_get_for_viewer(viewer=user, contract_id=contract_id)
    except ApplicationError as error:
        return render(request, "404.html", {"message": error.message}, status=404)
    terms = selectors.terms_current(contract=contract)
    milestones = list(contract.milestones.all())
    # The newest events, oldest first: a long-running contract's first events matter less.
    newest = selectors.contract_events(contract=contract).order_by("-sequence")
    events = list(reversed(newest[: limits.PAGE_SIZE_MAX]))
    context = {
        "contract": contract,
        "terms": terms,
        "snapshot": terms.snapshot,
        "milestones": _milestone_rows(milestones, terms.snapshot),
        "is_client": user.pk == contract.client_id,
        "is_worker": user.pk == contract.worker_id,
        "fee_percent": f"{contract.fee_rate_bps / 100:g}",
        "events": _event_rows(events, milestones),
    }
    return render(request, "contracts/detail.html", context)
