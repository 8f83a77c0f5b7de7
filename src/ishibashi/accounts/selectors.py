"""Reads for accounts: a user's public profile, their API tokens, their second factor, and what
an account may do yet."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ishibashi.accounts.models import ApiToken, RecoveryCode, TotpDevice, User
from ishibashi.core import clock, limits
from ishibashi.core.errors import Forbidden, NotFound, RateLimited
from ishibashi.core.throttle import minutes_until, sliding_window_reopens_at

EMAIL_UNVERIFIED = _(
    "Confirm your e-mail address first: open the link we mailed you (or ask for a new one on "
    "your profile). Until then you cannot move money, post jobs or send proposals."
)


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


def email_is_verified(user: User) -> bool:
    return user.email_verified_at is not None


def check_email_verified(user: User) -> None:
    """The one gate before a money step, a job posting or a proposal (403 `email_unverified`).

    Reads the row, not the object passed in: a session's user may predate the verification.
    """
    if user.email_verified_at is None and not (
        User.objects.filter(pk=user.pk, email_verified_at__isnull=False).exists()
    ):
        raise Forbidden(EMAIL_UNVERIFIED, code="email_unverified")


def account_is_new(user: User, *, now: dt.datetime | None = None) -> bool:
    return (now or clock.now()) - user.created_at < limits.NEW_ACCOUNT_AGE


def _new_account_limit_message(kind: str, *, limit: int, minutes: int) -> str:
    if kind == "proposals":
        text = ngettext(
            "A new account may send %(limit)d proposals an hour. "
            "You can send the next one in %(minutes)d minute.",
            "A new account may send %(limit)d proposals an hour. "
            "You can send the next one in %(minutes)d minutes.",
            minutes,
        )
    else:
        text = ngettext(
            "A new account may send %(limit)d messages an hour. "
            "You can send the next one in %(minutes)d minute.",
            "A new account may send %(limit)d messages an hour. "
            "You can send the next one in %(minutes)d minutes.",
            minutes,
        )
    return text % {"limit": limit, "minutes": minutes}


def check_new_account_rate(
    user: User, *, recent: QuerySet[Any, Any], limit: int, kind: str
) -> None:
    """Refuse (429 `new_account_limit`) when a new account has sent `limit` things this hour.

    `recent` is the user's own rows (with a `created_at`); `kind` is "proposals" or "messages".
    Accounts older than limits.NEW_ACCOUNT_AGE are not limited. The answer says when the
    hour ends (`retry_after_seconds`, `resets_at`).
    """
    if not settings.ACCOUNT_ABUSE_LIMITS or not account_is_new(user):
        return
    resets_at = sliding_window_reopens_at(recent, most=limit, window=limits.NEW_ACCOUNT_WINDOW)
    if resets_at is None:
        return
    minutes = minutes_until(resets_at)
    raise RateLimited(
        _new_account_limit_message(kind, limit=limit, minutes=minutes),
        code="new_account_limit",
        extra={"retry_after_seconds": minutes * 60, "resets_at": resets_at.isoformat()},
    )
