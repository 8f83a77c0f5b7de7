"""The unlock link mailed to an account's owner when someone keeps guessing its password."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from ishibashi.accounts.models import LoginFailure, User
from ishibashi.core import clock, limits
from ishibashi.core.errors import ApplicationError

UNLOCK_SALT = "ishibashi.accounts.unlock"


def _unlock_token(user: User) -> str:
    return signing.dumps({"u": user.pk, "e": user.email}, salt=UNLOCK_SALT)


def send_unlock_mail(*, user: User) -> None:
    """Tell the owner how many failed log-ins there were and give them a link that clears them."""
    since = clock.now() - limits.LOGIN_FAILURE_WINDOW
    recent = LoginFailure.objects.filter(email=user.email, created_at__gte=since)
    context = {
        "user": user,
        "failures": recent.count(),
        "addresses": recent.values("ip_address").distinct().count(),
        "url": settings.SITE_URL.rstrip("/")
        + reverse("accounts:login_unlock", kwargs={"token": _unlock_token(user)}),
        "reset_url": settings.SITE_URL.rstrip("/") + reverse("accounts:password_reset"),
        "hours": int(limits.LOGIN_UNLOCK_LINK_AGE.total_seconds() // 3600),
    }
    with translation.override(user.preferred_language):
        subject = render_to_string("accounts/email/login_unlock_subject.txt", context).strip()
        body = render_to_string("accounts/email/login_unlock_body.txt", context)
    send_mail(subject, body, None, [user.email])


def login_unlock_link_check(*, token: str) -> User:
    """The account an unlock link is for, if the link is genuine and fresh."""
    invalid = ApplicationError(
        _("This unlock link is invalid or has expired. Reset your password instead."),
        code="invalid_unlock_link",
    )
    try:
        data = signing.loads(
            token,
            salt=UNLOCK_SALT,
            max_age=limits.LOGIN_UNLOCK_LINK_AGE,
        )
    except signing.BadSignature:  # also SignatureExpired
        raise invalid from None
    if not (isinstance(data, dict) and isinstance(data.get("u"), int)):
        raise invalid
    user = User.objects.filter(pk=data["u"], email=data.get("e"), is_active=True).first()
    if user is None:
        raise invalid
    return user


@transaction.atomic
def login_unlock(*, token: str) -> User:
    """Clear every failed log-in on the account: its owner proved they read its mail."""
    user = login_unlock_link_check(token=token)
    LoginFailure.objects.filter(email=user.email).delete()
    return user
