"""In real Chromium: a job posted in Japanese is found by a substring, proposed on, and hired."""

import datetime as dt
import re

import pytest

from conftest import STRONG_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _log_in(page, email):
    page.goto("/accounts/login/")
    page.get_by_label("メールアドレス").fill(email)
    page.get_by_label("パスワード").fill(STRONG_PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url(re.compile(r"/accounts/profile/$"))


@pytest.fixture
def worker_page(browser, app_server):
    """A second person at their own browser, so both stay logged in side by side."""
    context = browser.new_context(base_url=app_server, locale="ja-JP")
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def test_a_job_goes_from_posting_to_a_contract_both_parties_see(page, worker_page, make_user):
    from ishibashi.jobs.services import today

    make_user(email="client@example.jp", display_name="発注 花子", is_worker=False)
    make_user(email="worker@example.jp", display_name="受注 太郎", is_client=False)
    deadline = dt.datetime.combine(today() + dt.timedelta(days=7), dt.time(18, 0))
    delivery = today() + dt.timedelta(days=30)

    # when: the client posts a job in Japanese and publishes it
    _log_in(page, "client@example.jp")
    page.get_by_test_id("nav-post-job").click()
    page.get_by_label("タイトル").fill("WordPressサーバー移行作業")
    page.get_by_label("依頼内容").fill("既存のWordPressサイトを新しいサーバーへ移行してください。")
    page.get_by_label("カテゴリ").select_option("server_infrastructure")
    page.get_by_label("契約形態").select_option("fixed")
    page.get_by_label("予算の下限（円）").fill("50000")
    page.get_by_label("予算の上限（円）").fill("100000")
    page.get_by_label("募集期限").fill(deadline.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("希望納期").fill(delivery.isoformat())
    page.get_by_label("成果物").fill("移行済みのサイト、作業報告書")
    page.get_by_label("検収基準").fill("新サーバーで全ページが表示されること")
    page.get_by_label("対象外の作業").fill("デザインの変更")
    page.get_by_label("修正回数（契約に含まれる回数）").fill("2")
    page.get_by_test_id("publish").click()

    # then: it is open, with the deadline as typed in Japan time
    page.wait_for_url(re.compile(r"/jobs/\d+/$"))
    job_url = page.url
    assert page.get_by_test_id("job-state").inner_text() == "募集中"
    assert page.get_by_test_id("job-deadline").inner_text() == deadline.strftime("%Y-%m-%d %H:%M")
    assert re.fullmatch(r"あと\d+日", page.get_by_test_id("job-days-left").inner_text())

    # when: a worker searches for a substring of the title
    _log_in(worker_page, "worker@example.jp")
    worker_page.get_by_test_id("nav-jobs").click()
    worker_page.get_by_label("キーワード").fill("サーバー移行")
    worker_page.get_by_test_id("search-submit").click()

    # then: the job is found, with the client's summary
    cards = worker_page.get_by_test_id("job-card")
    assert cards.count() == 1
    assert cards.first.get_by_test_id("client-jobs-posted").inner_text() == "投稿した案件: 1"
    assert cards.first.get_by_test_id("job-budget").inner_text() == "¥50,000 〜 ¥100,000"

    # when: the worker proposes with the four-part split
    cards.first.get_by_test_id("job-title").click()
    worker_page.get_by_test_id("propose").click()
    worker_page.get_by_label("提案文").fill(
        "サーバー移行の経験が10年あります。深夜の切り替えも対応します。"
    )
    worker_page.get_by_label("合計金額（円）").fill("80000")
    worker_page.get_by_test_id("use-split-template").click()
    rows = worker_page.get_by_test_id("milestone-row")
    assert rows.count() == 4
    assert [rows.nth(i).locator("input[name$=-title]").input_value() for i in range(4)] == [
        "事前調査",
        "待機・深夜対応",
        "実作業",
        "作業完了確認",
    ]
    assert [rows.nth(i).locator("input[name$=-amount_jpy]").input_value() for i in range(4)] == [
        "16000",
        "16000",
        "40000",
        "8000",
    ]
    worker_page.get_by_test_id("send-proposal").click()

    # then: the proposal waits, and the worker is reminded to keep advice for after the contract
    worker_page.wait_for_url(re.compile(r"/jobs/proposals/\d+/$"))
    assert worker_page.get_by_test_id("proposal-state").inner_text() == "検討中"
    assert "契約後に相談しましょう" in worker_page.get_by_test_id("thread-reminder").inner_text()

    # when: the client opens the proposal from the job page and hires
    page.goto(job_url)
    assert page.get_by_test_id("job-proposal-count").inner_text() == "1"
    page.get_by_test_id("proposal-row").get_by_role("link", name="受注 太郎").click()
    assert page.get_by_label("検収期間（日数）").input_value() == "7"
    page.get_by_test_id("hire").click()

    # then: the client lands on the contract
    page.wait_for_url(re.compile(r"/contracts/\d+/$"))
    contract_url = page.url
    assert page.get_by_test_id("contract-heading").inner_text() == "契約: WordPressサーバー移行作業"
    states = page.get_by_test_id("milestone-state")
    assert [states.nth(i).inner_text() for i in range(4)] == [
        "仮払い待ち",
        "未依頼",
        "未依頼",
        "未依頼",
    ]
    assert page.get_by_test_id("contract-total").inner_text() == "¥80,000"

    # and the worker finds it under 契約, told not to start before escrow
    worker_page.get_by_test_id("nav-contracts").click()
    worker_page.get_by_test_id("contract-title").click()
    assert worker_page.url == contract_url
    assert worker_page.get_by_test_id("contract-worker").inner_text().startswith("受注 太郎")
    assert (
        worker_page.get_by_test_id("wait-for-escrow").inner_text()
        == "仮払いが完了するまで作業を始めないでください"
    )


def test_a_one_character_search_shows_why_next_to_the_search_box(page):
    """Issue 11: 「の」 alone matches almost every job; the visitor is told what to type."""
    page.goto("/jobs/")
    page.get_by_label("キーワード").fill("の")
    page.get_by_test_id("search-submit").click()

    errors = page.get_by_test_id("search-errors")
    assert "2文字以上の語を入力してください" in errors.inner_text()
    assert page.get_by_test_id("job-list").count() == 0
