"""API tokens: shown once, stored hashed, revocable, bounded in number."""

import hashlib

import pytest

from ishibashi.accounts.models import ApiToken
from ishibashi.accounts.services import api_token_authenticate, api_token_create, api_token_revoke
from ishibashi.core import limits
from ishibashi.core.errors import ApplicationError


def test_a_token_is_stored_only_as_its_hash(make_user):
    user = make_user()

    issued = api_token_create(user=user, name="会計ソフト連携")

    stored = ApiToken.objects.get(pk=issued.token.pk)
    assert issued.secret.startswith("ish_")
    assert stored.key_hash == hashlib.sha256(issued.secret.encode()).hexdigest()
    assert issued.secret not in {stored.key_hash, stored.prefix, stored.name}
    assert api_token_authenticate(secret=issued.secret) == user


def test_a_revoked_token_no_longer_authenticates(make_user):
    issued = api_token_create(user=make_user(), name="CI")

    api_token_revoke(user=issued.token.user, token_id=issued.token.pk)

    assert api_token_authenticate(secret=issued.secret) is None


def test_nobody_can_revoke_someone_elses_token(make_user):
    owner, other = make_user(), make_user()
    issued = api_token_create(user=owner, name="CI")

    with pytest.raises(ApplicationError) as refusal:
        api_token_revoke(user=other, token_id=issued.token.pk)

    assert refusal.value.code == "not_found"
    assert api_token_authenticate(secret=issued.secret) == owner


def test_last_used_is_written_at_most_once_a_minute(make_user, time_machine):
    time_machine.move_to("2026-11-23 10:00:00+09:00", tick=False)
    issued = api_token_create(user=make_user(), name="CI")

    api_token_authenticate(secret=issued.secret)
    first = ApiToken.objects.get(pk=issued.token.pk).last_used_at
    time_machine.shift(30)
    api_token_authenticate(secret=issued.secret)
    unchanged = ApiToken.objects.get(pk=issued.token.pk).last_used_at
    time_machine.shift(31)
    api_token_authenticate(secret=issued.secret)
    moved = ApiToken.objects.get(pk=issued.token.pk).last_used_at

    assert first is not None
    assert unchanged == first
    assert (moved - first).total_seconds() == 61


def test_a_person_has_a_bounded_number_of_active_tokens(make_user):
    user = make_user()
    for n in range(limits.API_TOKENS_PER_USER_MAX):
        api_token_create(user=user, name=f"token {n}")

    with pytest.raises(ApplicationError) as refusal:
        api_token_create(user=user, name="one too many")

    assert refusal.value.code == "too_many_tokens"
    assert ApiToken.objects.filter(user=user).count() == limits.API_TOKENS_PER_USER_MAX


@pytest.mark.parametrize("name", ["", "   ", "x" * 61, "bad\x00name"])
def test_a_token_needs_a_usable_name(make_user, name):
    user = make_user()

    with pytest.raises(ApplicationError) as refusal:
        api_token_create(user=user, name=name)

    assert refusal.value.field == "name"
    assert ApiToken.objects.count() == 0


@pytest.mark.parametrize("secret", ["", "ish_", "not-a-token", "ish_" + "a" * 200])
def test_malformed_secrets_authenticate_nobody(db, secret):
    assert api_token_authenticate(secret=secret) is None
