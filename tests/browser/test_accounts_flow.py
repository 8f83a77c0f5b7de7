"""In real Chromium against gunicorn: sign up, confirm the address from the mail, post a job,
log out, log in again."""

import re

import pytest

from conftest import STRONG_PASSWORD, mailed_link

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_up_confirm_the_address_post_a_job_log_out_and_log_in_again(page, app_server_var):
    import datetime as dt

    from ishibashi.jobs.services import today

    # given: the Japanese home page
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "ja"
    page.get_by_role("link", name="会員登録").first.click()

    # when: a client and worker signs up
    page.get_by_label("表示名").fill("田中 美咲")
    page.get_by_label("メールアドレス").fill("misaki@example.jp")
    page.get_by_label("パスワード").fill(STRONG_PASSWORD)
    page.get_by_label("個人").check()
    page.locator("input[name=roles][value=client]").check()
    page.locator("input[name=roles][value=worker]").check()
    page.get_by_role("button", name="会員登録").click()

    # then: "check your inbox", not logged in yet
    assert page.get_by_test_id("signup-sent").inner_text() == "受信箱を確認してください"
    assert page.get_by_test_id("nav-profile").count() == 0

    # when: she opens the link from the mail; opening it confirms nothing until the button
    link = mailed_link(app_server_var / "mail", "misaki@example.jp", "/accounts/verify-email/")
    page.goto(link)
    page.get_by_test_id("verify-email-confirm").click()

    # then: asked to log in, and after it no banner asks for the confirmation
    page.wait_for_url(re.compile(r"/accounts/login/$"))
    assert "メールアドレスを確認しました" in page.get_by_role("status").first.inner_text()
    page.get_by_label("メールアドレス").fill("misaki@example.jp")
    page.get_by_label("パスワード").fill(STRONG_PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url(re.compile(r"/accounts/profile/$"))
    assert page.get_by_test_id("profile-name").inner_text() == "田中 美咲"
    assert page.get_by_test_id("nav-profile").inner_text() == "田中 美咲"
    assert page.get_by_test_id("email-unverified-banner").count() == 0

    # when: she posts a job
    page.get_by_test_id("nav-post-job").click()
    page.get_by_label("タイトル").fill("ロゴデザインの作成")
    page.get_by_label("依頼内容").fill("新しいカフェのロゴを作成してください。")
    page.get_by_label("カテゴリ").select_option("server_infrastructure")
    page.get_by_label("契約形態").select_option("fixed")
    page.get_by_label("予算の下限（円）").fill("30000")
    page.get_by_label("予算の上限（円）").fill("60000")
    deadline = dt.datetime.combine(today() + dt.timedelta(days=7), dt.time(18, 0))
    page.get_by_label("募集期限").fill(deadline.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("希望納期").fill((today() + dt.timedelta(days=30)).isoformat())
    page.get_by_label("成果物").fill("ロゴのデータ")
    page.get_by_label("検収基準").fill("指定の形式で納品されること")
    page.get_by_label("修正回数（契約に含まれる回数）").fill("2")
    page.get_by_test_id("publish").click()

    # then: it is open
    page.wait_for_url(re.compile(r"/jobs/\d+/$"))
    assert page.get_by_test_id("job-state").inner_text() == "募集中"

    # when: log out, then log in with the same password
    page.get_by_role("button", name="ログアウト").click()
    page.wait_for_url(re.compile(r"/$"))
    assert page.get_by_test_id("nav-profile").count() == 0
    page.get_by_role("link", name="ログイン").first.click()
    page.get_by_label("メールアドレス").fill("misaki@example.jp")
    page.get_by_label("パスワード").fill(STRONG_PASSWORD)
    page.get_by_role("button", name="ログイン").click()

    # then
    page.wait_for_url(re.compile(r"/accounts/profile/$"))
    assert page.get_by_test_id("nav-profile").inner_text() == "田中 美咲"


def test_an_unconfirmed_account_sees_the_banner_and_cannot_post(page, make_user):
    make_user(email="new@example.jp", email_verified=False)

    page.goto("/accounts/login/")
    page.get_by_label("メールアドレス").fill("new@example.jp")
    page.get_by_label("パスワード").fill(STRONG_PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url(re.compile(r"/accounts/profile/$"))

    assert page.get_by_test_id("email-unverified-banner").is_visible()
    page.get_by_test_id("email-unverified-resend").click()
    assert page.get_by_test_id("signup-sent").inner_text() == "受信箱を確認してください"


def test_a_wrong_password_shows_a_japanese_message(page, make_user):
    make_user(email="misaki@example.jp")

    page.goto("/accounts/login/")
    page.get_by_label("メールアドレス").fill("misaki@example.jp")
    page.get_by_label("パスワード").fill("machigai-password")
    page.get_by_role("button", name="ログイン").click()

    assert (
        page.get_by_role("alert").first.inner_text()
        == "メールアドレスまたはパスワードが正しくありません。"
    )


def test_pages_are_styled_and_htmx_is_loaded(page):
    page.goto("/")

    header_display = page.eval_on_selector(".site-header", "e => getComputedStyle(e).display")
    assert header_display == "flex"
    assert page.evaluate("typeof window.htmx") == "object"


def test_language_switch_shows_english(page):
    page.goto("/")
    page.get_by_role("button", name="English").click()

    page.wait_for_selector("html[lang=en]")
    assert page.get_by_role("link", name="Sign up").first.is_visible()


def test_changing_the_password_signs_out_everywhere_by_default(page, make_user):
    from ishibashi.accounts.models import ApiToken
    from ishibashi.accounts.services import api_token_create

    user = make_user(email="misaki@example.jp")
    api_token_create(user=user, name="deploy")
    page.goto("/accounts/login/")
    page.get_by_label("メールアドレス").fill("misaki@example.jp")
    page.get_by_label("パスワード").fill(STRONG_PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url(re.compile(r"/accounts/profile/$"))

    # when: the password is changed with the box left as it comes (ticked)
    page.goto("/accounts/password/")
    box = page.get_by_label("すべての場所からログアウト（API トークンもすべて無効にする）")
    assert box.is_checked()
    page.get_by_label("現在のパスワード").fill(STRONG_PASSWORD)
    page.get_by_label("新しいパスワード").fill("atarashii-pass-99")
    page.get_by_role("button", name="パスワードを変更").click()

    # then: still logged in here, the token no longer works
    page.wait_for_url(re.compile(r"/accounts/profile/$"))
    assert page.get_by_test_id("nav-profile").count() == 1
    assert ApiToken.objects.filter(user=user, revoked_at__isnull=True).count() == 0


def test_pages_work_under_their_content_security_policy(page, make_user):
    from ishibashi.accounts.services import api_token_create

    refused = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    user = make_user(email="misaki@example.jp")
    api_token_create(user=user, name="deploy")
    page.goto("/accounts/login/")
    page.get_by_label("メールアドレス").fill("misaki@example.jp")
    page.get_by_label("パスワード").fill(STRONG_PASSWORD)
    response_policy = []
    page.on(
        "response",
        lambda r: (
            response_policy.append(r.headers.get("content-security-policy"))
            if r.request.resource_type == "document"
            else None
        ),
    )
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url(re.compile(r"/accounts/profile/$"))

    # when: a token is revoked through htmx (a confirm dialog, then a swapped row)
    page.goto("/accounts/tokens/")
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="無効にする").first.click()

    # then: the row was swapped in place, styles applied, nothing refused by the policy
    page.get_by_text("無効化済み").first.wait_for()
    assert page.eval_on_selector(".site-header", "e => getComputedStyle(e).display") == "flex"
    assert any(p and "frame-ancestors 'none'" in p for p in response_policy)
    assert refused == []


def test_the_mailed_unlock_link_lifts_a_log_in_pause(page, make_user, app_mail):
    from ishibashi.accounts.services import user_authenticate
    from ishibashi.core.errors import ApplicationError

    # given: someone guessed wrong nine times from elsewhere
    make_user(email="misaki@example.jp")
    for n in range(9):
        with pytest.raises(ApplicationError):
            user_authenticate(
                email="misaki@example.jp", password="guess-guess", ip_address=f"192.0.2.{n % 3 + 1}"
            )

    # when: the owner mistypes once, which sets off the alarm, then types the right password
    page.goto("/accounts/login/")
    for password in ("machigai-password", STRONG_PASSWORD):
        page.get_by_label("メールアドレス").fill("misaki@example.jp")
        page.get_by_label("パスワード").fill(password)
        page.get_by_role("button", name="ログイン").click()

    # then: this address is paused, and the owner was mailed a link
    assert "一時停止" in page.get_by_role("alert").first.inner_text()
    (mail,) = app_mail()
    link = re.search(r"https?://\S+/accounts/login/unlock/\S+/", mail)
    assert link is not None

    # when: the owner opens the link and presses the button, then logs in
    page.goto(re.sub(r"^https?://[^/]+", "", link.group(0)))
    page.get_by_role("button", name="一時停止を解除する").click()
    page.get_by_text("ログインの一時停止を解除しました").wait_for()
    page.get_by_label("メールアドレス").fill("misaki@example.jp")
    page.get_by_label("パスワード").fill(STRONG_PASSWORD)
    page.get_by_role("button", name="ログイン").click()

    # then
    page.wait_for_url(re.compile(r"/accounts/profile/$"))
