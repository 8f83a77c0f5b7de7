"""Log-in with failures counted per account and per address."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from django.utils.translation import ngettext

from ishibashi.accounts.models import LoginFailure, User
from ishibashi.accounts.services.validation import INVALID_CREDENTIALS, normalize_email
from ishibashi.core import clock, limits
from ishibashi.core.errors import (
    NotAuthenticated,
    RateLimited,
)
from ishibashi.core.text import has_forbidden_characters


def _lockout_error(*, oldest_failure_at: Any) -> RateLimited:
    unlock_at = oldest_failure_at + limits.LOGIN_FAILURE_WINDOW
    minutes = max(1, int((unlock_at - clock.now()).total_seconds() + 59) // 60)
    return RateLimited(
        ngettext(
            "Too many failed log-ins. For your safety, log-in is locked; "
            "try again in %(minutes)d minute or reset your password.",
            "Too many failed log-ins. For your safety, log-in is locked; "
            "try again in %(minutes)d minutes or reset your password.",
            minutes,
        )
        % {"minutes": minutes},
        code="login_locked",
        extra={"retry_after_seconds": minutes * 60},
    )


def login_key(email: str) -> str:
    """The address as failures are counted: normalized, printable, bounded."""
    email = normalize_email(email)
    email = "".join(c for c in email if not has_forbidden_characters(c))
    return email[: limits.EMAIL_LENGTH_MAX]


def check_not_locked(*, email: str, ip_address: str | None) -> None:
    since = clock.now() - limits.LOGIN_FAILURE_WINDOW
    by_account = LoginFailure.objects.filter(email=email, created_at__gte=since)
    if by_account.count() >= limits.LOGIN_FAILURES_PER_ACCOUNT_MAX:
        oldest = by_account.order_by("created_at").values_list("created_at", flat=True).first()
        raise _lockout_error(oldest_failure_at=oldest)
    if ip_address:
        by_address = LoginFailure.objects.filter(ip_address=ip_address, created_at__gte=since)
        if by_address.count() >= limits.LOGIN_FAILURES_PER_ADDRESS_MAX:
            oldest = by_address.order_by("created_at").values_list("created_at", flat=True).first()
            raise _lockout_error(oldest_failure_at=oldest)


def count_failure(*, email: str, ip_address: str | None) -> None:
    """Record a wrong password (committed: the caller is not atomic) and refuse with the lock
    if this failure reached it."""
    LoginFailure.objects.create(email=email, ip_address=ip_address)
    check_not_locked(email=email, ip_address=ip_address)


def user_authenticate(*, email: str, password: str, ip_address: str | None) -> User:
    """Check a log-in, counting failures per account and per address.

    Deliberately not atomic: the failure row must be committed even though the call then
    raises, or the lock-out would never engage. The lock is checked before the password, so a
    locked account tells a guesser nothing about whether a guess was right.
    """
    email = login_key(email)
    check_not_locked(email=email, ip_address=ip_address)
    user = None
    if (
        password
        and len(password) <= limits.PASSWORD_LENGTH_MAX
        and not has_forbidden_characters(password)
    ):
        user = authenticate(None, email=email, password=password)
    if not isinstance(user, User):
        count_failure(email=email, ip_address=ip_address)
        raise NotAuthenticated(INVALID_CREDENTIALS, code="invalid_credentials")
    LoginFailure.objects.filter(email=email).delete()
    return user
