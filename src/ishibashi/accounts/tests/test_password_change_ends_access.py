"""A new password ends the old access: tokens on a reset (and on a change, unless asked not to),
the owner is told by mail, and guessing the current password counts toward the lock-out."""

import json
import re

from django.test import Client

from conftest import STRONG_PASSWORD
from ishibashi.accounts import services
from ishibashi.accounts.models import ApiToken

NEW = "atarashii-pass-99"


def _change(token, body):
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}").post(
        "/api/v1/me/password", json.dumps(body), content_type="application/json"
    )


def test_a_change_revokes_every_token_and_mails_the_owner(
    make_user, token_for, mailoutbox, django_capture_on_commit_callbacks
):
    user = make_user(email="owner@example.jp")
    token, other = token_for(user), token_for(user)

    with django_capture_on_commit_callbacks(execute=True):
        response = _change(token, {"current_password": STRONG_PASSWORD, "new_password": NEW})
    after = Client(HTTP_AUTHORIZATION=f"Bearer {other}").get("/api/v1/me")

    assert response.status_code == 200
    assert after.status_code == 401
    assert ApiToken.objects.filter(user=user, revoked_at__isnull=True).count() == 0
    assert [m.to for m in mailoutbox] == [["owner@example.jp"]]
    assert "2" in mailoutbox[0].body  # two tokens revoked, said in the mail


def test_a_change_may_keep_the_tokens(
    make_user, token_for, mailoutbox, django_capture_on_commit_callbacks
):
    user = make_user()
    token = token_for(user)

    with django_capture_on_commit_callbacks(execute=True):
        response = _change(
            token,
            {
                "current_password": STRONG_PASSWORD,
                "new_password": NEW,
                "sign_out_everywhere": False,
            },
        )
    after = Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/v1/me")

    assert response.status_code == 200
    assert after.status_code == 200
    assert len(mailoutbox) == 1


def test_a_reset_revokes_every_token(
    make_user, token_for, mailoutbox, django_capture_on_commit_callbacks
):
    user = make_user(email="reset@example.jp")
    token = token_for(user)
    with django_capture_on_commit_callbacks(execute=True):
        services.password_reset_request(email="reset@example.jp")
    uid, reset_token = re.search(r"/password/reset/([^/]+)/([^/]+)/", mailoutbox[0].body).groups()

    services.password_reset_confirm(uidb64=uid, token=reset_token, new_password=NEW)
    after = Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/v1/me")

    assert after.status_code == 401


def test_guessing_the_current_password_counts_toward_the_lock_out(make_user, token_for):
    user = make_user(email="guess@example.jp")
    token = token_for(user)

    answers = [
        _change(token, {"current_password": f"guess-{n}", "new_password": NEW}).status_code
        for n in range(6)
    ]
    right_now = _change(token, {"current_password": STRONG_PASSWORD, "new_password": NEW})
    login = Client().post(
        "/api/v1/auth/token",
        json.dumps({"email": "guess@example.jp", "password": STRONG_PASSWORD, "name": "x"}),
        content_type="application/json",
    )

    assert answers[:4] == [422] * 4
    assert 429 in answers[4:]
    assert right_now.status_code == 429  # locked: even the right password waits
    assert login.status_code == 429
    user.refresh_from_db()
    assert user.check_password(STRONG_PASSWORD)


def test_the_page_offers_sign_out_everywhere_checked(make_user):
    user = make_user()
    web = Client()
    web.force_login(user)

    page = web.get("/accounts/password/")

    assert page.status_code == 200
    assert re.search(r'name="sign_out_everywhere"[^>]*checked', page.content.decode())
