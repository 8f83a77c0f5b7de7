"""In real Chromium against gunicorn: a staff member enrols an authenticator app, then logs in
with password and code. The test plays the phone: it computes codes with pyotp from the key the
page shows."""

import re
import time

import pyotp
import pytest

from conftest import STRONG_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _log_in(page, email):
    page.goto("/accounts/login/?next=/operations/books/")
    page.get_by_label("メールアドレス").fill(email)
    page.get_by_label("パスワード").fill(STRONG_PASSWORD)
    page.get_by_role("button", name="ログイン").click()


def test_staff_enrol_then_log_in_with_a_code(page, make_staff):
    # given: an operator who has not set up two-factor yet
    make_staff(email="ops@example.jp", display_name="審査 一郎", enrolled=False)

    # when: the password is right
    _log_in(page, "ops@example.jp")

    # then: enrolment comes first, with a QR code drawn on the page and the key in text
    page.wait_for_url(re.compile(r"/accounts/security/\?next="))
    assert page.get_by_role("heading", level=1).inner_text() == "二段階認証の設定"
    assert page.get_by_test_id("totp-qr").locator("svg").is_visible()
    secret = page.get_by_test_id("totp-secret").inner_text().replace(" ", "")

    # when: the first code from the "app"
    page.get_by_label("アプリの確認コード").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="二段階認証を有効にする").click()

    # then: ten recovery codes, once; then the operator console opens
    assert page.get_by_test_id("recovery-codes").locator("li").count() == 10
    page.get_by_test_id("continue").click()
    page.wait_for_url(re.compile(r"/operations/books/$"))

    # when: log out and in again
    page.get_by_role("button", name="ログアウト").click()
    _log_in(page, "ops@example.jp")

    # then: the password alone opens nothing; a wrong code is refused in Japanese
    page.wait_for_url(re.compile(r"/accounts/two-factor/\?next="))
    page.get_by_label("確認コード").fill("000000")
    page.get_by_role("button", name="確認", exact=True).click()
    assert page.get_by_role("alert").first.inner_text() == (
        "確認コードが正しくありません。認証アプリに今表示されているコードを入力してください。"
    )

    # when: the app's next code (the current one may be the one used at enrolment)
    page.get_by_label("確認コード").fill(pyotp.TOTP(secret).at(time.time(), counter_offset=1))
    page.get_by_role("button", name="確認", exact=True).click()

    # then
    page.wait_for_url(re.compile(r"/operations/books/$"))
    assert page.get_by_test_id("nav-profile").is_visible()
