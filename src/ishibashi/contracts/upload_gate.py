"""A delivery upload is refused before its body is read unless the caller is the milestone's
worker: nobody else gets to make the server receive and spool up to 200 MB."""

from __future__ import annotations

import re
from collections.abc import Callable

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from ishibashi.accounts.models import User
from ishibashi.accounts.services import api_token_authenticate
from ishibashi.contracts.models import Milestone
from ishibashi.core.errors import ApplicationError, Forbidden, NotAuthenticated, NotFound

UPLOAD_PATHS = re.compile(
    r"^/(?:api/v1/milestones/(?P<api>\d+)/deliveries"
    r"|contracts/\d+/milestones/(?P<page>\d+)/deliver)/?$"
)


def _caller(request: HttpRequest, *, api: bool) -> User | None:
    """Who is sending, from the headers and the session cookie alone (no body is parsed)."""
    authorization = request.headers.get("Authorization", "")
    if api and authorization.startswith("Bearer "):
        return api_token_authenticate(secret=authorization.removeprefix("Bearer ").strip())
    user = getattr(request, "user", None)
    return user if isinstance(user, User) and user.is_active else None


def delivery_upload_refusal(*, caller: User | None, milestone_id: int) -> ApplicationError | None:
    """Why this caller may not upload to the milestone, or None if they are its worker.

    Only the sender is checked here; whether the milestone takes a delivery now is
    delivery_create's to say once the body has been read."""
    if caller is None:
        return NotAuthenticated(_("Log in or send an API token (Authorization: Bearer …)."))
    parties = (
        Milestone.objects.filter(pk=milestone_id)
        .values_list("contract__worker_id", "contract__client_id")
        .first()
    )
    if parties is not None and caller.pk == parties[0]:
        return None
    if parties is None or not (caller.pk in parties or caller.is_staff):
        return NotFound(_("No such milestone."))
    return Forbidden(_("This action is the other party's to take."), code="not_your_action")


class DeliveryUploadGate:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        match = UPLOAD_PATHS.match(request.path_info) if request.method == "POST" else None
        if match is None:
            return self.get_response(request)
        api = match["api"] is not None
        refusal = delivery_upload_refusal(
            caller=_caller(request, api=api), milestone_id=int(match["api"] or match["page"])
        )
        if refusal is None:
            return self.get_response(request)
        if api:
            return JsonResponse(refusal.as_body(), status=refusal.http_status)
        if isinstance(refusal, NotAuthenticated):
            return redirect_to_login(request.get_full_path())
        return render(request, "404.html", {"message": refusal.message}, status=refusal.http_status)
