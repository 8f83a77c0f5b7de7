"""Hiring (契約) from the proposal page: the form posts here, a refusal is drawn on that page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ishibashi.contracts import services
from ishibashi.contracts.views.base import refusal_page, request_user, show_error
from ishibashi.core.errors import ApplicationError
from ishibashi.jobs import forms
from ishibashi.jobs.views import proposal_page


@login_required
@require_POST
def proposal_hire_view(request: HttpRequest, proposal_id: int) -> HttpResponse:
    form = forms.HireForm(request.POST)
    if form.is_valid():
        try:
            contract = services.proposal_hire(
                client=request_user(request),
                proposal_id=proposal_id,
                inspection_days=form.cleaned_data["inspection_days"],
                expected_total_jpy=form.cleaned_data["expected_total_jpy"],
                expected_revision=form.cleaned_data["expected_revision"],
                kill_fee_percent=form.cleaned_data["kill_fee_percent"] or 0,
            )
        except ApplicationError as error:
            refusal = refusal_page(request, error)
            if refusal:
                return refusal
            show_error(form, error)
        else:
            messages.success(
                request,
                _("The contract has started. Fund the first milestone so the worker can begin."),
            )
            return redirect("contracts:detail", contract_id=contract.pk)
    return proposal_page(request, proposal_id, hire_form=form)
