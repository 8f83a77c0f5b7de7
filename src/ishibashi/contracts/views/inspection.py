"""Inspection (検収): approve, or ask for a revision."""

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
def delivery_approve_view(request: HttpRequest, contract_id: int, delivery_id: int) -> HttpResponse:
    return act(
        request,
        contract_id,
        lambda: services.delivery_approve(client=request_user(request), delivery_id=delivery_id),
        success=_("Approved. The payment has been released to the worker."),
    )


@login_required
@require_POST
def delivery_revision_view(
    request: HttpRequest, contract_id: int, delivery_id: int
) -> HttpResponse:
    form = forms.RevisionForm(request.POST, auto_id=forms.scoped_id("revision", delivery_id))
    return submit(
        request,
        contract_id,
        form=form,
        kind="revision",
        key=delivery_id,
        call=lambda form: services.delivery_request_revision(
            client=request_user(request),
            delivery_id=delivery_id,
            reason=form.cleaned_data["reason"],
        ),
        success=_("Revision requested. The worker has been told what to change."),
    )
