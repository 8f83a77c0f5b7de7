"""Escrow and the start of work: request, fund (仮払い), start."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ishibashi.contracts import services
from ishibashi.contracts.views.base import request_user
from ishibashi.contracts.views.page import act


@login_required
@require_POST
def milestone_request_funding_view(
    request: HttpRequest, contract_id: int, milestone_id: int
) -> HttpResponse:
    return act(
        request,
        contract_id,
        lambda: services.milestone_request_funding(
            actor=request_user(request), milestone_id=milestone_id
        ),
        success=_("The client has been asked to fund the escrow (仮払い)."),
        anchor=f"milestone-{milestone_id}",
    )


@login_required
@require_POST
def milestone_fund_view(request: HttpRequest, contract_id: int, milestone_id: int) -> HttpResponse:
    return act(
        request,
        contract_id,
        lambda: services.milestone_fund(client=request_user(request), milestone_id=milestone_id),
        success=_(
            "Escrow (仮払い) funded. The money is held until you approve the delivery; the "
            "worker can start now."
        ),
        anchor=f"milestone-{milestone_id}",
    )


@login_required
@require_POST
def milestone_start_view(request: HttpRequest, contract_id: int, milestone_id: int) -> HttpResponse:
    return act(
        request,
        contract_id,
        lambda: services.milestone_start(worker=request_user(request), milestone_id=milestone_id),
        success=_("Work started. The client has been told."),
        anchor=f"milestone-{milestone_id}",
    )
