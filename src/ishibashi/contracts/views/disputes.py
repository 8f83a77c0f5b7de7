"""Disputes: open one; the operator's freeze and ruling."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ishibashi.contracts import forms, services
from ishibashi.contracts.views.base import request_user
from ishibashi.contracts.views.page import submit


@login_required
@require_POST
def milestone_dispute_view(
    request: HttpRequest, contract_id: int, milestone_id: int
) -> HttpResponse:
    form = forms.DisputeForm(request.POST, auto_id=forms.scoped_id("dispute", milestone_id))
    return submit(
        request,
        contract_id,
        form=form,
        kind="dispute",
        key=milestone_id,
        call=lambda form: services.milestone_dispute(
            actor=request_user(request),
            milestone_id=milestone_id,
            reason=form.cleaned_data["reason"],
        ),
        success=_("Dispute opened. An operator will look at it."),
        anchor=f"milestone-{milestone_id}",
    )


@login_required
@require_POST
def milestone_dispute_freeze_view(
    request: HttpRequest, contract_id: int, milestone_id: int
) -> HttpResponse:
    form = forms.NoteForm(request.POST, auto_id=forms.scoped_id("freeze", milestone_id))
    return submit(
        request,
        contract_id,
        form=form,
        kind="freeze",
        key=milestone_id,
        call=lambda form: services.milestone_dispute_freeze(
            operator=request_user(request),
            milestone_id=milestone_id,
            note=form.cleaned_data["note"],
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
    return submit(
        request,
        contract_id,
        form=form,
        kind="resolve",
        key=milestone_id,
        call=lambda form: services.milestone_dispute_resolve(
            operator=request_user(request),
            milestone_id=milestone_id,
            worker_amount_jpy=form.cleaned_data["worker_amount_jpy"],
            note=form.cleaned_data["note"],
        ),
        success=_("The dispute is decided and the escrow split."),
        anchor=f"milestone-{milestone_id}",
    )
