"""API authentication: a bearer token or the browser's session (with CSRF)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from ishibashi.accounts.models import User
from ishibashi.accounts.services import api_token_authenticate


class BearerTokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        return api_token_authenticate(secret=token)


class ActiveSessionAuth(SessionAuth):
    """The logged-in browser session; ninja enforces CSRF for it on unsafe methods."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if isinstance(user, User) and user.is_active:
            return user
        return None


# Bearer first: an integration sends no cookies, so it never meets the CSRF check.
user_auth = [BearerTokenAuth(), ActiveSessionAuth()]


def request_user(request: HttpRequest) -> User:
    """The authenticated user of an API request (set by one of user_auth)."""
    user = request.auth  # type: ignore[attr-defined]
    assert isinstance(user, User)
    return user
