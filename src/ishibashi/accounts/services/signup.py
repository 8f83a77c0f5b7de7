"""Sign-up: a new account, every check before the insert; the sign-up request the doors call,
which answers alike whether the address is new or taken."""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction

from ishibashi.accounts.models import AccountRequest, EntityType, RequestKind, User
from ishibashi.accounts.services.validation import (
    EMAIL_TAKEN,
    check_entity_type,
    check_password_rules,
    check_roles,
    clean_display_name,
    clean_email,
)
from ishibashi.accounts.services.verification import (
    check_not_throttled,
    send_signup_attempt_mail,
    send_verification_mail,
)
from ishibashi.core import clock, limits
from ishibashi.core.errors import (
    Conflict,
)


def _new_user(
    *,
    email: str,
    password: str,
    display_name: str,
    entity_type: str,
    is_client: bool,
    is_worker: bool,
    preferred_language: str,
) -> User:
    """An unsaved account with its password hashed, every check done (a refusal writes nothing)."""
    email = clean_email(email)
    display_name = clean_display_name(display_name)
    check_entity_type(entity_type)
    check_roles(is_client=is_client, is_worker=is_worker)
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
    check_password_rules(password, user=user)
    user.set_password(password)
    return user


def _insert(user: User) -> bool:
    """Save the new account; False when the address is taken (also by a racing sign-up)."""
    if User.objects.filter(email=user.email).exists():
        return False
    try:
        # A savepoint, so a racing sign-up's unique violation leaves the outer transaction usable.
        with transaction.atomic():
            user.save()
    except IntegrityError:
        return False
    return True


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
    email_verified: bool = False,
) -> User:
    """Create an account (for seeds, fixtures and operators; people sign up through
    signup_request). Every check runs before the insert, so a refusal writes nothing.

    `email_verified` marks an address already known to be its owner's (a seeded or
    operator-made account); otherwise the account waits for its verification link.
    """
    user = _new_user(
        email=email,
        password=password,
        display_name=display_name,
        entity_type=entity_type,
        is_client=is_client,
        is_worker=is_worker,
        preferred_language=preferred_language,
    )
    if email_verified:
        user.email_verified_at = clock.now()
    if not _insert(user):
        raise Conflict(EMAIL_TAKEN, code="email_taken", field="email")
    return user


@transaction.atomic
def signup_request(
    *,
    email: str,
    password: str,
    display_name: str,
    entity_type: str = EntityType.INDIVIDUAL,
    is_client: bool,
    is_worker: bool,
    preferred_language: str = "ja",
    ip_address: str | None,
) -> None:
    """A person signs up (page and API). Answers nothing, so a taken address looks like a new one.

    A new address gets an unverified account and a verification link; a taken address gets no
    account and its owner is told someone tried (at most limits.SIGNUP_OWNER_MAILS_PER_EMAIL_MAX
    times an hour). Both paths hash the password and send one mail after commit, so they take
    about the same time. Sign-ups are throttled per client address (429 `signup_throttled`).
    """
    check_not_throttled(
        kind=RequestKind.SIGNUP,
        email=None,
        ip_address=ip_address if settings.ACCOUNT_ABUSE_LIMITS else None,
        per_address=limits.SIGNUPS_PER_ADDRESS_MAX,
        window=limits.SIGNUP_WINDOW,
        code="signup_throttled",
    )
    user = _new_user(
        email=email,
        password=password,
        display_name=display_name,
        entity_type=entity_type,
        is_client=is_client,
        is_worker=is_worker,
        preferred_language=preferred_language,
    )
    since = clock.now() - limits.SIGNUP_WINDOW
    tries_on_this_address = AccountRequest.objects.filter(
        kind=RequestKind.SIGNUP, email=user.email, created_at__gte=since
    ).count()
    AccountRequest.objects.create(kind=RequestKind.SIGNUP, email=user.email, ip_address=ip_address)
    if _insert(user):
        user_id = user.pk
        transaction.on_commit(lambda: send_verification_mail(user_id=user_id))
        return
    owner = User.objects.filter(email=user.email, is_active=True).first()
    if owner is not None and tries_on_this_address < limits.SIGNUP_OWNER_MAILS_PER_EMAIL_MAX:
        owner_id = owner.pk
        transaction.on_commit(lambda: send_signup_attempt_mail(user_id=owner_id))
