"""The staff gate: no staff request is served before the second factor.

A staff session passes once its owner entered a code on the second-factor page (or confirmed
enrolment); the mark names the device, so turning two-factor off or re-enrolling ends it. Until
then a staff session reaches only the second-factor and enrolment pages, log-out, the language
switch and static files: every other page redirects there (the operator console, the admin, and
the contract pages where operators rule on disputes alike); the API answers 403
`second_factor_required`. A bearer token speaks for itself: BearerTokenAuth refuses a staff
token not minted after the second factor.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from ishibashi.accounts.models import TotpDevice, User
from ishibashi.accounts.selectors import second_factor_required, totp_device_get_confirmed

SESSION_KEY = "ishibashi_second_factor"


def second_factor_mark(device: TotpDevice) -> str:
    """What a session that passed the second factor with this device holds."""
    assert device.confirmed_at is not None
    return f"{device.pk}:{device.confirmed_at.isoformat()}"


def session_mark_second_factor(request: HttpRequest, device: TotpDevice) -> None:
    """Record that this session passed the second factor with this device.

    A new session key first, as at a log-in: a key known before this point is worth nothing."""
    request.session.cycle_key()
    request.session[SESSION_KEY] = second_factor_mark(device)


def session_passed_second_factor(request: HttpRequest, user: User) -> bool:
    mark = request.session.get(SESSION_KEY)
    if not mark:
        return False
    device = totp_device_get_confirmed(user=user)
    return device is not None and mark == second_factor_mark(device)


def second_factor_url(next_url: str) -> str:
    return f"{reverse('accounts:two_factor')}?{urlencode({'next': next_url})}"


def _open_paths() -> tuple[str, ...]:
    return (
        reverse("accounts:two_factor"),
        reverse("accounts:security"),
        reverse("accounts:logout"),
        "/static/",
        "/i18n/",
        reverse("healthz"),
    )


class SecondFactorGateMiddleware:
    """After AuthenticationMiddleware: a staff session that has not passed the second factor
    reaches nothing but the pages that let it pass."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            isinstance(user, User)
            and second_factor_required(user)
            and not session_passed_second_factor(request, user)
        ):
            refusal = self._refuse(request)
            if refusal is not None:
                return refusal
        return self.get_response(request)

    def _refuse(self, request: HttpRequest) -> HttpResponse | None:
        path = request.path_info
        if path.startswith("/api/"):
            if "Authorization" in request.headers:
                # The token decides (BearerTokenAuth); the session speaks for nobody.
                request.user = AnonymousUser()
                return None
            return JsonResponse(
                {
                    "code": "second_factor_required",
                    "message": _(
                        "A staff account must pass two-factor authentication first: enter "
                        "your code on the second-factor page, or use an API token made with it."
                    ),
                },
                status=403,
            )
        if path.startswith(_open_paths()):
            return None
        return HttpResponseRedirect(second_factor_url(request.get_full_path()))
