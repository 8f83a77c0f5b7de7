"""Staff second factor: nothing a staff member can do works before a code from their app."""

import json
import re
from datetime import timedelta

import pyotp
import pytest
from django.test import Client
from django.utils import translation

from conftest import STRONG_PASSWORD, log_in, totp_code
from ishibashi.accounts.models import ApiToken, RecoveryCode, SecondFactorFailure, TotpDevice
from ishibashi.accounts.services import (
    api_token_create,
    second_factor_verify,
    totp_enrolment_start,
)
from ishibashi.accounts.services.two_factor import WRONG_CODE
from ishibashi.core import limits
from ishibashi.core.errors import ApplicationError

BOOKS_PAGE = "/operations/books/"
with translation.override("ja"):
    WRONG_CODE_JA = str(WRONG_CODE)
BOOKS_API = "/api/v1/operations/books"
ADMIN = "/operator/admin/"


@pytest.fixture(autouse=True)
def _clock(time_machine):
    time_machine.move_to("2026-11-23 10:00:10+09:00", tick=False)


def _bearer(secret):
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def _verify(user, code, ip="192.0.2.10"):
    return second_factor_verify(user=user, code=code, ip_address=ip)


def _refusal(user, code):
    with pytest.raises(ApplicationError) as refusal:
        _verify(user, code)
    return refusal.value


# --- the gate ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", [BOOKS_PAGE, ADMIN, "/operator/admin/accounts/user/", "/accounts/profile/", "/jobs/"]
)
def test_a_staff_session_without_the_code_is_sent_to_the_second_factor(make_staff, path):
    web = Client()
    web.force_login(make_staff())

    response = web.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/two-factor/?next=")


def test_staff_without_an_app_are_sent_to_enrolment_first(make_staff):
    web = Client()
    web.force_login(make_staff(enrolled=False))

    first = web.get(BOOKS_PAGE)
    second = web.get(first["Location"])

    assert second.status_code == 302
    assert second["Location"] == "/accounts/security/?next=%2Foperations%2Fbooks%2F"
    assert web.get(second["Location"]).status_code == 200


def test_the_staff_api_refuses_a_session_without_the_code(make_staff):
    web = Client()
    web.force_login(make_staff())

    response = web.get(BOOKS_API)

    assert response.status_code == 403
    assert response.json()["code"] == "second_factor_required"


def test_the_staff_api_refuses_a_token_minted_without_the_code(make_staff):
    staff = make_staff()
    secret = api_token_create(user=staff, name="old").secret

    response = Client().get(BOOKS_API, **_bearer(secret))

    assert response.status_code == 403
    assert response.json()["code"] == "second_factor_required"
    # Not only the operator API: a staff token is refused everywhere, as a staff session is.
    assert Client().get("/api/v1/me", **_bearer(secret)).status_code == 403


def test_a_token_with_the_code_is_refused_once_two_factor_is_turned_off(make_staff):
    staff = make_staff()
    secret = api_token_create(user=staff, name="ops", second_factor_verified=True).secret
    assert Client().get(BOOKS_API, **_bearer(secret)).status_code == 200

    TotpDevice.objects.filter(user=staff).delete()

    assert Client().get(BOOKS_API, **_bearer(secret)).status_code == 403


def test_a_staff_session_that_passed_reaches_the_operator_area(make_staff):
    web = log_in(Client(), make_staff())

    assert web.get(BOOKS_PAGE).status_code == 200
    assert web.get(ADMIN).status_code == 200
    assert web.get(BOOKS_API).status_code == 200


def test_people_who_are_not_staff_are_unaffected(make_user):
    web = Client()
    person = make_user(email="worker@example.jp")

    response = web.post("/accounts/login/", {"email": person.email, "password": STRONG_PASSWORD})

    assert response["Location"] == "/accounts/profile/"
    assert web.get("/accounts/profile/").status_code == 200
    assert web.get("/accounts/security/").status_code == 404
    assert web.get("/accounts/two-factor/").status_code == 404
    token = Client().post(
        "/api/v1/auth/token",
        {"email": person.email, "password": STRONG_PASSWORD},
        content_type="application/json",
    )
    assert token.status_code == 201
    assert token.json()["second_factor_verified"] is False


# --- log-in: password, then code --------------------------------------------------------------


def test_a_staff_log_in_asks_for_the_code_then_lets_in(make_staff):
    # given
    staff = make_staff(email="ops@example.jp")
    web = Client()

    # when: the password
    step_one = web.post(
        f"/accounts/login/?next={BOOKS_PAGE}",
        {"email": "ops@example.jp", "password": STRONG_PASSWORD, "next": BOOKS_PAGE},
    )

    # then: the second step, and nothing else yet
    assert step_one["Location"] == "/accounts/two-factor/?next=%2Foperations%2Fbooks%2F"
    assert web.get(BOOKS_PAGE).status_code == 302

    # when: a wrong code, then the right one
    wrong = web.post("/accounts/two-factor/", {"code": "000000", "next": BOOKS_PAGE})
    right = web.post("/accounts/two-factor/", {"code": totp_code(staff), "next": BOOKS_PAGE})

    # then
    assert wrong.status_code == 200
    assert WRONG_CODE_JA in wrong.content.decode()
    assert right["Location"] == BOOKS_PAGE
    assert web.get(BOOKS_PAGE).status_code == 200


def test_the_session_key_changes_when_the_code_is_accepted(make_staff):
    staff = make_staff()
    web = Client()
    web.force_login(staff)
    before = web.session.session_key

    web.post("/accounts/two-factor/", {"code": totp_code(staff)})

    assert web.session.session_key != before


# --- codes ------------------------------------------------------------------------------------


def test_a_code_is_accepted_once(make_staff):
    staff = make_staff()
    code = totp_code(staff)

    assert _verify(staff, code).method == "totp"
    refusal = _refusal(staff, code)

    assert refusal.code == "second_factor_code_reused"
    assert SecondFactorFailure.objects.filter(user=staff).count() == 0


@pytest.mark.parametrize(("_case", "steps", "accepted"), [
    ("one step early (a fast phone clock)", 1, True),
    ("one step late (typed slowly)", -1, False),  # make_staff used step -1 at enrolment
    ("two steps late", -2, False),
    ("two steps early", 2, False),
])  # fmt: skip
def test_codes_one_step_off_are_accepted_further_ones_are_not(make_staff, _case, steps, accepted):
    staff = make_staff()
    code = totp_code(staff, steps_from_now=steps)

    if accepted:
        assert _verify(staff, code).method == "totp"
    else:
        assert _refusal(staff, code).code in {"invalid_second_factor", "second_factor_code_reused"}


def test_a_code_from_the_previous_step_is_accepted_when_unused(make_staff, time_machine):
    staff = make_staff()
    time_machine.shift(timedelta(seconds=30))

    assert _verify(staff, totp_code(staff, steps_from_now=-1)).method == "totp"


def test_wrong_codes_lock_the_second_factor_even_for_the_right_code(make_staff):
    # given
    staff = make_staff()
    step_before = TotpDevice.objects.get(user=staff).last_used_step
    codes = [_refusal(staff, "000000").code for _ in range(limits.SECOND_FACTOR_FAILURES_MAX)]

    # when
    refusal = _refusal(staff, totp_code(staff))

    # then
    assert codes == ["invalid_second_factor"] * 4 + ["second_factor_locked"]
    assert refusal.code == "second_factor_locked"
    assert refusal.http_status == 429
    assert refusal.extra["retry_after_seconds"] == 15 * 60
    assert TotpDevice.objects.get(user=staff).last_used_step == step_before


def test_a_right_password_does_not_clear_the_code_failures(make_staff):
    """Whoever has the password could otherwise log in again and guess on without end."""
    staff = make_staff(email="ops@example.jp")
    web = Client()
    for _ in range(limits.SECOND_FACTOR_FAILURES_MAX - 1):
        web.post("/accounts/login/", {"email": "ops@example.jp", "password": STRONG_PASSWORD})
        web.post("/accounts/two-factor/", {"code": "123456"})
        web.post("/accounts/logout/")

    web.post("/accounts/login/", {"email": "ops@example.jp", "password": STRONG_PASSWORD})
    last = web.post("/accounts/two-factor/", {"code": "123456"})
    after = web.post("/accounts/two-factor/", {"code": totp_code(staff)})

    assert "ロックしました" in last.content.decode()
    assert after.status_code == 200
    assert web.get(BOOKS_PAGE).status_code == 302


def test_the_lock_lifts_after_the_window(make_staff, time_machine):
    staff = make_staff()
    for _ in range(limits.SECOND_FACTOR_FAILURES_MAX):
        _refusal(staff, "000000")

    time_machine.shift(limits.SECOND_FACTOR_FAILURE_WINDOW + timedelta(seconds=1))

    assert _verify(staff, totp_code(staff)).method == "totp"
    assert SecondFactorFailure.objects.filter(user=staff).count() == 0


def test_bad_shapes_and_empty_codes(make_staff):
    staff = make_staff()

    assert _refusal(staff, "   ").code == "invalid_input"
    assert _refusal(staff, "x" * 10_000).code == "invalid_second_factor"
    assert _refusal(staff, "１２３４５６").code == "invalid_second_factor"
    assert SecondFactorFailure.objects.filter(user=staff).count() == 2


# --- enrolment on the page --------------------------------------------------------------------


def test_enrolment_on_the_security_page_with_a_real_code(make_staff):
    # given: staff without an app, logged in with the password
    staff = make_staff(enrolled=False)
    web = Client()
    web.force_login(staff)

    # when: the page shows a QR code and the key in text
    page = web.get(f"/accounts/security/?next={BOOKS_PAGE}").content.decode()
    shown = re.search(r'data-testid="totp-secret">([A-Z2-7 ]+)<', page).group(1)
    secret = shown.replace(" ", "")

    # then: the QR is inline SVG (no script, no outside image) for the same secret
    assert "<svg" in page
    assert "<script" not in page.split("<main", 1)[1]
    assert TotpDevice.objects.get(user=staff).secret == secret

    # when: the app's first code confirms it
    code = pyotp.TOTP(secret).now()
    done = web.post("/accounts/security/", {"code": code, "next": BOOKS_PAGE})
    text = done.content.decode()

    # then: ten recovery codes, shown once; the session is through; the secret is gone from view
    codes = re.findall(r"<li><code>([a-z2-7]{4}(?:-[a-z2-7]{4}){3})</code></li>", text)
    assert len(codes) == limits.RECOVERY_CODES_COUNT == len(set(codes))
    assert RecoveryCode.objects.filter(user=staff).count() == 10
    assert not any(codes[0].replace("-", "") in row.code_hash for row in RecoveryCode.objects.all())
    assert web.get(BOOKS_PAGE).status_code == 200
    status = web.get("/accounts/security/").content.decode()
    assert secret not in status
    assert shown not in status
    assert "<svg" not in status


def test_a_wrong_first_code_is_counted_and_enrolment_stays_pending(make_staff):
    staff = make_staff(enrolled=False)
    web = Client()
    web.force_login(staff)
    web.get("/accounts/security/")

    response = web.post("/accounts/security/", {"code": "000000"})

    assert response.status_code == 200
    assert WRONG_CODE_JA in response.content.decode()
    assert TotpDevice.objects.get(user=staff).confirmed_at is None
    assert SecondFactorFailure.objects.filter(user=staff).count() == 1
    assert web.get(BOOKS_PAGE).status_code == 302


def test_an_enrolled_app_cannot_be_replaced_without_a_code(make_staff):
    staff = make_staff()
    web = Client()
    web.force_login(staff)  # password only

    response = web.get("/accounts/security/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/two-factor/")
    with pytest.raises(ApplicationError) as refusal:
        totp_enrolment_start(user=staff)
    assert refusal.value.code == "second_factor_enrolled"


def test_turning_it_off_needs_a_code_and_sends_staff_back_to_enrolment(make_staff):
    staff = make_staff()
    web = log_in(Client(), staff)

    refused = web.post("/accounts/security/", {"code": "000000"})
    turned_off = web.post("/accounts/security/", {"code": totp_code(staff)})

    assert WRONG_CODE_JA in refused.content.decode()
    assert turned_off["Location"] == "/accounts/security/"
    assert not TotpDevice.objects.filter(user=staff, confirmed_at__isnull=False).exists()
    assert RecoveryCode.objects.filter(user=staff).count() == 0
    # The session's pass named the old app: it is worth nothing now.
    assert web.get(BOOKS_PAGE).status_code == 302


# --- recovery codes ---------------------------------------------------------------------------


def _recovery_codes(staff):
    web = Client()
    web.force_login(staff)
    page = web.get("/accounts/security/").content.decode()
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    text = web.post("/accounts/security/", {"code": pyotp.TOTP(secret).now()}).content.decode()
    return re.findall(r"<li><code>([a-z2-7-]+)</code></li>", text)


def test_a_recovery_code_works_once(make_staff):
    # given
    staff = make_staff(enrolled=False)
    codes = _recovery_codes(staff)
    web = Client()
    web.force_login(staff)

    # when: a recovery code, typed in capitals with spaces, instead of the app's code
    first = web.post("/accounts/two-factor/", {"code": codes[3].upper().replace("-", " ")})
    web.post("/accounts/logout/")
    web.force_login(staff)
    again = web.post("/accounts/two-factor/", {"code": codes[3]})

    # then
    assert first.status_code == 302
    assert again.status_code == 200
    assert WRONG_CODE_JA in again.content.decode()
    assert RecoveryCode.objects.filter(user=staff, used_at__isnull=False).count() == 1
    assert web.get(BOOKS_PAGE).status_code == 302


# --- the API log-in ---------------------------------------------------------------------------


def _token(body):
    return Client().post("/api/v1/auth/token", json.dumps(body), content_type="application/json")


def test_staff_get_a_token_only_with_the_code(make_staff):
    staff = make_staff(email="ops@example.jp")
    login = {"email": "ops@example.jp", "password": STRONG_PASSWORD}

    missing = _token(login)
    wrong = _token({**login, "otp_code": "000000"})
    right = _token({**login, "otp_code": totp_code(staff)})

    assert (missing.status_code, missing.json()["code"], missing.json()["field"]) == (
        401,
        "second_factor_required",
        "otp_code",
    )
    assert (wrong.status_code, wrong.json()["code"], wrong.json()["field"]) == (
        422,
        "invalid_second_factor",
        "otp_code",
    )
    assert right.status_code == 201
    assert right.json()["second_factor_verified"] is True
    assert ApiToken.objects.filter(user=staff).count() == 1
    books = Client().get(BOOKS_API, **_bearer(right.json()["token"]))
    assert books.status_code == 200
    two_factor = Client().get("/api/v1/me/two-factor", **_bearer(right.json()["token"])).json()
    assert two_factor["required"] is True
    assert two_factor["enabled"] is True
    assert two_factor["recovery_codes_left"] == 10


def test_staff_without_an_app_get_no_token(make_staff):
    make_staff(email="ops@example.jp", enrolled=False)

    response = _token({"email": "ops@example.jp", "password": STRONG_PASSWORD, "otp_code": "1"})

    assert response.status_code == 403
    assert response.json()["code"] == "second_factor_not_enrolled"
    assert ApiToken.objects.count() == 0


def test_wrong_codes_at_the_api_log_in_lock_it_too(make_staff):
    staff = make_staff(email="ops@example.jp")
    login = {"email": "ops@example.jp", "password": STRONG_PASSWORD}
    for _ in range(limits.SECOND_FACTOR_FAILURES_MAX):
        _token({**login, "otp_code": "999999"})

    response = _token({**login, "otp_code": totp_code(staff)})

    assert response.status_code == 429
    assert response.json()["code"] == "second_factor_locked"
    assert response["Retry-After"] == str(15 * 60)


def test_a_token_made_on_the_page_after_the_code_carries_it(make_staff):
    staff = make_staff()
    web = log_in(Client(), staff)

    page = web.post("/accounts/tokens/", {"name": "会計ソフト"}).content.decode()
    secret = re.search(r'data-testid="new-token">([^<]+)<', page).group(1)

    assert Client().get(BOOKS_API, **_bearer(secret)).status_code == 200


def test_a_bearer_token_decides_even_beside_a_session_without_the_code(make_staff):
    staff = make_staff()
    web = Client()
    web.force_login(staff)
    good = api_token_create(user=staff, name="ops", second_factor_verified=True).secret

    assert web.get(BOOKS_API, **_bearer(good)).status_code == 200
    assert web.get(BOOKS_API, **_bearer("ish_not-a-token")).status_code == 401
