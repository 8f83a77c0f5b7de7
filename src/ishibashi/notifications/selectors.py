"""Reads for notifications: a user's own, newest first, and how many are unread."""

from __future__ import annotations

from django.db.models import QuerySet

from ishibashi.accounts.models import User
from ishibashi.notifications.models import Notification

# Deep pages of a newest-first list are never read by a person and cost an OFFSET scan.
PAGES_MAX = 1000


def notification_list_for_user(*, user: User) -> QuerySet[Notification]:
    """The user's notifications, newest first; page it with core.pagination.page_of."""
    return Notification.objects.filter(user=user).order_by("-created_at", "-id")


def unread_count(*, user: User) -> int:
    """Unread notifications of `user`: one COUNT over the partial index of unread rows."""
    return Notification.objects.filter(user=user, read_at__isnull=True).count()
