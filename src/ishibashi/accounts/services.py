"""Every write to accounts: sign-up, log-in with throttling, profile, passwords and API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ishibashi.accounts.models import ApiToken, EntityType, LoginFailure, User
from ishibashi.core import clock, limits
from ishibashi.core.errors import (
    ApplicationError,
    Conflict,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    RateLimited,
)
from ishibashi.core.text import clean_text, has_forbidden_characters

INVALID_CREDENTIALS = _("The e-mail address or password is incorrect.")
EMAIL_TAKEN = _("An account with this e-mail address already exists.")
INVOICE_NUMBER_FORM = re.compile(r"^T[0-9]{13}$")
API_TOKEN_PREFIX = "ish_"  # noqa: S105 (a marker, not a secret)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def _clean_email(email: str) -> str:
    email = normalize_email(email)
    if not email:
        raise InvalidInput(_("Enter your e-mail address."), field="email")
    if len(email) > limits.EMAIL_LENGTH_MAX:
        raise InvalidInput(
            _("The e-mail address is too long (at most %(max)d characters).")
            % {"max": limits.EMAIL_LENGTH_MAX},
            field="email",
        )
    if has_forbidden_characters(email):
        raise InvalidInput(_("Enter a valid e-mail address."), field="email")
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidInput(_("Enter a valid e-mail address."), field="email") from None
    return email


# Characters that draw nothing although Unicode calls them letters (a Hangul filler, a blank
# Braille cell): a name made of them looks empty, or like someone else's with a gap.
INVISIBLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
# A name may not pass for the platform speaking: 運営 (the operator), 公式 (official).
RESERVED_IN_NAMES = ("運営", "公式", "official", "ishibashistaff", "石橋スタッフ")
# Nor be the platform's name alone; 石橋 is also a common surname, so "石橋 美咲" is fine.
RESERVED_NAMES = frozenset({"ishibashi", "石橋", "いしばし", "イシバシ"})


def _clean_display_name(display_name: str) -> str:
    """NFKC (so "ＡＢＣ" and "ABC" are one name), nothing invisible, nothing that reads as us."""
    display_name = unicodedata.normalize("NFKC", display_name)
    if not display_name.strip():
        raise InvalidInput(_("Enter a display name."), field="display_name")
    if len(display_name.strip()) > limits.DISPLAY_NAME_LENGTH_MAX:
        raise InvalidInput(
            _("The display name is too long (at most %(max)d characters).")
            % {"max": limits.DISPLAY_NAME_LENGTH_MAX},
            field="display_name",
        )
    # Format characters (bidi overrides, zero-width spaces and joiners) and private-use ones
    # can make a name read backwards or hide in it.
    if any(
        unicodedata.category(char) in {"Cf", "Co"} or char in INVISIBLE_LETTERS
        for char in display_name
    ):
        raise InvalidInput(
            _("The display name contains invisible or direction-changing characters."),
            field="display_name",
        )
    visible = [
        char
        for char in display_name
        if not char.isspace() and unicodedata.category(char) not in {"Mn", "Me"}
    ]
    if not visible:
        raise InvalidInput(_("Enter a display name."), field="display_name")
    squeezed = "".join(visible).casefold()
    if squeezed in RESERVED_NAMES or any(word in squeezed for word in RESERVED_IN_NAMES):
        raise InvalidInput(
            _("This display name is reserved for the platform (運営, 公式, Ishibashi)."),
            field="display_name",
        )
    return clean_text(display_name, field="display_name", length_max=limits.DISPLAY_NAME_LENGTH_MAX)


def _check_password(password: str, *, user: User, field: str = "password") -> None:
    if len(password) > limits.PASSWORD_LENGTH_MAX:
        raise InvalidInput(
            _("The password is too long (at most %(max)d characters).")
            % {"max": limits.PASSWORD_LENGTH_MAX},
            field=field,
        )
    if has_forbidden_characters(password):
        raise InvalidInput(_("The password contains characters that cannot be used."), field=field)
    try:
        validate_password(password, user=user)
    except ValidationError as error:
        raise InvalidInput(" ".join(str(m) for m in error.messages), field=field) from None


def _check_roles(*, is_client: bool, is_worker: bool) -> None:
    if not (is_client or is_worker):
        raise InvalidInput(
            _("Choose at least one: client (発注者) or worker (受注者)."), field="roles"
        )


def _check_entity_type(entity_type: str) -> None:
    if entity_type not in EntityType.values:
        raise InvalidInput(_("Choose individual or corporation."), field="entity_type")


@transaction.atomic
def user_signup(
    *,
    email: str,
    password: str,
    display_name: str,
    entity_type: str = EntityType.INDIVIDUAL,
    is_client: bool,
    is_worker: bool,
    preferred_language: str = "ja",
) -> User:
    """Create an account. Every check runs before the insert, so a refusal writes nothing."""
    email = _clean_email(email)
    display_name = _clean_display_name(display_name)
    _check_entity_type(entity_type)
    _check_roles(is_client=is_client, is_worker=is_worker)
    if preferred_language not in {"ja", "en"}:
        preferred_language = "ja"
    user = User(
        email=email,
        display_name=display_name,
        entity_type=entity_type,
        is_client=is_client,
        is_worker=is_worker,
        preferred_language=preferred_language,
    )
    _check_password(password, user=user)
    if User.objects.filter(email=email).exists():
        raise Conflict(EMAIL_TAKEN, code="email_taken", field="email")
    user.set_password(password)
    try:
        # A savepoint, so a racing sign-up's unique violation leaves the outer transaction usable.
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise Conflict(EMAIL_TAKEN, code="email_taken", field="email") from None
    return user


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


def _login_key(email: str) -> str:
    """The address as failures are counted: normalized, printable, bounded."""
    email = normalize_email(email)
    email = "".join(c for c in email if not has_forbidden_characters(c))
    return email[: limits.EMAIL_LENGTH_MAX]


def _check_not_locked(*, email: str, ip_address: str | None) -> None:
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


def _failure_count(*, email: str, ip_address: str | None) -> None:
    """Record a wrong password (committed: the caller is not atomic) and refuse with the lock
    if this failure reached it."""
    LoginFailure.objects.create(email=email, ip_address=ip_address)
    _check_not_locked(email=email, ip_address=ip_address)


def user_authenticate(*, email: str, password: str, ip_address: str | None) -> User:
    """Check a log-in, counting failures per account and per address.

    Deliberately not atomic: the failure row must be committed even though the call then
    raises, or the lock-out would never engage. The lock is checked before the password, so a
    locked account tells a guesser nothing about whether a guess was right.
    """
    email = _login_key(email)
    _check_not_locked(email=email, ip_address=ip_address)
    user = None
    if (
        password
        and len(password) <= limits.PASSWORD_LENGTH_MAX
        and not has_forbidden_characters(password)
    ):
        user = authenticate(None, email=email, password=password)
    if not isinstance(user, User):
        _failure_count(email=email, ip_address=ip_address)
        raise NotAuthenticated(INVALID_CREDENTIALS, code="invalid_credentials")
    LoginFailure.objects.filter(email=email).delete()
    return user


PROFILE_FIELDS = frozenset(
    {
        "display_name",
        "entity_type",
        "is_client",
        "is_worker",
        "bio",
        "skills",
        "invoice_registration_number",
        "has_employees",
        "is_withholding_agent",
        "preferred_language",
    }
)


def _clean_skills(skills: list[str]) -> list[str]:
    cleaned: list[str] = []
    for raw in skills:
        skill = clean_text(raw, field="skills", length_max=limits.SKILL_LENGTH_MAX, required=False)
        if skill and skill not in cleaned:
            cleaned.append(skill)
    if len(cleaned) > limits.SKILLS_COUNT_MAX:
        raise InvalidInput(
            _("List at most %(max)d skills.") % {"max": limits.SKILLS_COUNT_MAX}, field="skills"
        )
    return cleaned


@transaction.atomic
def user_profile_update(*, user: User, changes: dict[str, Any]) -> User:
    """Apply a partial profile update; unknown or invalid fields refuse the whole change."""
    unknown = set(changes) - PROFILE_FIELDS
    if unknown:
        raise InvalidInput(_("This field cannot be changed here."), field=sorted(unknown)[0])
    user = User.objects.select_for_update().get(pk=user.pk)
    cleaned: dict[str, Any] = {}
    for name, value in changes.items():
        if value is None:
            raise InvalidInput(_("This field cannot be empty."), field=name)
        if name == "display_name":
            cleaned[name] = _clean_display_name(value)
        elif name == "entity_type":
            _check_entity_type(value)
            cleaned[name] = value
        elif name == "bio":
            cleaned[name] = clean_text(
                value, field=name, length_max=limits.BIO_LENGTH_MAX, multiline=True, required=False
            )
        elif name == "skills":
            cleaned[name] = _clean_skills(value)
        elif name == "invoice_registration_number":
            value = value.strip().upper()
            if value and not INVOICE_NUMBER_FORM.match(value):
                raise InvalidInput(
                    _("A registration number is “T” followed by 13 digits (e.g. T1234567890123)."),
                    field=name,
                )
            cleaned[name] = value
        elif name == "preferred_language":
            if value not in {"ja", "en"}:
                raise InvalidInput(_("Choose Japanese or English."), field=name)
            cleaned[name] = value
        else:
            cleaned[name] = bool(value)
    _check_roles(
        is_client=cleaned.get("is_client", user.is_client),
        is_worker=cleaned.get("is_worker", user.is_worker),
    )
    for name, value in cleaned.items():
        setattr(user, name, value)
    if cleaned:
        user.save(update_fields=sorted(cleaned))
    return user


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
    email = _login_key(user.email)
    _check_not_locked(email=email, ip_address=ip_address)
    if not (
        current_password
        and len(current_password) <= limits.PASSWORD_LENGTH_MAX
        and user.check_password(current_password)
    ):
        _failure_count(email=email, ip_address=ip_address)
        raise InvalidInput(
            _("The current password is incorrect."),
            code="invalid_credentials",
            field="current_password",
        )
    return _password_set(user=user, new_password=new_password, revoke_tokens=sign_out_everywhere)


@transaction.atomic
def _password_set(*, user: User, new_password: str, revoke_tokens: bool) -> User:
    user = User.objects.select_for_update().get(pk=user.pk)
    _check_password(new_password, user=user, field="new_password")
    user.set_password(new_password)
    user.save(update_fields=["password"])
    LoginFailure.objects.filter(email=_login_key(user.email)).delete()
    revoked = api_tokens_revoke_all(user=user) if revoke_tokens else 0
    user_id = user.pk
    transaction.on_commit(lambda: _send_password_changed_mail(user_id=user_id, revoked=revoked))
    return user


def api_tokens_revoke_all(*, user: User) -> int:
    """Revoke every active API token of the user; how many were active."""
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=clock.now()
    )


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
    email = _login_key(email)
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

    Every session (tied to the old hash) and every API token ends."""
    user = _user_from_reset_link(uidb64=uidb64, token=token)
    user = User.objects.select_for_update().get(pk=user.pk)
    _check_password(new_password, user=user, field="new_password")
    user.set_password(new_password)
    user.save(update_fields=["password"])
    LoginFailure.objects.filter(email=user.email).delete()
    # Whoever knew the old password may hold a token made with it: a reset ends them all.
    api_tokens_revoke_all(user=user)
    return user


def _hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedApiToken:
    token: ApiToken
    secret: str  # shown to the user once, never stored


@transaction.atomic
def api_token_create(*, user: User, name: str) -> IssuedApiToken:
    if not name.strip():
        raise InvalidInput(
            _("Give the token a name, e.g. the tool that will use it."), field="name"
        )
    name = clean_text(name, field="name", length_max=limits.API_TOKEN_NAME_LENGTH_MAX)
    # Lock the user row so two concurrent creations cannot both pass the count check.
    User.objects.select_for_update().get(pk=user.pk)
    active = ApiToken.objects.filter(user=user, revoked_at__isnull=True).count()
    if active >= limits.API_TOKENS_PER_USER_MAX:
        raise Conflict(
            _("You have %(max)d active tokens, the most allowed. Revoke one first.")
            % {"max": limits.API_TOKENS_PER_USER_MAX},
            code="too_many_tokens",
        )
    secret = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, prefix=secret[:12], key_hash=_hash_token(secret)
    )
    return IssuedApiToken(token=token, secret=secret)


@transaction.atomic
def api_token_revoke(*, user: User, token_id: int) -> ApiToken:
    token = ApiToken.objects.select_for_update().filter(pk=token_id, user=user).first()
    if token is None:
        raise NotFound(_("No such token."))
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        token.save(update_fields=["revoked_at"])
    return token


def api_token_authenticate(*, secret: str) -> User | None:
    """The user behind an active token, or None. Touches last_used_at at most once a minute."""
    if not secret.startswith(API_TOKEN_PREFIX) or len(secret) > 100:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=_hash_token(secret), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = clock.now()
    if (
        token.last_used_at is None
        or now - token.last_used_at >= limits.API_TOKEN_LAST_USED_RESOLUTION
    ):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
