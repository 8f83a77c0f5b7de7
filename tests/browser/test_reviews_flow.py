"""In real Chromium: both parties review an ended contract through the pages, double-blind.

The contract is made and ended through the services: the client fell silent and the delivery was
approved automatically. The worker is asked on マイページ, reviews, and is told the review waits;
the client's profile still shows nothing. The client reviews from the contract page; both
reviews then show on both profiles, the client's with the automatic approval beside the stars.

Set ISHIBASHI_SCREENSHOTS to a directory to keep a screenshot of each step (1280 and 390 px).
"""

import datetime as dt
import os
import re
from pathlib import Path

import pytest

from conftest import STRONG_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = os.environ.get("ISHIBASHI_SCREENSHOTS", "")


def _log_in(page, email):
    page.goto("/accounts/login/")
    page.get_by_label("メールアドレス").fill(email)
    page.get_by_label("パスワード").fill(STRONG_PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url(re.compile(r"/accounts/profile/$"))


def _shot(page, name):
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.set_viewport_size({"width": 1280, "height": 900})
        page.screenshot(path=str(Path(SCREENSHOTS) / f"reviews-{name}.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(Path(SCREENSHOTS) / f"reviews-{name}-390.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 900})


@pytest.fixture
def second_page(browser, app_server):
    context = browser.new_context(base_url=app_server, locale="ja-JP")
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def people_and_contract(make_user, time_machine):
    """発注 花子 stayed silent; 受注 太郎's delivery was approved automatically two days ago."""
    from django.db import transaction

    from ishibashi.contracts.tests.factories import deposit
    from ishibashi.core import clock
    from ishibashi.reviews.tests.stories import ended_contract

    client = make_user(email="client@example.jp", display_name="発注 花子", is_worker=False)
    worker = make_user(email="worker@example.jp", display_name="受注 太郎", is_client=False)
    with transaction.atomic():
        deposit(client, 100_000)
    # Started in the past, so the automatic approval (inspection days later) is behind the
    # server's clock, which is the real one.
    time_machine.move_to(clock.now() - dt.timedelta(days=9), tick=False)
    contract = ended_contract(client, worker, time_machine=time_machine)
    return client, worker, contract


def _fill(page, scores, text):
    form = page.get_by_test_id("review-form")
    for name, value in scores.items():
        form.locator(f'input[name="{name}"][value="{value}"]').check()
    form.locator("textarea[name=text]").fill(text)
    return form


def test_both_parties_review_and_see_both_only_after_the_second(
    page, second_page, people_and_contract
):
    client, worker, contract = people_and_contract
    worker_page, client_page = page, second_page

    # given: the worker lands on マイページ and is asked for a review, with the deadline
    _log_in(worker_page, "worker@example.jp")
    prompt = worker_page.get_by_test_id("review-prompt")
    assert prompt.count() == 1
    assert "評価期限" in prompt.inner_text()
    _shot(worker_page, "01-mypage-prompt")
    prompt.get_by_role("link").click()
    worker_page.wait_for_url(re.compile(rf"/contracts/{contract.pk}/review/$"))
    assert "相手の評価と同時に公開されます。公開後は変更できません。" in (
        worker_page.get_by_test_id("review-confirmation").inner_text()
    )

    # when: they send it empty first, every error shows at once
    worker_page.get_by_test_id("review-submit").click()
    assert worker_page.locator(".field.has-error").count() == 5
    _shot(worker_page, "02-form-errors")

    # and then filled in
    form = _fill(
        worker_page,
        {"overall": 2, "communication": 2, "clarity": 3, "payment_speed": 1},
        "納品後に連絡が途絶え、検収していただけませんでした。",
    )
    form.get_by_test_id("review-submit").click()
    worker_page.wait_for_url(re.compile(rf"/contracts/{contract.pk}/$"))

    # then: the contract page says it waits for the other side or the deadline
    assert worker_page.get_by_test_id("review-waiting").count() == 1
    _shot(worker_page, "03-contract-waiting")
    # and the client's public profile shows nothing yet
    worker_page.goto(f"/accounts/users/{client.pk}/")
    assert "連絡が途絶え" not in worker_page.content()
    assert worker_page.get_by_test_id("review").count() == 0

    # when: the client, on the contract page, is asked and reviews too
    _log_in(client_page, "client@example.jp")
    client_page.goto(f"/contracts/{contract.pk}/")
    assert "連絡が途絶え" not in client_page.content()
    client_page.get_by_test_id("review-start").click()
    _shot(client_page, "04-form")
    form = _fill(
        client_page,
        {"overall": 4, "quality": 5, "timeliness": 4, "communication": 3},
        "作業は丁寧でした。返信が遅れて申し訳ありません。",
    )
    form.get_by_test_id("review-submit").click()
    client_page.wait_for_url(re.compile(rf"/contracts/{contract.pk}/$"))

    # then: both profiles show both reviews; the client's carries the automatic approval
    for viewer in (worker_page, client_page):
        viewer.goto(f"/accounts/users/{client.pk}/")
        of_client = viewer.get_by_test_id("review")
        assert of_client.count() == 1
        assert "連絡が途絶え" in of_client.inner_text()
        fact = of_client.get_by_test_id("review-fact")
        assert fact.inner_text() == "検収期限内に応答がなく自動承認"
        summary = viewer.locator('[data-testid="rating-summary"][data-role="client"]')
        assert summary.get_by_test_id("rating-average").inner_text() == "2.0"
        viewer.goto(f"/accounts/users/{worker.pk}/")
        assert "作業は丁寧でした" in viewer.get_by_test_id("review").inner_text()
    _shot(client_page, "05-worker-profile")
    worker_page.goto(f"/accounts/users/{client.pk}/")
    _shot(worker_page, "06-client-profile")

    # and the client replies once under the worker's review, on their reviews page
    client_page.goto(f"/users/{client.pk}/reviews/")
    reply = client_page.get_by_test_id("reply-form")
    reply.locator("textarea").fill("ご迷惑をおかけしました。以後気をつけます。")
    reply.get_by_test_id("reply-submit").click()
    client_page.wait_for_url(re.compile(rf"/users/{client.pk}/reviews/#review-\d+$"))
    assert "以後気をつけます" in client_page.get_by_test_id("review-reply").inner_text()
    assert client_page.get_by_test_id("reply-form").count() == 0
    _shot(client_page, "07-reply")
