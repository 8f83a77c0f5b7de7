"""E-mail verification: the signed link, its mails, using it, asking for it again; the throttle
that sign-ups and these mails share."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ishibashi.accounts.models import AccountRequest, RequestKind, User
from ishibashi.accounts.services.login import login_key
from ishibashi.core import clock, limits
from ishibashi.core.errors import ApplicationError, RateLimited
from ishibashi.core.throttle import minutes_until, sliding_window_reopens_at

VERIFICATION_SALT = "ishibashi.accounts.email-verification"
INVALID_LINK = _(
    "This confirmation link is invalid or has expired. Log in and ask for a new one, "
    "or enter your address below."
)


def verification_token(user: User) -> str:
    """A signed, timestamped token naming the account and its address (dies if either changes)."""
    return signing.dumps({"u": user.pk, "e": user.email}, salt=VERIFICATION_SALT, compress=True)


def _user_from_token(token: str) -> User:
    invalid = ApplicationError(INVALID_LINK, code="invalid_verification_link", field="token")
    if not isinstance(token, str) or len(token) > 300:
        raise invalid
    try:
        data = signing.loads(
            token,
            salt=VERIFICATION_SALT,
            max_age=limits.EMAIL_VERIFICATION_MAX_AGE,
        )
    except signing.BadSignature:  # also SignatureExpired
        raise invalid from None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        raise invalid
    user = User.objects.filter(pk=data["u"], email=data.get("e"), is_active=True).first()
    if user is None:
        raise invalid
    return user


def verification_link_check(*, token: str) -> User:
    """Validate a link without using it (the page shows its button only for a valid one)."""
    return _user_from_token(token)


@transaction.atomic
def email_verify(*, token: str) -> User:
    """Mark the address verified. Using a link again changes nothing (the first time stays)."""
    user = User.objects.select_for_update().get(pk=_user_from_token(token).pk)
    if user.email_verified_at is None:
        user.email_verified_at = clock.now()
        user.save(update_fields=["email_verified_at"])
    return user


def _throttle_error(reopens_at: dt.datetime, *, code: str) -> RateLimited:
    minutes = minutes_until(reopens_at)
    if code == "signup_throttled":
        text = ngettext(
            "Too many sign-ups from your network. Try again in %(minutes)d minute.",
            "Too many sign-ups from your network. Try again in %(minutes)d minutes.",
            minutes,
        )
    else:
        text = ngettext(
            "Too many confirmation mails asked for. Try again in %(minutes)d minute.",
            "Too many confirmation mails asked for. Try again in %(minutes)d minutes.",
            minutes,
        )
    return RateLimited(
        text % {"minutes": minutes}, code=code, extra={"retry_after_seconds": minutes * 60}
    )


def check_not_throttled(
    *,
    kind: str,
    email: str | None,
    ip_address: str | None,
    per_address: int,
    window: dt.timedelta,
    code: str,
    per_email: int = 0,
) -> None:
    """Refuse (429, with when to retry) once an address or an e-mail made too many requests."""
    requests = AccountRequest.objects.filter(kind=kind)
    scopes = []
    if ip_address:
        scopes.append((requests.filter(ip_address=ip_address), per_address))
    if email and per_email:
        scopes.append((requests.filter(email=email), per_email))
    for rows, most in scopes:
        reopens_at = sliding_window_reopens_at(rows, most=most, window=window)
        if reopens_at is not None:
            raise _throttle_error(reopens_at, code=code)


def _mail(user: User, *, template: str, context: Mapping[str, object]) -> None:
    context = {"user": user, **context}
    with translation.override(user.preferred_language):
        subject = render_to_string(f"accounts/email/{template}_subject.txt", context).strip()
        body = render_to_string(f"accounts/email/{template}_body.txt", context)
    send_mail(subject, body, None, [user.email])


def _site(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def send_verification_mail(*, user_id: int) -> None:
    user = User.objects.get(pk=user_id)
    token = verification_token(user)
    url = _site(reverse("accounts:verify_email", kwargs={"token": token}))
    days = limits.EMAIL_VERIFICATION_MAX_AGE.days
    _mail(user, template="verify_email", context={"url": url, "token": token, "days": days})


def send_signup_attempt_mail(*, user_id: int) -> None:
    """To an address's owner: someone tried to sign up with it."""
    user = User.objects.get(pk=user_id)
    context = {
        "login_url": _site(reverse("accounts:login")),
        "reset_url": _site(reverse("accounts:password_reset")),
    }
    _mail(user, template="signup_attempt", context=context)


@transaction.atomic
def verification_resend(*, email: str, ip_address: str | None) -> None:
    """Mail a new link if the address has an unverified account; say nothing either way.

    Throttled per e-mail and per client address alike for known and unknown addresses
    (429 `verification_throttled`), so the answer tells nobody which addresses have accounts.
    """
    email = login_key(email)
    check_not_throttled(
        kind=RequestKind.VERIFICATION_RESEND,
        email=email,
        ip_address=ip_address,
        per_address=limits.VERIFICATION_RESENDS_PER_ADDRESS_MAX,
        per_email=limits.VERIFICATION_RESENDS_PER_EMAIL_MAX,
        window=limits.VERIFICATION_RESEND_WINDOW,
        code="verification_throttled",
    )
    AccountRequest.objects.create(
        kind=RequestKind.VERIFICATION_RESEND, email=email, ip_address=ip_address
    )
    user = User.objects.filter(email=email, is_active=True, email_verified_at__isnull=True).first()
    if user is not None:
        user_id = user.pk
        transaction.on_commit(lambda: send_verification_mail(user_id=user_id))
