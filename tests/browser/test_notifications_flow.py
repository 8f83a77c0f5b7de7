"""In real Chromium: a hire reaches the worker in the app: the header badge, then 通知."""

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
    """The worker at their own browser, logged in beside the client."""
    context = browser.new_context(base_url=app_server, locale="ja-JP")
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def test_a_hire_shows_in_the_workers_header_badge_and_on_the_notifications_page(
    page, worker_page, make_user
):
    from ishibashi.jobs import services
    from ishibashi.jobs.tests.conftest import job_input, proposal_input

    # given: an open job with the worker's proposal, the worker logged in with nothing unread
    client = make_user(email="client@example.jp", display_name="発注 花子", is_worker=False)
    worker = make_user(email="worker@example.jp", display_name="受注 太郎", is_client=False)
    job = services.job_create(client=client, data=job_input(), publish=True)
    proposal = services.proposal_create(worker=worker, job_id=job.pk, data=proposal_input())
    _log_in(worker_page, "worker@example.jp")
    assert worker_page.get_by_test_id("notifications-badge").count() == 0

    # when: the client hires the proposal
    _log_in(page, "client@example.jp")
    page.goto(f"/jobs/proposals/{proposal.pk}/")
    page.get_by_test_id("hire").click()
    page.wait_for_url(re.compile(r"/contracts/\d+/$"))
    contract_url = page.url

    # then: the worker's next page shows one unread notification in the header
    worker_page.reload()
    assert worker_page.get_by_test_id("notifications-badge").inner_text() == "1"

    # and 通知 lists it, in Japanese, linking to the contract
    worker_page.get_by_test_id("nav-notifications").click()
    worker_page.wait_for_url(re.compile(r"/notifications/$"))
    notices = worker_page.get_by_test_id("notification")
    assert notices.count() == 1
    subject = notices.first.get_by_test_id("notification-subject")
    assert subject.inner_text() == "契約が決まりました：「WordPressサーバー移行作業」"
    assert "仮払い" in notices.first.get_by_test_id("notification-body").inner_text()

    # when: the worker follows the link
    worker_page.get_by_test_id("notification-subject").click()

    # then: the contract opens, and the notice is read
    worker_page.wait_for_url(re.compile(r"/contracts/\d+/$"))
    assert worker_page.url == contract_url
    assert worker_page.get_by_test_id("notifications-badge").count() == 0
    worker_page.get_by_test_id("nav-notifications").click()
    worker_page.wait_for_url(re.compile(r"/notifications/$"))
    assert worker_page.get_by_test_id("notification").first.get_attribute("data-read") == "true"
