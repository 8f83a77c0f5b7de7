"""In real Chromium: a client deposits by card and by bank transfer and sees the balance."""

import re

import pytest

from conftest import STRONG_PASSWORD
from ishibashi.payments.providers import SANDBOX_CARD_SUCCEEDS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _log_in(page, email):
    page.goto("/accounts/login/")
    page.get_by_label("メールアドレス").fill(email)
    page.get_by_label("パスワード").fill(STRONG_PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url(re.compile(r"/accounts/profile/$"))


def test_a_client_deposits_by_card_and_by_bank_transfer(page, make_user):
    make_user(email="client@example.jp", is_worker=False)
    _log_in(page, "client@example.jp")

    # when: a card deposit
    page.get_by_test_id("nav-wallet").click()
    assert page.get_by_test_id("wallet-balance").inner_text() == "¥0"
    page.locator("a.button.primary", has_text="入金").click()
    page.locator("#id_amount_jpy").fill("50000")
    page.locator("input[name=method][value=card]").check()
    page.locator("#id_card_number").fill(SANDBOX_CARD_SUCCEEDS)
    page.locator("main form button[type=submit]").click()

    # then
    assert page.get_by_test_id("deposit-status").inner_text() == "入金済み"

    # when: a bank transfer, which waits for the money
    page.goto("/wallet/deposit/")
    page.locator("#id_amount_jpy").fill("20000")
    page.locator("input[name=method][value=bank_transfer]").check()
    page.locator("main form button[type=submit]").click()
    assert page.get_by_test_id("deposit-status").inner_text() == "入金待ち"
    assert re.fullmatch(r"\d{8}", page.get_by_test_id("transfer-code").inner_text())
    page.locator("form[action$='sandbox-arrive/'] button").click()

    # then: both are in the balance, and the history shows the running balance
    assert page.get_by_test_id("deposit-status").inner_text() == "入金済み"
    page.get_by_test_id("nav-wallet").click()
    assert page.get_by_test_id("wallet-balance").inner_text() == "¥70,000"
    rows = page.locator("#history-rows tr")
    assert rows.count() == 2
    assert "¥70,000" in rows.nth(0).inner_text()
