"""Password change and reset; both end every other way into the account."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.translation import gettext_lazy as _

from ishibashi.accounts.models import LoginFailure, User
from ishibashi.accounts.services.login import check_not_locked, count_failure, login_key
from ishibashi.accounts.services.tokens import api_tokens_revoke_all
from ishibashi.accounts.services.validation import check_password_rules
from ishibashi.core import clock, limits
from ishibashi.core.errors import (
    ApplicationError,
    InvalidInput,
)


def user_password_change(
    *,
    user: User,
    current_password: str,
    new_password: str,
    ip_address: str | None = None,
    sign_out_everywhere: bool = True,
) -> User:
    """Change the password after checking the current one, which counts as a log-in attempt.

    A wrong current password is a failure toward the account's and the address's lock-out, as
    at the log-in (otherwise a stolen session could guess the password without limit). Every
    other session ends (Django ties sessions to the password hash); `sign_out_everywhere` also
    revokes every API token. The owner is mailed either way.
    Deliberately not atomic around the check: the failure row must survive the refusal.
    """
    email = login_key(user.email)
    check_not_locked(email=email, ip_address=ip_address)
    if not (
        current_password
        and len(current_password) <= limits.PASSWORD_LENGTH_MAX
        and user.check_password(current_password)
    ):
        count_failure(email=email, ip_address=ip_address)
        raise InvalidInput(
            _("The current password is incorrect."),
            code="invalid_credentials",
            field="current_password",
        )
    return _password_set(user=user, new_password=new_password, revoke_tokens=sign_out_everywhere)


@transaction.atomic
def _password_set(*, user: User, new_password: str, revoke_tokens: bool) -> User:
    user = User.objects.select_for_update().get(pk=user.pk)
    check_password_rules(new_password, user=user, field="new_password")
    user.set_password(new_password)
    user.save(update_fields=["password"])
    LoginFailure.objects.filter(email=login_key(user.email)).delete()
    revoked = api_tokens_revoke_all(user=user) if revoke_tokens else 0
    user_id = user.pk
    transaction.on_commit(lambda: _send_password_changed_mail(user_id=user_id, revoked=revoked))
    return user


def _send_password_changed_mail(*, user_id: int, revoked: int) -> None:
    user = User.objects.get(pk=user_id)
    path = reverse("accounts:password_reset")
    context = {"user": user, "revoked": revoked, "url": settings.SITE_URL.rstrip("/") + path}
    with translation.override(user.preferred_language):
        subject = render_to_string("accounts/email/password_changed_subject.txt", context).strip()
        body = render_to_string("accounts/email/password_changed_body.txt", context)
    send_mail(subject, body, None, [user.email])


def _send_password_reset_mail(*, user_id: int) -> None:
    user = User.objects.get(pk=user_id)
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    path = reverse("accounts:password_reset_confirm", kwargs={"uidb64": uid, "token": token})
    context = {
        "user": user,
        "url": settings.SITE_URL.rstrip("/") + path,
        "uid": uid,
        "token": token,
    }
    with translation.override(user.preferred_language):
        subject = render_to_string("accounts/email/password_reset_subject.txt", context).strip()
        body = render_to_string("accounts/email/password_reset_body.txt", context)
    send_mail(subject, body, None, [user.email])


@transaction.atomic
def password_reset_request(*, email: str) -> None:
    """Mail a reset link if the address has an account; say nothing either way (no enumeration)."""
    email = login_key(email)
    user = User.objects.filter(email=email, is_active=True).first()
    if user is not None:
        user_id = user.pk
        transaction.on_commit(lambda: _send_password_reset_mail(user_id=user_id))


def _user_from_reset_link(*, uidb64: str, token: str) -> User:
    invalid = ApplicationError(
        _("This password-reset link is invalid or has expired. Request a new one."),
        code="invalid_reset_link",
    )
    try:
        user_id = int(force_str(urlsafe_base64_decode(uidb64)))
    except (ValueError, TypeError, OverflowError):
        raise invalid from None
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not default_token_generator.check_token(user, token):
        raise invalid
    return user


def password_reset_link_check(*, uidb64: str, token: str) -> User:
    """Validate a reset link without using it (the page shows the form only for a valid one)."""
    return _user_from_reset_link(uidb64=uidb64, token=token)


@transaction.atomic
def password_reset_confirm(*, uidb64: str, token: str, new_password: str) -> User:
    """Set a new password from a mailed link; the link dies with the old password hash.

    Every session (tied to the old hash) and every API token ends. The link proves the address,
    so it also verifies it (and someone who signed up with another's address loses the account
    to its owner)."""
    user = _user_from_reset_link(uidb64=uidb64, token=token)
    user = User.objects.select_for_update().get(pk=user.pk)
    check_password_rules(new_password, user=user, field="new_password")
    user.set_password(new_password)
    fields = ["password"]
    if user.email_verified_at is None:
        # The link came by mail, so the owner holds the address: as good as its confirmation.
        user.email_verified_at = clock.now()
        fields.append("email_verified_at")
    user.save(update_fields=fields)
    LoginFailure.objects.filter(email=user.email).delete()
    # Whoever knew the old password may hold a token made with it: a reset ends them all.
    api_tokens_revoke_all(user=user)
    return user
