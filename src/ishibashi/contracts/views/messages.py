"""The contract thread and the worker's flags."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ishibashi.contracts import forms, selectors, services
from ishibashi.contracts.models import (
    FlagKind,
)
from ishibashi.contracts.states import Role, role_of
from ishibashi.contracts.views.base import request_user
from ishibashi.contracts.views.cards import Bound
from ishibashi.contracts.views.page import contract_page, submit
from ishibashi.core.errors import ApplicationError
from ishibashi.guards import detect, writer_warnings


@login_required
@require_POST
def contract_flag_view(request: HttpRequest, contract_id: int) -> HttpResponse:
    form = forms.FlagForm(request.POST, auto_id=forms.scoped_id("flag"))
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
            message_id=form.cleaned_data["message_id"],
        ),
        success=_("Reported. It counts on the client's profile. Do not start before escrow."),
    )


@login_required
@require_POST
def contract_message_view(request: HttpRequest, contract_id: int) -> HttpResponse:
    """Sends the message; one the guards find something in comes back first with a warning
    and the text kept, and goes out when the writer sends it anyway (`acknowledged`). The
    message is never blocked or edited (docs/guards.md)."""
    user = request_user(request)
    form = forms.MessageForm(request.POST)
    if form.is_valid() and request.POST.get("acknowledged") != "1":
        found = detect(form.cleaned_data["body"] or "")
        if found.categories:
            try:
                contract = selectors.contract_get_for_viewer(viewer=user, contract_id=contract_id)
            except ApplicationError:
                contract = None  # the service gives the refusal below
            if contract is not None and "message" in selectors.contract_actions(
                viewer=user, contract=contract
            ):
                warnings = writer_warnings(found, is_client=role_of(contract, user) is Role.CLIENT)
                return contract_page(
                    request,
                    contract_id,
                    bound=Bound(kind="message", key=None, form=form),
                    guard_warnings=warnings,
                )
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
