"""API authentication: a bearer token or the browser's session (with CSRF).

Staff need the second factor here as on the pages (accounts.gate): a staff token must have been
minted after it, and a staff session must have passed it."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja.security import HttpBearer, SessionAuth

from ishibashi.accounts.gate import session_passed_second_factor
from ishibashi.accounts.models import User
from ishibashi.accounts.selectors import second_factor_required, totp_device_get_confirmed
from ishibashi.accounts.services import api_token_find_active
from ishibashi.core.errors import Forbidden

SECOND_FACTOR_REQUIRED = _(
    "A staff account must pass two-factor authentication first: get a token with POST "
    "/auth/token and your current code (otp_code), or make one while logged in with it."
)


class BearerTokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        found = api_token_find_active(secret=token)
        if found is None:
            return None
        user = found.user
        if second_factor_required(user) and not (
            found.second_factor_verified and totp_device_get_confirmed(user=user) is not None
        ):
            raise Forbidden(SECOND_FACTOR_REQUIRED, code="second_factor_required")
        return user


class ActiveSessionAuth(SessionAuth):
    """The logged-in browser session; ninja enforces CSRF for it on unsafe methods."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if not (isinstance(user, User) and user.is_active):
            return None
        # The gate middleware already refuses such a session; this holds without it too.
        if second_factor_required(user) and not session_passed_second_factor(request, user):
            raise Forbidden(SECOND_FACTOR_REQUIRED, code="second_factor_required")
        return user


# Bearer first: an integration sends no cookies, so it never meets the CSRF check.
user_auth = [BearerTokenAuth(), ActiveSessionAuth()]


def request_user(request: HttpRequest) -> User:
    """The authenticated user of an API request (set by one of user_auth)."""
    user = request.auth  # type: ignore[attr-defined]
    assert isinstance(user, User)
    return user
