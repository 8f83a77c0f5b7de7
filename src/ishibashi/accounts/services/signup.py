"""Sign-up: a new account, every check before the insert."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from ishibashi.accounts.models import EntityType, User
from ishibashi.accounts.services.validation import (
    EMAIL_TAKEN,
    check_entity_type,
    check_password_rules,
    check_roles,
    clean_display_name,
    clean_email,
)
from ishibashi.core.errors import (
    Conflict,
)


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
