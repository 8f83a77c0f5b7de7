"""Reads for accounts: a user's public profile, their API tokens, their second factor."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from ishibashi.accounts.models import ApiToken, RecoveryCode, TotpDevice, User
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


def second_factor_required(user: object) -> bool:
    """Staff must pass the second factor before anything else: they can move money by hand,
    rule on escrow and read every contract. For everyone else it is not offered."""
    return bool(
        getattr(user, "is_authenticated", False)
        and getattr(user, "is_active", False)
        and getattr(user, "is_staff", False)
    )


def totp_device_get_confirmed(*, user: User) -> TotpDevice | None:
    return TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).first()


def recovery_codes_left(*, user: User) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()
