"""The unread count for the site header's badge, counted only if a page shows it."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from ishibashi.accounts.models import User
from ishibashi.notifications.selectors import unread_count


def unread_notifications(request: HttpRequest) -> dict[str, object]:
    """`notifications_unread`: one COUNT the first time a template reads it, none otherwise."""
    user = getattr(request, "user", None)
    if not isinstance(user, User) or not user.is_active:
        return {}
    return {"notifications_unread": SimpleLazyObject(lambda: unread_count(user=user))}
