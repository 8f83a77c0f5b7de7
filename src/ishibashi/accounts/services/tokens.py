"""API tokens: issue (shown once, stored hashed), revoke, authenticate."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from ishibashi.accounts.models import ApiToken, User
from ishibashi.core import clock, limits
from ishibashi.core.errors import (
    Conflict,
    InvalidInput,
    NotFound,
)
from ishibashi.core.text import clean_text

API_TOKEN_PREFIX = "ish_"  # noqa: S105 (a marker, not a secret)


def api_tokens_revoke_all(*, user: User) -> int:
    """Revoke every active API token of the user; how many were active."""
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=clock.now()
    )


def _hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedApiToken:
    token: ApiToken
    secret: str  # shown to the user once, never stored


@transaction.atomic
def api_token_create(
    *, user: User, name: str, second_factor_verified: bool = False
) -> IssuedApiToken:
    """A new token, shown once. `second_factor_verified`: minted by someone who passed the
    second factor (a staff token without it is refused for everything; accounts.gate)."""
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
        user=user,
        name=name,
        prefix=secret[:12],
        key_hash=_hash_token(secret),
        second_factor_verified=second_factor_verified,
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
    """The user behind an active token, or None."""
    token = api_token_find_active(secret=secret)
    return None if token is None else token.user


def api_token_find_active(*, secret: str) -> ApiToken | None:
    """The active token with this secret (its user loaded), or None. Touches last_used_at at
    most once a minute."""
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
    return token
