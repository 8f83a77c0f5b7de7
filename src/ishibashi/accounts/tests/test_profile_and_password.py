"""Profile edits and passwords: valid changes stick, invalid ones change nothing."""

import re

import pytest

from conftest import STRONG_PASSWORD
from ishibashi.accounts.models import User
from ishibashi.accounts.services import (
    password_reset_confirm,
    password_reset_request,
    user_authenticate,
    user_password_change,
    user_profile_update,
)
from ishibashi.core.errors import ApplicationError


def test_profile_update_saves_cleaned_values(make_user):
    user = make_user()

    user_profile_update(
        user=user,
        changes={
            "bio": "  サーバー移行が得意です。\n深夜対応も可能です。 ",
            "skills": [" Linux", "サーバー移行", "Linux", ""],
            "invoice_registration_number": "t1234567890123",
            "entity_type": "corporation",
            "has_employees": True,
        },
    )

    stored = User.objects.get(pk=user.pk)
    assert stored.bio == "サーバー移行が得意です。\n深夜対応も可能です。"
    assert stored.skills == ["Linux", "サーバー移行"]
    assert stored.invoice_registration_number == "T1234567890123"
    assert stored.entity_type == "corporation"
    assert stored.has_employees is True


@pytest.mark.parametrize(
    ("_case", "changes", "field"),
    [
        (
            "invoice number too short",
            {"invoice_registration_number": "T123"},
            "invoice_registration_number",
        ),
        (
            "invoice number without T",
            {"invoice_registration_number": "1234567890123"},
            "invoice_registration_number",
        ),
        ("no role left", {"is_client": False, "is_worker": False}, "roles"),
        ("unknown field", {"is_staff": True}, "is_staff"),
        ("null name", {"display_name": None}, "display_name"),
        ("too many skills", {"skills": [f"skill{n}" for n in range(31)]}, "skills"),
        ("bio too long", {"bio": "あ" * 2001}, "bio"),
    ],
)
def test_invalid_profile_changes_change_nothing(make_user, _case, changes, field):
    user = make_user(display_name="元の名前")

    with pytest.raises(ApplicationError) as refusal:
        user_profile_update(user=user, changes={"display_name": "新しい名前", **changes})

    assert refusal.value.field == field
    stored = User.objects.get(pk=user.pk)
    assert stored.display_name == "元の名前"
    assert (stored.is_client, stored.is_worker, stored.is_staff) == (True, True, False)


def test_password_change_needs_the_current_password(make_user):
    user = make_user()

    with pytest.raises(ApplicationError) as refusal:
        user_password_change(user=user, current_password="wrong", new_password="atarashii-pass-99")

    assert refusal.value.field == "current_password"
    assert User.objects.get(pk=user.pk).check_password(STRONG_PASSWORD) is True


def test_password_change_refuses_a_weak_new_password(make_user):
    user = make_user()

    with pytest.raises(ApplicationError) as refusal:
        user_password_change(user=user, current_password=STRONG_PASSWORD, new_password="password")

    assert refusal.value.field == "new_password"
    assert User.objects.get(pk=user.pk).check_password(STRONG_PASSWORD) is True


def _reset_link_parts(mail):
    match = re.search(r"/accounts/password/reset/([^/]+)/([^/]+)/", mail.body)
    assert match, mail.body
    return match.group(1), match.group(2)


def test_password_reset_mails_a_link_that_works_once(
    make_user, mailoutbox, django_capture_on_commit_callbacks
):
    # given
    user = make_user(email="worker@example.jp")
    with django_capture_on_commit_callbacks(execute=True):
        password_reset_request(email="WORKER@example.jp")
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["worker@example.jp"]
    assert "パスワード" in mailoutbox[0].subject
    uid, token = _reset_link_parts(mailoutbox[0])

    # when
    password_reset_confirm(uidb64=uid, token=token, new_password="atarashii-pass-99")

    # then
    assert (
        user_authenticate(email="worker@example.jp", password="atarashii-pass-99", ip_address=None)
        == user
    )
    with pytest.raises(ApplicationError) as reuse:
        password_reset_confirm(uidb64=uid, token=token, new_password="mou-ichido-pass-77")
    assert reuse.value.code == "invalid_reset_link"


def test_password_reset_for_an_unknown_address_sends_nothing(
    db, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        password_reset_request(email="nobody@example.jp")

    assert mailoutbox == []


def test_password_reset_mail_follows_the_users_language(
    make_user, mailoutbox, django_capture_on_commit_callbacks
):
    make_user(email="en@example.jp", preferred_language="en")

    with django_capture_on_commit_callbacks(execute=True):
        password_reset_request(email="en@example.jp")

    assert mailoutbox[0].subject == "[Ishibashi] Reset your password"


@pytest.mark.parametrize(("uid", "token"), [("bad", "bad"), ("MQ", "1-abc"), ("", "")])
def test_a_forged_reset_link_is_refused(make_user, uid, token):
    user = make_user()

    with pytest.raises(ApplicationError) as refusal:
        password_reset_confirm(uidb64=uid, token=token, new_password="atarashii-pass-99")

    assert refusal.value.code == "invalid_reset_link"
    assert User.objects.get(pk=user.pk).check_password(STRONG_PASSWORD) is True
