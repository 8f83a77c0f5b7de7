"""In real Chromium: a client asks for work before escrow, is warned, sends anyway; the worker
sees the caution and reports it with one click (product spec, "Messages and guards").

Set ISHIBASHI_SCREENSHOTS to a directory to keep a screenshot of each step (1280 and 390 px).
"""

import os
import re
from pathlib import Path

import pytest
from django.utils import translation

from conftest import STRONG_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = os.environ.get("ISHIBASHI_SCREENSHOTS", "")
ASK = "納期が厳しいので仮払い前に先に作業を始めてください"


def _log_in(page, email):
    page.goto("/accounts/login/")
    page.get_by_label("メールアドレス").fill(email)
    page.get_by_label("パスワード").fill(STRONG_PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url(re.compile(r"/accounts/profile/$"))


def _shot(page, name):
    """The messages section (heading to form) at 1280 and at 390 px wide."""
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        size = page.viewport_size
        for width, suffix in ((1280, ""), (390, "-390")):
            page.set_viewport_size({"width": width, "height": 900})
            top = page.locator("#messages").bounding_box()
            end = page.locator("#cancel").bounding_box() or page.locator("footer").bounding_box()
            clip = {"x": 0, "y": top["y"], "width": width, "height": end["y"] - top["y"]}
            page.screenshot(
                path=str(Path(SCREENSHOTS) / f"{name}{suffix}.png"), clip=clip, full_page=True
            )
        if size:
            page.set_viewport_size(size)


def _ja(msgid):
    with translation.override("ja"):
        return translation.gettext(msgid)


@pytest.fixture
def two_pages(browser, app_server):
    contexts = [
        browser.new_context(
            base_url=app_server, locale="ja-JP", viewport={"width": 1280, "height": 900}
        )
        for _ in range(2)
    ]
    for context in contexts:
        context.set_default_timeout(10_000)
    yield [context.new_page() for context in contexts]
    for context in contexts:
        context.close()


@pytest.fixture
def contract(make_user):
    """発注 花子 hired 受注 太郎; no milestone is funded yet."""
    from ishibashi.contracts.tests.factories import hire

    client = make_user(email="client@example.jp", display_name="発注 花子", is_worker=False)
    worker = make_user(email="worker@example.jp", display_name="受注 太郎", is_client=False)
    return hire(client, worker)


def test_a_request_before_escrow_is_warned_sent_cautioned_and_reported(two_pages, contract):
    from ishibashi.contracts.models import ClientContractStats, ContractFlag, ContractMessage

    client_page, worker_page = two_pages
    url = f"/contracts/{contract.pk}/"

    # The client writes the seed's request and is warned before it goes out.
    _log_in(client_page, "client@example.jp")
    client_page.goto(url)
    client_page.get_by_test_id("message-form").get_by_label(_ja("Message")).fill(ASK)
    client_page.get_by_test_id("send-message").click()
    warning = client_page.get_by_test_id("guard-warning")
    warning.wait_for()
    assert warning.locator('[data-category="before_escrow"]').count() == 1
    assert ContractMessage.objects.filter(contract=contract).count() == 0
    assert (
        client_page.get_by_test_id("message-form").get_by_label(_ja("Message")).input_value() == ASK
    )
    _shot(client_page, "guards-1-writer-warning")

    # Nothing is blocked: the client sends it as it is.
    client_page.get_by_test_id("send-anyway").click()
    client_page.wait_for_url(re.compile(r"#messages$"))
    assert client_page.get_by_test_id("thread-message").last.inner_text().count(ASK) == 1
    assert client_page.get_by_test_id("guard-caution").count() == 0
    assert client_page.get_by_test_id("guard-writer-note").count() == 1
    message = ContractMessage.objects.get(contract=contract)
    assert message.guard_categories == ["before_escrow"]

    # The worker sees the caution on that message and reports it with one click.
    _log_in(worker_page, "worker@example.jp")
    worker_page.goto(url)
    caution = worker_page.get_by_test_id("guard-caution")
    assert caution.get_attribute("data-category") == "before_escrow"
    _shot(worker_page, "guards-2-reader-caution")
    caution.get_by_test_id("guard-flag").click()
    worker_page.get_by_test_id("guard-flagged").wait_for()
    _shot(worker_page, "guards-3-reported")

    flag = ContractFlag.objects.get(contract=contract)
    assert (flag.kind, flag.message_id) == ("asked_before_escrow", message.pk)
    stats = ClientContractStats.objects.get(client=contract.client)
    assert stats.escrow_before_work_flags == 1
