"""Cancellation and early termination from the contract page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ishibashi.contracts import forms, services
from ishibashi.contracts.views.base import request_user
from ishibashi.contracts.views.page import act, submit


@login_required
@require_POST
def milestone_cancellation_accept_view(
    request: HttpRequest, contract_id: int, milestone_id: int
) -> HttpResponse:
    return act(
        request,
        contract_id,
        lambda: services.milestone_cancellation_accept(
            worker=request_user(request), milestone_id=milestone_id
        ),
        success=_("You accepted the cancellation. The kill fee has been paid to you."),
        anchor=f"milestone-{milestone_id}",
    )


@login_required
@require_POST
def contract_cancel_view(request: HttpRequest, contract_id: int) -> HttpResponse:
    form = forms.CancelForm(request.POST, auto_id=forms.scoped_id("cancel"))
    return submit(
        request,
        contract_id,
        form=form,
        kind="cancel",
        key=None,
        call=lambda form: services.contract_cancel(
            actor=request_user(request), contract_id=contract_id, reason=form.cleaned_data["reason"]
        ),
        success=_("The cancellation is recorded. The page shows what happens to each milestone."),
    )


@login_required
@require_POST
def contract_termination_accept_view(request: HttpRequest, contract_id: int) -> HttpResponse:
    return act(
        request,
        contract_id,
        lambda: services.contract_termination_accept_early(
            worker=request_user(request), contract_id=contract_id
        ),
        success=_("You agreed to end the contract now."),
    )
