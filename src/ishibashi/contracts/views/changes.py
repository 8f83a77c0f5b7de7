"""Change requests (変更依頼): propose, accept, decline, withdraw."""

from __future__ import annotations

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from ishibashi.contracts import forms, selectors, services
from ishibashi.contracts.views.base import refusal_page, request_user, to_contract
from ishibashi.contracts.views.cards import change_form
from ishibashi.contracts.views.page import act, submit
from ishibashi.core.errors import ApplicationError

CHANGE_FIELD = re.compile(r"(milestones|add|remove)\[(\d+)\](?:\.(\w+))?")


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
@require_http_methods(["GET", "POST"])
def change_propose_view(request: HttpRequest, contract_id: int) -> HttpResponse:
    """The change-request form on its own page: the contract page only links to it, so every
    view of the contract does not build a form with a row per milestone."""
    user = request_user(request)
    try:
        contract = selectors.contract_get_for_viewer(viewer=user, contract_id=contract_id)
    except ApplicationError as error:
        return render(request, "404.html", {"message": error.message}, status=404)
    if "propose_change" not in selectors.contract_actions(viewer=user, contract=contract):
        messages.error(request, _("Changes can be proposed only while the contract is active."))
        return to_contract(contract_id, "changes")
    form = change_form(contract, list(contract.milestones.all()), request.POST or None)
    if request.method == "POST" and form.is_valid():
        assert isinstance(form, forms.ChangeProposeForm)
        try:
            services.change_propose(
                actor=user,
                contract_id=contract_id,
                message=form.cleaned_data["message"],
                scope=form.scope_text(),
                edits=form.edits(),
                additions=form.additions(),
                removals=form.removals(),
                kill_fee_percent=form.cleaned_data["kill_fee_percent"],
            )
        except ApplicationError as error:
            refusal = refusal_page(request, error)
            if refusal:
                return refusal
            _show_change_error(form, error)
        else:
            messages.success(
                request, _("Change proposed. It takes effect only when the other party accepts.")
            )
            return to_contract(contract_id, "changes")
    context = {"contract": contract, "forms": {"change": form}}
    return render(request, "contracts/change_propose.html", context, status=200)


@login_required
@require_POST
def change_accept_view(request: HttpRequest, contract_id: int, change_id: int) -> HttpResponse:
    return act(
        request,
        contract_id,
        lambda: services.change_accept(actor=request_user(request), change_id=change_id),
        success=_("Change accepted. The new terms version is in force."),
        anchor="changes",
    )


@login_required
@require_POST
def change_decline_view(request: HttpRequest, contract_id: int, change_id: int) -> HttpResponse:
    form = forms.NoteForm(request.POST, auto_id=forms.scoped_id("decline", change_id))
    return submit(
        request,
        contract_id,
        form=form,
        kind="decline",
        key=change_id,
        call=lambda form: services.change_decline(
            actor=request_user(request), change_id=change_id, note=form.cleaned_data["note"]
        ),
        success=_("Change declined. The terms stay as they were."),
        anchor="changes",
    )


@login_required
@require_POST
def change_withdraw_view(request: HttpRequest, contract_id: int, change_id: int) -> HttpResponse:
    return act(
        request,
        contract_id,
        lambda: services.change_withdraw(actor=request_user(request), change_id=change_id),
        success=_("Change withdrawn."),
        anchor="changes",
    )
