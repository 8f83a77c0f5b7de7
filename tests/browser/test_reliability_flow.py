"""In real Chromium: a worker researches the client before proposing (発注者の安心度).

The client's history is made through the services with the clock moved: twelve one-milestone
contracts, three of them left uninspected until the sweeper approved them automatically. The
worker opens the client's job and reads 要注意 with the reason in words before the propose
button, again on the proposal form before the send button, and on the job list's card; the
reason links to the public help page that explains it.

Set ISHIBASHI_SCREENSHOTS to a directory to keep a screenshot of each step (1280 and 390 px).
"""

import datetime as dt
import os
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from conftest import STRONG_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = os.environ.get("ISHIBASHI_SCREENSHOTS", "")
SENTENCE = "過去の契約12件中3件で検収がなく自動承認されています"


def _shot(page, name):
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        size = page.viewport_size
        page.set_viewport_size({"width": 1280, "height": 900})
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}-390.png"), full_page=True)
        if size:
            page.set_viewport_size(size)


@pytest.fixture
def job_of_a_silent_client(make_user):
    from ishibashi.jobs import services as jobs
    from ishibashi.jobs.services import JobInput
    from ishibashi.reputation.tests.stories import client_with_auto_approvals

    client = make_user(email="client@example.jp", display_name="発注 花子", is_worker=False)
    earlier = make_user(email="earlier@example.jp", display_name="受注 次郎", is_client=False)
    make_user(email="worker@example.jp", display_name="受注 太郎", is_client=False)
    client_with_auto_approvals(
        client,
        earlier,
        contracts=12,
        automatic=3,
        start=dt.datetime(2026, 5, 11, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo")),
    )
    from ishibashi.core import clock

    return jobs.job_create(
        client=client,
        data=JobInput(
            title="企業サイトのコーディング",
            description="月次でコーディングをお願いします。",
            category="web_development",
            contract_type="fixed",
            budget_min_jpy=30_000,
            budget_max_jpy=80_000,
            recruiting_deadline=clock.now() + dt.timedelta(days=7),
            desired_delivery_on=jobs.today() + dt.timedelta(days=30),
            scope_deliverables="HTML/CSS",
            scope_acceptance_criteria="指定のブラウザで表示されること",
            scope_out_of_scope="デザイン",
            revision_rounds=2,
        ),
        publish=True,
    )


def _log_in(page, email):
    page.goto("/accounts/login/")
    page.get_by_label("メールアドレス").fill(email)
    page.get_by_label("パスワード").fill(STRONG_PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url(re.compile(r"/accounts/profile/$"))


def _above(page, first, second):
    """True when `first` is drawn above `second` on the page."""
    return first.bounding_box()["y"] < second.bounding_box()["y"]


def test_a_worker_sees_the_warning_and_its_reason_before_proposing(page, job_of_a_silent_client):
    job = job_of_a_silent_client
    _log_in(page, "worker@example.jp")

    # The job list's card carries the level and its top reason.
    page.goto("/jobs/")
    card = page.locator(f'[data-testid="job-card"][data-job-id="{job.pk}"]')
    assert card.get_by_test_id("reliability-level").inner_text() == "要注意"
    assert card.get_by_test_id("reliability-top-reason").inner_text() == SENTENCE
    _shot(page, "reliability-01-list")

    # The job page: the whole profile, above the propose button.
    page.goto(f"/jobs/{job.pk}/")
    section = page.get_by_test_id("client-reliability")
    assert section.get_by_test_id("reliability-level").inner_text() == "要注意"
    reason = section.locator('[data-testid="reliability-reason"][data-code="auto_approvals"]')
    assert SENTENCE in reason.inner_text()
    assert _above(page, section, page.get_by_test_id("propose"))
    _shot(page, "reliability-02-job")

    # The proposal form: the same, above the send button.
    page.get_by_test_id("propose").click()
    page.wait_for_url(re.compile(rf"/jobs/{job.pk}/propose/$"))
    section = page.get_by_test_id("client-reliability")
    assert section.get_by_test_id("reliability-level").inner_text() == "要注意"
    assert SENTENCE in section.inner_text()
    assert _above(page, section, page.get_by_test_id("send-proposal"))
    _shot(page, "reliability-03-propose")

    # The reason links to the public help page's explanation of it.
    page.goto(f"/jobs/{job.pk}/")
    reason = page.locator('[data-testid="reliability-reason"][data-code="auto_approvals"]')
    reason.get_by_role("link").click()
    page.wait_for_url(re.compile(r"/help/reliability/#auto-approvals$"))
    assert page.locator("#auto-approvals").is_visible()
    assert "Beta(1, 9)" in page.locator("#smoothing").inner_text()
    _shot(page, "reliability-04-help")

    # The client's public profile carries the whole profile with every signal.
    page.goto(f"/accounts/users/{job.client_id}/")
    section = page.get_by_test_id("client-reliability")
    assert section.get_by_test_id("reliability-level").inner_text() == "要注意"
    assert section.get_by_test_id("signal-auto-approvals").inner_text() == "3"
    assert section.get_by_test_id("signal-completed").inner_text() == "12"
    assert section.get_by_test_id("signal-rating").inner_text() == "評価はまだありません"
    _shot(page, "reliability-05-profile")
