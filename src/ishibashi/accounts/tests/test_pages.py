"""Account pages: Japanese first, the same rules and messages as the API."""

import pytest
from django.test import Client

from conftest import STRONG_PASSWORD
from ishibashi.accounts.models import ApiToken, LoginFailure, User
from ishibashi.core import limits


@pytest.fixture
def web():
    return Client()


def test_home_page_explains_the_protections_in_japanese(web, db):
    response = web.get("/")

    text = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="ja">' in text
    assert "仮払い" in text
    assert "自動" in text


def test_english_is_one_click_away(web, db):
    web.post("/i18n/setlang/", {"language": "en", "next": "/"})

    text = web.get("/").content.decode()

    assert '<html lang="en">' in text
    assert "Escrow before work" in text


def test_signup_page_creates_the_account_and_says_check_your_inbox(web, db):
    response = web.post(
        "/accounts/signup/",
        {
            "display_name": "佐藤 健",
            "email": "sato@example.jp",
            "password": STRONG_PASSWORD,
            "entity_type": "individual",
            "roles": ["worker"],
        },
        follow=True,
    )

    assert response.status_code == 200
    assert not response.context["user"].is_authenticated
    assert "受信箱を確認してください" in response.content.decode()
    assert User.objects.get(email="sato@example.jp").display_name == "佐藤 健"


def test_signup_page_shows_the_service_message_next_to_the_field(web, make_user):
    make_user(email="sato@example.jp")

    response = web.post(
        "/accounts/signup/",
        {
            "display_name": "運営 事務局",
            "email": "kato@example.jp",
            "password": STRONG_PASSWORD,
            "entity_type": "individual",
            "roles": ["worker"],
        },
    )

    assert response.status_code == 200
    assert response.context["form"].errors["display_name"] == [
        "この表示名は運営用のため使えません（運営・公式・Ishibashi など）。"
    ]
    assert User.objects.count() == 1


def test_login_page_shows_the_lockout_message(web, make_user):
    make_user(email="sato@example.jp")
    for _ in range(5):
        response = web.post(
            "/accounts/login/", {"email": "sato@example.jp", "password": "nope-nope-nope"}
        )

    errors = response.context["form"].non_field_errors()
    assert "一時停止" in errors[0]
    assert "1分後" in errors[0]
    assert "_auth_user_id" not in web.session


def test_the_unlock_page_lifts_the_pause_only_when_its_button_is_pressed(
    web, make_user, mailoutbox
):
    # given: the owner's own address is paused and the alarm mailed them a link
    make_user(email="sato@example.jp")
    for n in range(limits.LOGIN_FAILURES_ACCOUNT_ALARM):
        web.post(
            "/accounts/login/",
            {"email": "sato@example.jp", "password": "nope-nope-nope"},
            REMOTE_ADDR=f"192.0.2.{n // 5 + 1}",
        )
    path = (
        "/accounts/login/unlock/"
        + mailoutbox[0].body.split("/accounts/login/unlock/")[1].split()[0]
    )

    # when: a mail scanner opens the link
    shown = web.get(path)

    # then: nothing is lifted yet
    assert "一時停止を解除する" in shown.content.decode()
    assert LoginFailure.objects.count() == limits.LOGIN_FAILURES_ACCOUNT_ALARM

    # when: the owner presses the button
    lifted = web.post(path, follow=True)

    # then
    assert LoginFailure.objects.count() == 0
    assert "解除しました" in lifted.content.decode()
    logged_in = web.post(
        "/accounts/login/",
        {"email": "sato@example.jp", "password": STRONG_PASSWORD},
        REMOTE_ADDR="192.0.2.1",
    )
    assert logged_in.status_code == 302


def test_a_broken_unlock_link_says_so_and_offers_a_reset(web, db):
    response = web.get("/accounts/login/unlock/garbage/")

    assert response.status_code == 200
    assert "無効" in response.content.decode()
    assert "/accounts/password/reset/" in response.content.decode()


def test_login_redirects_only_to_this_site(web, make_user):
    make_user(email="sato@example.jp")

    response = web.post(
        "/accounts/login/",
        {"email": "sato@example.jp", "password": STRONG_PASSWORD, "next": "https://evil.example/"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/accounts/profile/"


def test_logout_needs_post(web, make_user):
    web.force_login(make_user())

    assert web.get("/accounts/logout/").status_code == 405
    web.post("/accounts/logout/")
    assert "_auth_user_id" not in web.session


def test_profile_pages_need_a_log_in(web, db):
    response = web.get("/accounts/profile/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_profile_edit_saves_and_refuses_like_the_api(web, make_user):
    user = make_user(display_name="元の名前")
    web.force_login(user)
    form = {
        "display_name": "新しい名前",
        "entity_type": "individual",
        "roles": ["worker"],
        "bio": "",
        "skills": "Linux、サーバー移行",
        "invoice_registration_number": "T12",
        "preferred_language": "ja",
    }

    refused = web.post("/accounts/profile/edit/", form)
    saved = web.post("/accounts/profile/edit/", {**form, "invoice_registration_number": ""})

    assert refused.status_code == 200
    assert "invoice_registration_number" in refused.context["form"].errors
    assert saved.status_code == 302
    stored = User.objects.get(pk=user.pk)
    assert stored.display_name == "新しい名前"
    assert stored.skills == ["Linux", "サーバー移行"]


def test_token_page_shows_the_secret_once_and_revokes_with_htmx(web, make_user):
    user = make_user()
    web.force_login(user)

    created = web.post("/accounts/tokens/", {"name": "会計ソフト"})
    token = ApiToken.objects.get(user=user)
    listed_again = web.get("/accounts/tokens/")
    revoked = web.post(f"/accounts/tokens/{token.pk}/revoke/", HTTP_HX_REQUEST="true")

    secret = created.context["issued"].secret
    assert secret in created.content.decode()
    assert secret not in listed_again.content.decode()
    assert revoked.status_code == 200
    assert "無効化済み" in revoked.content.decode()
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None


def test_password_reset_pages_set_a_new_password(
    web, make_user, mailoutbox, django_capture_on_commit_callbacks
):
    import re

    user = make_user(email="sato@example.jp")
    with django_capture_on_commit_callbacks(execute=True):
        web.post("/accounts/password/reset/", {"email": "sato@example.jp"})
    path = re.search(r"https?://[^/]+(/accounts/password/reset/\S+/)", mailoutbox[0].body).group(1)

    form_page = web.get(path)
    done = web.post(path, {"new_password": "atarashii-pass-99"})
    reused = web.get(path)

    assert form_page.status_code == 200
    assert done.status_code == 302
    assert User.objects.get(pk=user.pk).check_password("atarashii-pass-99") is True
    assert reused.context["link_error"]


def test_unknown_public_profile_is_a_404_page(web, db):
    response = web.get("/accounts/users/999999/")

    assert response.status_code == 404


def test_a_logged_in_person_is_sent_from_sign_up_to_the_profile(web, make_user):
    web.force_login(make_user())

    assert web.get("/accounts/signup/")["Location"] == "/accounts/profile/"
    assert web.get("/accounts/login/")["Location"] == "/accounts/profile/"
