"""In real Chromium: escrow, work, delivery with the deliverable lock, approval and payment.

Two people at two browsers against the app under gunicorn. The contract is made through the
services (the hire has its own browser test); everything after it happens on the pages. The
second test is the seed story "the client vanishes": the sweeper runs as the worker process
does (`ishibashi sweep --once`), on a clock moved past the inspection deadline.

Set ISHIBASHI_SCREENSHOTS to a directory to keep a screenshot of each step.
"""

import datetime as dt
import os
import re
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from django.utils import translation

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
    """A desktop and a phone (390 px) screenshot of the page as it stands."""
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        size = page.viewport_size
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}-390.png"), full_page=True)
        if size:
            page.set_viewport_size(size)


def _ja(msgid):
    """The page's words for an English msgid, as the catalogue gives them in Japanese."""
    with translation.override("ja"):
        return translation.gettext(msgid)


@pytest.fixture
def worker_page(browser, app_server):
    """A second person at their own browser, so both stay logged in side by side."""
    context = browser.new_context(base_url=app_server, locale="ja-JP", accept_downloads=True)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def client_page(browser, app_server):
    context = browser.new_context(base_url=app_server, locale="ja-JP", accept_downloads=True)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def contract_url(make_user):
    """発注 花子 hired 受注 太郎 on 実作業 ¥60,000 and 作業完了確認 ¥20,000, with ¥100,000 deposited."""
    from django.db import transaction

    from ishibashi.contracts.tests.factories import deposit, hire

    client = make_user(email="client@example.jp", display_name="発注 花子", is_worker=False)
    worker = make_user(email="worker@example.jp", display_name="受注 太郎", is_client=False)
    # The ledger moves money only inside its caller's transaction, as a confirmed deposit does.
    with transaction.atomic():
        deposit(client, 100_000)
    contract = hire(client, worker)
    return f"/contracts/{contract.pk}/"


def _first(page):
    return page.locator('[data-testid="contract-milestone"][data-position="1"]')


def _state(page):
    return _first(page).get_by_test_id("milestone-state").inner_text()


def _deliver(worker_page, contract_url, tmp_path):
    preview = tmp_path / "トップページ.png"
    preview.write_bytes(b"\x89PNG preview of the new site")
    full = tmp_path / "site-backup.zip"
    full.write_bytes(b"PK the whole migrated site")
    worker_page.goto(contract_url)
    card = _first(worker_page)
    form = card.get_by_test_id("deliver-form")
    form.locator("textarea[name=message]").fill(
        "移行が完了しました。トップページのプレビューを添付します。"
    )
    form.locator("input[name=preview_files]").set_input_files(str(preview))
    form.locator("input[name=full_files]").set_input_files(str(full))
    _shot(worker_page, "03-worker-delivers")
    form.get_by_test_id("deliver").click()
    worker_page.wait_for_url(re.compile(r"/contracts/\d+/#milestone-\d+$"))
    assert _state(worker_page) == "納品済み・検収待ち"


def _fund_and_start(client_page, worker_page, contract_url):
    client_page.goto(contract_url)
    box = _first(client_page).get_by_test_id("fund-box")
    assert box.get_by_test_id("fund-amount").inner_text() == "¥60,000"
    assert box.get_by_test_id("wallet-balance").inner_text() == "¥100,000"
    _shot(client_page, "01-client-funds")
    box.get_by_test_id("fund").click()
    client_page.wait_for_url(re.compile(r"#milestone-\d+$"))
    assert _state(client_page) == "仮払い済み"

    worker_page.goto(contract_url)
    assert worker_page.get_by_test_id("wait-for-escrow").count() == 0
    _first(worker_page).get_by_test_id("start").click()
    worker_page.wait_for_url(re.compile(r"#milestone-\d+$"))
    assert _state(worker_page) == "作業中"
    _shot(worker_page, "02-worker-started")


def test_escrow_delivery_lock_approval_and_payment(
    client_page, worker_page, contract_url, tmp_path
):
    _log_in(client_page, "client@example.jp")
    _log_in(worker_page, "worker@example.jp")

    # given: the worker is told not to start before escrow, and cannot
    worker_page.goto(contract_url)
    assert (
        worker_page.get_by_test_id("wait-for-escrow").inner_text()
        == "仮払いが完了するまで作業を始めないでください"
    )
    assert _first(worker_page).get_by_test_id("start").count() == 0

    # when: the client funds, the worker starts and delivers a preview and the full site
    _fund_and_start(client_page, worker_page, contract_url)
    _deliver(worker_page, contract_url, tmp_path)

    # then: the client sees the preview, but the full file is locked until approval
    client_page.goto(contract_url)
    card = _first(client_page)
    files = card.get_by_test_id("delivery-file")
    assert files.count() == 2
    preview = card.locator('[data-testid="delivery-file"][data-visibility="preview"]')
    full = card.locator('[data-testid="delivery-file"][data-visibility="full"]')
    assert preview.get_by_test_id("file-download").inner_text() == "トップページ.png"
    assert full.get_by_test_id("file-download").count() == 0
    assert full.get_by_test_id("file-locked").inner_text() == "🔒 site-backup.zip"
    assert card.get_by_test_id("milestone-clock").get_attribute("data-kind") == "inspection"
    _shot(client_page, "04-client-inspects-locked")
    with client_page.expect_download() as shown:
        preview.get_by_test_id("file-download").click()
    assert Path(shown.value.path()).read_bytes() == b"\x89PNG preview of the new site"

    # when: the client approves
    card.get_by_test_id("approve").click()
    client_page.wait_for_url(re.compile(r"/contracts/\d+/$"))

    # then: both see it paid, and the full file downloads
    assert _state(client_page) == "支払い済み"
    worker_page.goto(contract_url)
    assert _state(worker_page) == "支払い済み"
    _shot(client_page, "05-client-paid")
    full = _first(client_page).locator('[data-testid="delivery-file"][data-visibility="full"]')
    with client_page.expect_download() as taken:
        full.get_by_test_id("file-download").click()
    assert taken.value.suggested_filename == "site-backup.zip"
    assert Path(taken.value.path()).read_bytes() == b"PK the whole migrated site"
    actions = client_page.get_by_test_id("contract-event").evaluate_all(
        "rows => rows.map(row => row.dataset.action)"
    )
    assert actions[-3:] == ["approve", "release", "request_funding"]
    # and the next milestone now waits for escrow
    second = client_page.locator('[data-testid="contract-milestone"][data-position="2"]')
    assert second.get_by_test_id("milestone-state").inner_text() == "仮払い待ち"


def test_the_client_vanishes_after_delivery_and_is_approved_automatically(
    client_page, worker_page, contract_url, tmp_path
):
    from ishibashi.core import clock

    _log_in(client_page, "client@example.jp")
    _log_in(worker_page, "worker@example.jp")
    _fund_and_start(client_page, worker_page, contract_url)
    _deliver(worker_page, contract_url, tmp_path)
    clock_text = _first(worker_page).get_by_test_id("milestone-clock").inner_text()
    assert clock_text.startswith(_ja("Inspection (検収) deadline"))

    # when: the client never answers; the sweeper runs after the inspection deadline
    with time_machine.travel(clock.now() + dt.timedelta(days=7, hours=1)):
        call_command("sweep", "--once")

    # then: the worker's page shows the automatic approval and the payment
    worker_page.goto(contract_url)
    assert _state(worker_page) == "支払い済み"
    event = worker_page.locator('[data-testid="contract-event"][data-action="auto_approve"]')
    assert event.get_by_test_id("event-label").inner_text() == _ja(
        "Approved automatically: no answer by the inspection deadline"
    )
    assert "石橋（自動）" in event.inner_text()
    assert worker_page.locator('[data-action="release"]').count() == 1
    _shot(worker_page, "06-auto-approved")

    # and the silent client now gets the full file as well
    client_page.goto(contract_url)
    full = _first(client_page).locator('[data-testid="delivery-file"][data-visibility="full"]')
    with client_page.expect_download() as taken:
        full.get_by_test_id("file-download").click()
    assert Path(taken.value.path()).read_bytes() == b"PK the whole migrated site"


def test_a_change_is_proposed_on_its_own_page_and_accepted(worker_page, client_page, contract_url):
    # given: the worker, on the contract
    _log_in(worker_page, "worker@example.jp")
    worker_page.goto(contract_url)

    # when: they open the change page from the contract and ask for more money on milestone 1
    worker_page.get_by_test_id("change-box").click()
    worker_page.wait_for_url(re.compile(r"/changes/$"))
    _shot(worker_page, "change-page")
    form = worker_page.get_by_test_id("change-form")
    form.locator("textarea[name=message]").fill("仕様追加のため増額をお願いします。")
    form.get_by_test_id("change-row").first.locator("input[name$=_amount_jpy]").fill("70000")
    form.get_by_test_id("propose-change").click()

    # then: back on the contract, the change waits for the client, priced
    worker_page.wait_for_url(re.compile(r"/contracts/\d+/(#changes)?$"))
    change = worker_page.get_by_test_id("change").first
    assert change.get_attribute("data-state") == "proposed"
    assert "+¥10,000" in change.get_by_test_id("change-delta").inner_text()
    _shot(worker_page, "change-proposed")

    # when: the client accepts it
    _log_in(client_page, "client@example.jp")
    client_page.goto(contract_url)
    client_page.get_by_test_id("change-accept").click()

    # then: a new terms version with the new amount
    client_page.get_by_test_id("terms-version").first.wait_for()
    newest = client_page.get_by_test_id("terms-version").first
    assert newest.get_attribute("data-version") == "2"
    assert "¥70,000" in newest.get_by_test_id("terms-milestone").first.inner_text()
