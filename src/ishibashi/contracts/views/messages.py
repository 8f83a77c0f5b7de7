"""The contract thread and the worker's flags."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ishibashi.contracts import forms, services
from ishibashi.contracts.models import (
    FlagKind,
)
from ishibashi.contracts.views.base import request_user
from ishibashi.contracts.views.page import submit


@login_required
@require_POST
def contract_flag_view(request: HttpRequest, contract_id: int) -> HttpResponse:
    form = forms.NoteForm(request.POST, auto_id=forms.scoped_id("flag"))
    return submit(
        request,
        contract_id,
        form=form,
        kind="flag",
        key=None,
        call=lambda form: services.contract_flag(
            worker=request_user(request),
            contract_id=contract_id,
            kind=FlagKind.ASKED_BEFORE_ESCROW,
            note=form.cleaned_data["note"],
        ),
        success=_("Reported. It counts on the client's profile. Do not start before escrow."),
    )


@login_required
@require_POST
def contract_message_view(request: HttpRequest, contract_id: int) -> HttpResponse:
    form = forms.MessageForm(request.POST)
    return submit(
        request,
        contract_id,
        form=form,
        kind="message",
        key=None,
        call=lambda form: services.contract_message_post(
            author=request_user(request), contract_id=contract_id, body=form.cleaned_data["body"]
        ),
        success=_("Message sent."),
        anchor="messages",
    )
