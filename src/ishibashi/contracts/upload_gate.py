"""A delivery upload is refused before its body is read unless the caller is the milestone's
worker: nobody else gets to make the server receive and spool up to 200 MB."""

from __future__ import annotations

import re
from collections.abc import Callable

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from ishibashi.accounts.auth import BearerTokenAuth
from ishibashi.accounts.models import User
from ishibashi.contracts import selectors
from ishibashi.core.errors import ApplicationError, Forbidden, NotAuthenticated, NotFound

UPLOAD_PATHS = re.compile(
    r"^/(?:api/v1/milestones/(?P<api>\d+)/deliveries"
    r"|contracts/\d+/milestones/(?P<page>\d+)/deliver)/?$"
)


def _caller(request: HttpRequest, *, api: bool) -> User | None:
    """Who is sending, from the headers and the session cookie alone (no body is parsed): the
    API's own bearer authentication for a token, else the session's user."""
    if api and "Authorization" in request.headers:
        user = BearerTokenAuth()(request)
        return user if isinstance(user, User) else None
    user = getattr(request, "user", None)
    return user if isinstance(user, User) and user.is_active else None


def delivery_upload_refusal(*, caller: User | None, milestone_id: int) -> ApplicationError | None:
    """Why this caller may not upload to the milestone, or None if they are its worker.

    Only the sender is checked here; whether the milestone takes a delivery now is
    delivery_create's to say once the body has been read."""
    if caller is None:
        return NotAuthenticated(_("Log in or send an API token (Authorization: Bearer …)."))
    try:
        milestone = selectors.milestone_get_for_viewer(viewer=caller, milestone_id=milestone_id)
    except NotFound as error:
        return error
    if milestone.contract.worker_id == caller.pk:
        return None
    return Forbidden(_("This action is the other party's to take."), code="not_your_action")


class DeliveryUploadGate:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        match = UPLOAD_PATHS.match(request.path_info) if request.method == "POST" else None
        if match is None:
            return self.get_response(request)
        api = match["api"] is not None
        try:
            caller = _caller(request, api=api)
        except ApplicationError as error:  # a staff token without the second factor
            refusal: ApplicationError | None = error
        else:
            refusal = delivery_upload_refusal(
                caller=caller, milestone_id=int(match["api"] or match["page"])
            )
            if caller is None and api and "Authorization" in request.headers:
                # As the API answers a bad token everywhere else (config/api.py).
                refusal = NotAuthenticated(
                    _("The API token is invalid or has been revoked."), code="invalid_token"
                )
        if refusal is None:
            return self.get_response(request)
        if api:
            return JsonResponse(refusal.as_body(), status=refusal.http_status)
        if isinstance(refusal, NotAuthenticated):
            return redirect_to_login(request.get_full_path())
        return render(request, "404.html", {"message": refusal.message}, status=refusal.http_status)
