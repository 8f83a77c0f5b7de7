"""Log-in with back-off per (account, address) and per address, so guessing is slow and
nobody can lock somebody else out."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth import authenticate
from django.db.models import Count, Max, Q
from django.utils.translation import ngettext

from ishibashi.accounts.models import LoginFailure, User
from ishibashi.accounts.services.unlock import send_unlock_mail
from ishibashi.accounts.services.validation import INVALID_CREDENTIALS, normalize_email
from ishibashi.core import clock, limits
from ishibashi.core.errors import NotAuthenticated, RateLimited
from ishibashi.core.text import has_forbidden_characters
from ishibashi.core.throttle import minutes_until


def _lockout_error(*, until: datetime) -> RateLimited:
    minutes = minutes_until(until)
    return RateLimited(
        ngettext(
            "Too many failed log-ins from here. For your safety, log-in is paused; "
            "try again in %(minutes)d minute or reset your password.",
            "Too many failed log-ins from here. For your safety, log-in is paused; "
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


def _backoff_end(*, failures: int, free: int, last_at: datetime | None) -> datetime | None:
    """When the next try may be checked: after `free` failures, 1, 2, 4 … minutes, capped."""
    if last_at is None or failures < free:
        return None
    doublings = min(failures - free, 10)  # 2**10 minutes is past the cap already
    wait: timedelta = min(limits.LOGIN_BACKOFF_FIRST * 2**doublings, limits.LOGIN_BACKOFF_MAX)
    return last_at + wait


def _paused_until(*, email: str, ip_address: str | None) -> datetime | None:
    """The end of the longest pause that applies to this account from this address, if any."""
    now = clock.now()
    recent = LoginFailure.objects.filter(created_at__gte=now - limits.LOGIN_FAILURE_WINDOW)
    pair = recent.filter(email=email).aggregate(
        account=Count("id"),
        here=Count("id", filter=Q(ip_address=ip_address) if ip_address else Q(ip_address=None)),
        last_here=Max(
            "created_at", filter=Q(ip_address=ip_address) if ip_address else Q(ip_address=None)
        ),
    )
    ends = [
        _backoff_end(
            failures=pair["here"],
            free=limits.LOGIN_FAILURES_PER_PAIR_FREE,
            last_at=pair["last_here"],
        )
    ]
    if pair["account"] >= limits.LOGIN_FAILURES_ACCOUNT_ALARM and pair["last_here"] is not None:
        # Someone is after this account: an address that has guessed wrong on it already gets
        # one try per long pause. An address that has not is checked as usual.
        ends.append(pair["last_here"] + limits.LOGIN_BACKOFF_MAX)
    if ip_address:
        address = recent.filter(ip_address=ip_address).aggregate(
            failures=Count("id"), last_at=Max("created_at")
        )
        ends.append(
            _backoff_end(
                failures=address["failures"],
                free=limits.LOGIN_FAILURES_PER_ADDRESS_FREE,
                last_at=address["last_at"],
            )
        )
    latest = max((end for end in ends if end is not None), default=None)
    return latest if latest is not None and latest > now else None


def check_not_locked(*, email: str, ip_address: str | None) -> None:
    """Refuse before the password is even looked at while a pause lasts."""
    until = _paused_until(email=email, ip_address=ip_address)
    if until is not None:
        raise _lockout_error(until=until)


def _alert_owner_once(*, email: str, failure: LoginFailure) -> None:
    """Mail the owner an unlock link when the account's failures reach the alarm, once a window."""
    recent = LoginFailure.objects.filter(
        email=email, created_at__gte=clock.now() - limits.LOGIN_FAILURE_WINDOW
    )
    if recent.count() < limits.LOGIN_FAILURES_ACCOUNT_ALARM:
        return
    if recent.filter(owner_alerted=True).exists():
        return
    owner = User.objects.filter(email=email, is_active=True).first()
    if owner is None:
        return
    LoginFailure.objects.filter(pk=failure.pk).update(owner_alerted=True)
    send_unlock_mail(user=owner)


def count_failure(*, email: str, ip_address: str | None) -> None:
    """Record a wrong password (committed: the caller is not atomic) and refuse with the pause
    if this failure started one."""
    failure = LoginFailure.objects.create(email=email, ip_address=ip_address)
    _alert_owner_once(email=email, failure=failure)
    check_not_locked(email=email, ip_address=ip_address)


def user_authenticate(*, email: str, password: str, ip_address: str | None) -> User:
    """Check a log-in, with back-off per (account, address) and per address.

    Deliberately not atomic: the failure row must be committed even though the call then
    raises, or the back-off would never engage. A pause is checked before the password, so a
    paused guesser learns nothing about whether a guess was right. Failures on this account
    from other addresses never refuse this one outright: that would let anyone lock the owner
    out by guessing wrong on purpose.
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
    # Only this address's slate is wiped: the owner logging in must not hand whoever is
    # guessing elsewhere a fresh set of tries.
    LoginFailure.objects.filter(email=email, ip_address=ip_address).delete()
    return user
