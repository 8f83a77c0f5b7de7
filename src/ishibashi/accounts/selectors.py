"""Reads for accounts: a user's public profile and their API tokens."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from ishibashi.accounts.models import ApiToken, User
from ishibashi.core.errors import NotFound


def user_get_public(*, user_id: int) -> User:
    """An active client's or worker's public profile; inactive and unknown users are both
    'not found', and so is a staff-only account: a profile with no role would point out who
    can rule on escrow, the account worth attacking."""
    user = (
        User.objects.filter(pk=user_id, is_active=True)
        .filter(Q(is_client=True) | Q(is_worker=True))
        .first()
    )
    if user is None:
        raise NotFound(_("No such user."))
    return user


def api_token_list_for_user(*, user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("revoked_at", "-created_at", "-id")
