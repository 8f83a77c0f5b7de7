"""The accounts API: status codes, the error shape, languages, and who may do what."""

import json

import pytest

from conftest import STRONG_PASSWORD
from ishibashi.accounts.models import ApiToken, LoginFailure, User


def post(api, path, body, **headers):
    return api.post(path, json.dumps(body), content_type="application/json", **headers)


SIGNUP = {
    "email": "worker@example.jp",
    "password": STRONG_PASSWORD,
    "display_name": "田中 美咲",
    "roles": ["worker"],
}


def test_signup_answers_check_your_inbox_and_makes_an_unverified_account(api, db):
    response = post(api, "/api/v1/auth/signup", SIGNUP)

    assert response.status_code == 202
    assert "メール" in response.json()["detail"]
    assert set(response.json()) == {"detail"}
    user = User.objects.get(email="worker@example.jp")
    assert (user.is_worker, user.is_client) == (True, False)
    assert user.email_verified_at is None


def test_errors_are_japanese_by_default_and_english_on_request(api, db):
    weak = {**SIGNUP, "password": "short"}

    ja = post(api, "/api/v1/auth/signup", weak)
    en = post(api, "/api/v1/auth/signup", weak, HTTP_ACCEPT_LANGUAGE="en")

    assert ja.status_code == en.status_code == 422
    assert ja.json()["code"] == en.json()["code"] == "invalid_input"
    assert ja.json()["field"] == en.json()["field"] == "password"
    assert "短すぎ" in ja.json()["message"]
    assert "too short" in en.json()["message"]
    assert User.objects.count() == 0


@pytest.mark.parametrize(
    ("_case", "body", "status", "code", "field"),
    [
        ("malformed e-mail", {**SIGNUP, "email": "worker@"}, 422, "invalid_input", "email"),
        (
            "over-long name",
            {**SIGNUP, "display_name": "長" * 51},
            422,
            "invalid_input",
            "display_name",
        ),
        ("unknown role", {**SIGNUP, "roles": ["admin"]}, 422, "invalid_input", "roles"),
        ("no roles", {**SIGNUP, "roles": []}, 422, "invalid_input", "roles"),
        (
            "missing password",
            {k: v for k, v in SIGNUP.items() if k != "password"},
            422,
            "invalid_input",
            "password",
        ),
        ("wrong type", {**SIGNUP, "display_name": 42}, 422, "invalid_input", "display_name"),
    ],
)
def test_bad_signups_get_a_clear_error_and_change_nothing(
    api, make_user, _case, body, status, code, field
):
    make_user(email="worker@example.jp", display_name="先に登録した人")

    response = post(api, "/api/v1/auth/signup", body)

    assert response.status_code == status
    assert response.json()["code"] == code
    assert response.json()["field"] == field
    assert response.json()["message"]
    assert User.objects.count() == 1


def test_malformed_json_is_a_400_not_a_crash(api, db):
    response = api.post("/api/v1/auth/signup", "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"


def test_a_token_from_email_and_password_opens_me(api, make_user):
    make_user(email="worker@example.jp")

    issued = post(
        api,
        "/api/v1/auth/token",
        {"email": "worker@example.jp", "password": STRONG_PASSWORD, "name": "cli"},
    )
    me = api.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {issued.json()['token']}")

    assert issued.status_code == 201
    assert me.status_code == 200
    assert me.json()["email"] == "worker@example.jp"


def test_a_wrong_password_gets_no_token(api, make_user):
    make_user(email="worker@example.jp")

    response = post(
        api, "/api/v1/auth/token", {"email": "worker@example.jp", "password": "nope-nope-nope"}
    )

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"
    assert ApiToken.objects.count() == 0


def test_a_locked_account_gets_429_with_retry_after(api, make_user):
    make_user(email="worker@example.jp")
    for _ in range(5):
        response = post(
            api, "/api/v1/auth/token", {"email": "worker@example.jp", "password": "nope-nope-nope"}
        )

    assert response.status_code == 429
    assert response.json()["code"] == "login_locked"
    assert response["Retry-After"] == "60"


@pytest.mark.parametrize(
    ("_case", "header", "code"),
    [
        ("no token", None, "not_authenticated"),
        ("malformed token", "Bearer ish_nonsense", "invalid_token"),
        ("not bearer", "Basic dXNlcjpwYXNz", "not_authenticated"),
    ],
)
def test_me_without_a_valid_token_is_401(api, db, _case, header, code):
    headers = {"HTTP_AUTHORIZATION": header} if header else {}

    response = api.get("/api/v1/me", **headers)

    assert response.status_code == 401
    assert response.json()["code"] in {code, "not_authenticated", "invalid_token"}
    if header is None or header.startswith("Bearer"):
        assert response.json()["code"] == code


def test_a_revoked_token_is_401(api, make_user, token_for):
    user = make_user()
    secret = token_for(user)
    token = ApiToken.objects.get(user=user)

    revoke = api.delete(f"/api/v1/me/tokens/{token.pk}", HTTP_AUTHORIZATION=f"Bearer {secret}")
    after = api.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}")

    assert revoke.status_code == 200
    assert revoke.json()["revoked_at"] is not None
    assert after.status_code == 401
    assert after.json()["code"] == "invalid_token"


def test_patch_me_changes_only_what_is_sent(api, make_user, token_for):
    user = make_user(display_name="元の名前")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token_for(user)}"}

    response = api.patch(
        "/api/v1/me",
        json.dumps({"bio": "WordPress とサーバー移行", "roles": ["client"]}),
        content_type="application/json",
        **auth,
    )

    assert response.status_code == 200
    assert response.json()["display_name"] == "元の名前"
    assert response.json()["roles"] == ["client"]
    stored = User.objects.get(pk=user.pk)
    assert (stored.bio, stored.is_client, stored.is_worker) == (
        "WordPress とサーバー移行",
        True,
        False,
    )


def test_patch_me_with_a_bad_field_changes_nothing(api, make_user, token_for):
    user = make_user(display_name="元の名前")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token_for(user)}"}

    response = api.patch(
        "/api/v1/me",
        json.dumps({"display_name": "新しい名前", "invoice_registration_number": "X1"}),
        content_type="application/json",
        **auth,
    )

    assert response.status_code == 422
    assert response.json()["field"] == "invoice_registration_number"
    assert User.objects.get(pk=user.pk).display_name == "元の名前"


def test_a_browser_session_needs_csrf_to_write_through_the_api(make_user):
    from django.test import Client

    user = make_user(display_name="元の名前")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)

    read = browser.get("/api/v1/me")
    write = browser.patch(
        "/api/v1/me", json.dumps({"display_name": "乗っ取り"}), content_type="application/json"
    )

    assert read.status_code == 200
    assert write.status_code == 403
    assert write.json()["code"] == "csrf_failed"
    assert User.objects.get(pk=user.pk).display_name == "元の名前"


def test_password_change_through_the_api(api, make_user, token_for):
    user = make_user()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token_for(user)}"}

    wrong = post(
        api,
        "/api/v1/me/password",
        {"current_password": "x", "new_password": "atarashii-pass-99"},
        **auth,
    )
    right = post(
        api,
        "/api/v1/me/password",
        {"current_password": STRONG_PASSWORD, "new_password": "atarashii-pass-99"},
        **auth,
    )

    assert wrong.status_code == 422
    assert wrong.json()["code"] == "invalid_credentials"
    assert right.status_code == 200
    assert User.objects.get(pk=user.pk).check_password("atarashii-pass-99") is True


def test_password_reset_answers_the_same_for_known_and_unknown_addresses(
    api, make_user, mailoutbox
):
    make_user(email="worker@example.jp")

    known = post(api, "/api/v1/auth/password-reset", {"email": "worker@example.jp"})
    unknown = post(api, "/api/v1/auth/password-reset", {"email": "nobody@example.jp"})

    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()


def test_token_list_and_create_through_the_api(api, make_user, token_for):
    user = make_user()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token_for(user)}"}

    created = post(api, "/api/v1/me/tokens", {"name": "デプロイ"}, **auth)
    listed = api.get("/api/v1/me/tokens", **auth)

    assert created.status_code == 201
    assert created.json()["token"].startswith("ish_")
    assert [t["name"] for t in listed.json()] == ["デプロイ", "test"]
    assert all("token" not in t and "key_hash" not in t for t in listed.json())


def test_public_profile_shows_no_private_fields(api, make_user):
    user = make_user(email="secret@example.jp")

    response = api.get(f"/api/v1/users/{user.pk}")
    missing = api.get("/api/v1/users/999999")

    assert response.status_code == 200
    assert "email" not in response.json()
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"


def test_a_staff_only_account_has_no_public_profile_to_single_it_out(api, db):
    operator = User.objects.create_superuser(
        email="ops@example.jp", password=STRONG_PASSWORD, display_name="山田"
    )

    staff = api.get(f"/api/v1/users/{operator.pk}")
    page = api.get(f"/accounts/users/{operator.pk}/")
    unknown = api.get("/api/v1/users/999999")

    assert staff.status_code == unknown.status_code == 404
    assert staff.json() == unknown.json()
    assert page.status_code == 404


def test_openapi_lists_the_auth_endpoints(api, db):
    spec = api.get("/api/v1/openapi.json").json()

    assert {"/api/v1/auth/signup", "/api/v1/auth/token", "/api/v1/me"} <= set(spec["paths"])
    assert set(spec["paths"]["/api/v1/me"]) == {"get", "patch"}


@pytest.mark.django_db
def test_behind_the_proxy_one_guesser_does_not_lock_out_everyone(api, make_user, settings):
    # given: production behind nginx, every request arrives from the proxy's address
    settings.TRUSTED_PROXY_COUNT = 1
    make_user(email="victim@example.jp")
    for n in range(30):
        post(
            api,
            "/api/v1/auth/token",
            {"email": f"guess{n}@example.jp", "password": "nope-nope-nope", "name": "x"},
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR="192.0.2.66",
        )

    # when: another customer logs in through the same proxy
    response = post(
        api,
        "/api/v1/auth/token",
        {"email": "victim@example.jp", "password": STRONG_PASSWORD, "name": "laptop"},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="203.0.113.9",
    )
    guesser = post(
        api,
        "/api/v1/auth/token",
        {"email": "victim@example.jp", "password": STRONG_PASSWORD, "name": "x"},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="192.0.2.66",
    )

    # then
    assert response.status_code == 201
    assert guesser.status_code == 429


def test_the_unlock_endpoint_clears_the_failures_named_by_the_link(api, make_user, mailoutbox):
    make_user(email="worker@example.jp")
    for n in range(10):
        post(
            api,
            "/api/v1/auth/token",
            {"email": "worker@example.jp", "password": "nope-nope-nope", "name": "x"},
            REMOTE_ADDR=f"192.0.2.{n + 1}",
        )
    token = mailoutbox[0].body.split("/accounts/login/unlock/")[1].split("/")[0]

    bad = post(api, "/api/v1/auth/login-unlock", {"token": token + "x"})
    good = post(api, "/api/v1/auth/login-unlock", {"token": token})

    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid_unlock_link"
    assert good.status_code == 200
    assert LoginFailure.objects.count() == 0
