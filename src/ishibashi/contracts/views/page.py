"""The contract list and page (timeline, milestone cards, terms, forms), and the form round trip."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from ishibashi.contracts import forms, selectors
from ishibashi.contracts.models import (
    FlagKind,
)
from ishibashi.contracts.states import STARTED, Role, role_of
from ishibashi.contracts.views import fragments
from ishibashi.contracts.views.base import (
    PAGER_PAGES_BEFORE,
    page_number,
    refusal_page,
    request_user,
    show_error,
    to_contract,
)
from ishibashi.contracts.views.cards import (
    Bound,
    TermsRow,
    bound_form,
    cancellation_outcomes,
    change_rows,
    milestone_card,
)
from ishibashi.contracts.views.timeline import event_rows
from ishibashi.core import clock, limits
from ishibashi.core.errors import ApplicationError
from ishibashi.core.slots import slot_render
from ishibashi.guards import WriterWarning
from ishibashi.ledger.selectors import wallet_summary_for_user

# Events and messages drawn on the contract page unless the whole history is asked for.
HISTORY_SHORT = limits.PAGE_SIZE_DEFAULT


@login_required
@require_GET
def contract_list_view(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    number = page_number(request)
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


def contract_page(
    request: HttpRequest,
    contract_id: int,
    *,
    bound: Bound | None = None,
    guard_warnings: list[WriterWarning] | None = None,
) -> HttpResponse:
    """The contract page; `guard_warnings` when a message about to be sent needs a second look."""
    user = request_user(request)
    try:
        contract = selectors.contract_get_for_viewer(viewer=user, contract_id=contract_id)
    except ApplicationError as error:
        return render(request, "404.html", {"message": error.message}, status=404)
    now = clock.now()
    role = role_of(contract, user)
    # Every version, newest first; the current one is among them (one query for both).
    versions = selectors.terms_all(contract=contract)[: limits.PAGE_SIZE_MAX]
    terms = selectors.terms_current_of(versions, contract=contract)
    milestones = list(contract.milestones.all())
    selectors.deliveries_prefetch(milestones=milestones)
    agreed = {item.get("position"): item for item in terms.snapshot.get("milestones", [])}
    wallet_jpy = wallet_summary_for_user(user=user).wallet_jpy if role is Role.CLIENT else None
    cards = [
        milestone_card(
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
    # The newest events and messages, oldest first: a long-running contract's first ones matter
    # less. The page shows the newest HISTORY_SHORT of each (drawing every row is most of the
    # page's cost); `?history=all` shows up to PAGE_SIZE_MAX, with the same queries.
    shown = limits.PAGE_SIZE_MAX if request.GET.get("history") == "all" else HISTORY_SHORT
    newest = selectors.contract_events(contract=contract).order_by("-sequence")
    events = list(newest[: shown + 1])
    events_more = len(events) > shown
    events = list(reversed(events[:shown]))
    thread = list(selectors.messages_for_contract(contract=contract).order_by("-id")[: shown + 1])
    thread_more = len(thread) > shown
    thread = list(reversed(thread[:shown]))
    timeline = event_rows(events, milestones)
    contract_forms: dict[str, Form] = {}
    if "message" in actions:
        contract_forms["message"] = bound_form(bound, "message", None, forms.MessageForm)
    if "cancel" in actions:
        contract_forms["cancel"] = bound_form(
            bound, "cancel", None, lambda: forms.CancelForm(auto_id=forms.scoped_id("cancel"))
        )
    if "flag" in actions:
        contract_forms["flag"] = bound_form(
            bound, "flag", None, lambda: forms.FlagForm(auto_id=forms.scoped_id("flag"))
        )
    changes = change_rows(
        viewer=user, contract=contract, milestones=milestones, now=now, bound=bound
    )
    if bound is not None and not bound.used:
        # The form is no longer on the page (say, the milestone moved on): say why up top.
        for field_errors in bound.form.errors.values():
            for text in field_errors:
                messages.error(request, str(text))
    terms_rows = [
        TermsRow(
            version=version.version,
            agreed_at=version.agreed_at,
            sha256=version.snapshot_sha256,
            milestones=list(version.snapshot.get("milestones", [])),
            total_jpy=int(version.snapshot.get("total_jpy", 0)),
            kill_fee_percent=version.snapshot.get("kill_fee_percent"),
        )
        for version in versions
    ]
    is_monthly_client_notice = contract.is_monthly and role is Role.CLIENT
    context = {
        "contract": contract,
        "terms": terms,
        "snapshot": terms.snapshot,
        "milestones": cards,
        "is_client": role is Role.CLIENT,
        "is_worker": role is Role.WORKER,
        "fee_percent": f"{contract.fee_rate_bps / 100:g}",
        "events": timeline,
        "events_html": fragments.timeline(timeline, _("Ishibashi (automatic)")),
        "actions": actions,
        "forms": contract_forms,
        "wallet_jpy": wallet_jpy,
        "thread": thread,
        "thread_html": fragments.thread(
            thread,
            user,
            role=role,
            flag=fragments.FlagButton(
                url=reverse("contracts:flag", args=[contract.pk]), csrf_token=get_token(request)
            )
            if "flag" in actions
            else None,
        ),
        "guard_warnings": guard_warnings or [],
        "thread_more": thread_more,
        "events_more": events_more,
        "changes": changes,
        "cancel_outcomes": cancellation_outcomes(contract, milestones, role)
        if "cancel" in actions
        else [],
        "cancel_is_notice": is_monthly_client_notice,
        "notice_effective_on": now + dt.timedelta(days=settings.MONTHLY_TERMINATION_NOTICE_DAYS),
        "terms_versions": terms_rows,
        "terms_versions_html": fragments.terms_versions(terms_rows),
        "flag_label": FlagKind.ASKED_BEFORE_ESCROW.label,
        "started_states": [s.value for s in STARTED],
        # The reviews panel once the contract has ended comes from the app above (core.slots).
        "sections": slot_render("contract_sections", request, contract.pk),
    }
    return render(request, "contracts/detail.html", context)


@login_required
@require_GET
def contract_detail_view(request: HttpRequest, contract_id: int) -> HttpResponse:
    return contract_page(request, contract_id)


def act(
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
        refusal = refusal_page(request, error)
        if refusal:
            return refusal
        messages.error(request, str(error.message))
    else:
        messages.success(request, success)
    return to_contract(contract_id, anchor)


def submit(
    request: HttpRequest,
    contract_id: int,
    *,
    form: Form,
    kind: str,
    key: int | None,
    call: Callable[[Form], object],
    success: str,
    anchor: str = "",
    show_error: Callable[[Form, ApplicationError], None] = show_error,
) -> HttpResponse:
    """A form: a refusal is drawn next to its field on the page, with what was typed kept."""
    if form.is_valid():
        try:
            call(form)
        except ApplicationError as error:
            refusal = refusal_page(request, error)
            if refusal:
                return refusal
            show_error(form, error)
        else:
            messages.success(request, success)
            return to_contract(contract_id, anchor)
    return contract_page(request, contract_id, bound=Bound(kind=kind, key=key, form=form))
