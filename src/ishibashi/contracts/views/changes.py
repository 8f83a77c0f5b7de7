"""Change requests (変更依頼): propose, accept, decline, withdraw."""

from __future__ import annotations

import re

from django.contrib.auth.decorators import login_required
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ishibashi.contracts import forms, selectors, services
from ishibashi.contracts.views.base import request_user
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
@require_POST
def change_propose_view(request: HttpRequest, contract_id: int) -> HttpResponse:
    user = request_user(request)
    try:
        contract = selectors.contract_get_for_viewer(viewer=user, contract_id=contract_id)
    except ApplicationError as error:
        return render(request, "404.html", {"message": error.message}, status=404)
    form = change_form(contract, list(contract.milestones.all()), request.POST)

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

    return submit(
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
