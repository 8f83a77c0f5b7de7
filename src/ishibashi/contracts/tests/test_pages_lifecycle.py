"""The contract page as the door to the lifecycle: each action's button, its success and refusal.

The rules are the services' (test_lifecycle.py); these tests check the door. A button is shown
only to the party who may press it; pressing it calls the service and redirects; a refusal
comes back as a message or next to its field in the request's language, changes nothing, and
is never a server error; anybody outside the contract gets the same 404 as for nothing.

Messages whose Japanese is still being written are compared with what the catalogue gives for
them (`_ja`), so these tests hold before and after the translation lands.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import translation
from django.utils.html import escape

from conftest import log_in
from ishibashi.contracts import services as cs
from ishibashi.contracts import views
from ishibashi.contracts.models import (
    ChangeRequest,
    ChangeState,
    Contract,
    ContractEvent,
    ContractFlag,
    ContractMessage,
    ContractState,
    ContractTerms,
    Delivery,
    DeliveryFile,
    Milestone,
    MilestoneState,
)
from ishibashi.contracts.selectors import RunningClock
from ishibashi.contracts.services import DeliveryUpload
from ishibashi.contracts.states import Action
from ishibashi.contracts.tests.factories import SEED_SPLIT, deposit, hire
from ishibashi.ledger.selectors import wallet_summary_for_user

JST = ZoneInfo("Asia/Tokyo")
NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=JST)
DAY = dt.timedelta(days=1)
S = MilestoneState
SERVICES = [*Path(cs.__file__).parent.glob("*.py"), Path(cs.__file__).parents[1] / "events.py"]


@pytest.fixture(autouse=True)
def _fixed_now(time_machine, settings, tmp_path):
    time_machine.move_to(NOW, tick=False)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def hanako(make_user):
    """The client, with money in the wallet for escrow."""
    user = make_user(email="hanako@example.jp", display_name="発注 花子", is_worker=False)
    deposit(user, 500_000)
    return user


@pytest.fixture
def taro(make_user):
    return make_user(email="taro@example.jp", display_name="受注 太郎", is_client=False)


@pytest.fixture
def third(make_user):
    return make_user(email="third@example.jp", display_name="第三者 次郎")


@pytest.fixture
def operator(make_staff):
    return make_staff(email="operator@example.jp", display_name="審査 三郎")


@pytest.fixture
def contract(hanako, taro) -> Contract:
    """実作業 ¥60,000 then 作業完了確認 ¥20,000; two revision rounds; kill fee 30 %."""
    return hire(hanako, taro, kill_fee_percent=30)


def _ja(msgid: str, **values: Any) -> str:
    """What the Japanese catalogue says for an English msgid (the msgid itself until translated)."""
    with translation.override("ja"):
        text = translation.gettext(msgid)
    return text % values if values else text


def _days_ja(count: int) -> str:
    with translation.override("ja"):
        return translation.ngettext("%(count)d day", "%(count)d days", count) % {"count": count}


def _web(user, *, language: str | None = None) -> Client:
    web = Client(HTTP_ACCEPT_LANGUAGE=language) if language else Client()
    return log_in(web, user)


def _url(contract: Contract, suffix: str = "") -> str:
    return f"/contracts/{contract.pk}/{suffix}"


def _milestones(contract: Contract) -> list[Milestone]:
    return list(Milestone.objects.filter(contract=contract).order_by("position"))


def _first(contract: Contract) -> Milestone:
    return _milestones(contract)[0]


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def _card(response, milestone: Milestone):
    return next(c for c in response.context["milestones"] if c.milestone.pk == milestone.pk)


def _snapshot(contract: Contract, *users) -> tuple:
    """What a refused action must leave alone: states, events, money, files, changes, flags."""
    return (
        list(Milestone.objects.filter(contract=contract).order_by("pk").values_list("pk", "state")),
        Contract.objects.filter(pk=contract.pk).values_list("state", "cancelled_at").get(),
        ContractEvent.objects.filter(contract=contract).count(),
        [wallet_summary_for_user(user=user) for user in users],
        Delivery.objects.count(),
        DeliveryFile.objects.count(),
        list(ChangeRequest.objects.order_by("pk").values_list("pk", "state")),
        ContractFlag.objects.count(),
        ContractMessage.objects.count(),
    )


def _files(*names_and_visibility: tuple[str, str]) -> list[DeliveryUpload]:
    return [
        DeliveryUpload(
            file=SimpleUploadedFile(name, f"content of {name}".encode(), "text/plain"),
            visibility=visibility,
        )
        for name, visibility in names_and_visibility
    ]


def _funded(contract: Contract, hanako) -> Milestone:
    return cs.milestone_fund(client=hanako, milestone_id=_first(contract).pk)


def _started(contract: Contract, hanako, taro) -> Milestone:
    milestone = _funded(contract, hanako)
    return cs.milestone_start(worker=taro, milestone_id=milestone.pk)


def _delivered(contract: Contract, hanako, taro) -> Delivery:
    milestone = _started(contract, hanako, taro)
    return cs.delivery_create(
        worker=taro,
        milestone_id=milestone.pk,
        message="移行が完了しました。",
        uploads=_files(("preview.png", "preview"), ("site-backup.zip", "full")),
    )


def _deliver_data(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "message": "移行が完了しました。確認をお願いします。",
        "preview_files": [SimpleUploadedFile("screenshot.png", b"png bytes", "image/png")],
        "full_files": [SimpleUploadedFile("site.zip", b"zip bytes", "application/zip")],
    }
    data.update(changes)
    return data


# --- what the page shows --------------------------------------------------------------------


def test_the_client_sees_the_fund_button_with_the_amount_and_the_wallet_balance(
    contract, hanako, taro
):
    as_client = _web(hanako).get(_url(contract))
    as_worker = _web(taro).get(_url(contract))

    page = as_client.content.decode()
    first = _first(contract)
    assert _card(as_client, first).actions == {"fund"}
    assert 'data-testid="fund-amount">¥60,000<' in page
    assert 'data-testid="wallet-balance">¥500,000<' in page
    assert f'action="/contracts/{contract.pk}/milestones/{first.pk}/fund/"' in page
    assert 'data-testid="fund"' not in as_worker.content.decode()
    assert "仮払いが完了するまで作業を始めないでください" in as_worker.content.decode()


def test_a_client_short_of_money_is_sent_to_deposit_instead_of_a_fund_button(make_user, taro):
    poor = make_user(email="poor@example.jp", is_worker=False)
    deposit(poor, 10_000)
    contract = hire(poor, taro)

    response = _web(poor).get(_url(contract))

    page = response.content.decode()
    assert _card(response, _first(contract)).fund_shortfall_jpy == 50_000
    assert 'data-testid="fund"' not in page
    assert 'data-testid="fund-shortfall"' in page
    assert 'href="/wallet/deposit/"' in page


def test_funding_from_the_page_moves_the_money_and_redirects(contract, hanako):
    first = _first(contract)

    response = _web(hanako).post(_url(contract, f"milestones/{first.pk}/fund/"), follow=True)

    assert response.redirect_chain == [(f"/contracts/{contract.pk}/#milestone-{first.pk}", 302)]
    first.refresh_from_db()
    assert first.state == S.FUNDED
    assert wallet_summary_for_user(user=hanako).escrow_jpy == 60_000
    assert len(_messages(response)) == 1
    assert _card(response, first).actions >= {"dispute"}
    assert "fund" not in _card(response, first).actions


def test_funding_twice_is_refused_with_a_message_and_moves_no_money(contract, hanako, taro):
    first = _first(contract)
    web = _web(hanako)
    web.post(_url(contract, f"milestones/{first.pk}/fund/"), follow=True)
    before = _snapshot(contract, hanako, taro)

    again = web.post(_url(contract, f"milestones/{first.pk}/fund/"), follow=True)

    assert again.status_code == 200
    assert _messages(again) == [_ja("This milestone is not waiting for escrow.")]
    assert _snapshot(contract, hanako, taro) == before


def test_funding_without_the_money_is_refused_with_the_balance(make_user, taro):
    poor = make_user(email="poor@example.jp", is_worker=False)
    deposit(poor, 10_000)
    contract = hire(poor, taro)
    before = _snapshot(contract, poor, taro)

    response = _web(poor).post(
        _url(contract, f"milestones/{_first(contract).pk}/fund/"), follow=True
    )

    assert response.status_code == 200
    assert _messages(response) == [
        _ja(
            "Not enough balance: ¥%(balance)s available, ¥%(needed)s needed.",
            balance="10,000",
            needed="60,000",
        )
    ]
    assert _snapshot(contract, poor, taro) == before


def test_the_worker_cannot_fund_and_gets_the_403_page(contract, hanako, taro):
    before = _snapshot(contract, hanako, taro)

    response = _web(taro).post(_url(contract, f"milestones/{_first(contract).pk}/fund/"))

    assert response.status_code == 403
    assert escape(_ja("This action is the other party's to take.")) in response.content.decode()
    assert _snapshot(contract, hanako, taro) == before


def test_starting_before_escrow_is_refused_in_words_and_the_button_is_not_shown(
    contract, hanako, taro
):
    first = _first(contract)
    page = _web(taro).get(_url(contract))
    assert "start" not in _card(page, first).actions
    before = _snapshot(contract, hanako, taro)

    response = _web(taro).post(_url(contract, f"milestones/{first.pk}/start/"), follow=True)

    assert _messages(response) == [
        _ja(
            "Escrow (仮払い) for this milestone is not funded yet. Do not start work before "
            "the client's escrow is complete."
        )
    ]
    assert _snapshot(contract, hanako, taro) == before


def test_the_worker_starts_once_funded(contract, hanako, taro):
    first = _funded(contract, hanako)
    assert "start" in _card(_web(taro).get(_url(contract)), first).actions

    response = _web(taro).post(_url(contract, f"milestones/{first.pk}/start/"), follow=True)

    first.refresh_from_db()
    assert first.state == S.IN_PROGRESS
    assert response.context["events"][-1].event.action == "start"
    assert response.context["events"][-1].label == _ja("Work started")


def test_the_worker_may_ask_for_the_next_milestones_escrow(contract, taro):
    second = _milestones(contract)[1]

    _web(taro).post(_url(contract, f"milestones/{second.pk}/request-funding/"))

    second.refresh_from_db()
    assert second.state == S.AWAITING_FUNDING


# --- delivery, the deliverable lock, inspection ---------------------------------------------


def test_the_worker_delivers_a_preview_and_a_full_file_from_the_page(contract, hanako, taro):
    first = _started(contract, hanako, taro)
    form_page = _web(taro).get(_url(contract)).content.decode()
    assert 'enctype="multipart/form-data"' in form_page
    assert f'id="id_deliver{first.pk}_full_files"' in form_page

    response = _web(taro).post(
        _url(contract, f"milestones/{first.pk}/deliver/"), _deliver_data(), follow=True
    )

    assert response.redirect_chain == [(f"/contracts/{contract.pk}/#milestone-{first.pk}", 302)]
    delivery = Delivery.objects.get()
    assert delivery.message == "移行が完了しました。確認をお願いします。"
    assert sorted(delivery.files.values_list("name", "visibility")) == [
        ("screenshot.png", "preview"),
        ("site.zip", "full"),
    ]
    first.refresh_from_db()
    assert first.state == S.DELIVERED


def test_the_client_sees_the_preview_and_the_full_file_locked_with_the_reason(
    contract, hanako, taro
):
    delivery = _delivered(contract, hanako, taro)
    preview = delivery.files.get(visibility="preview")
    full = delivery.files.get(visibility="full")

    response = _web(hanako).get(_url(contract))

    page = response.content.decode()
    assert f'href="/contracts/files/{preview.pk}/"' in page
    assert f'href="/contracts/files/{full.pk}/"' not in page
    assert 'data-testid="file-locked">🔒 site-backup.zip<' in page
    assert str(views.LOCKED_REASON) in page
    # the worker may always take their own files
    assert f'href="/contracts/files/{full.pk}/"' in _web(taro).get(_url(contract)).content.decode()


def test_a_locked_full_file_is_a_403_with_the_reason_and_the_preview_downloads(
    contract, hanako, taro
):
    delivery = _delivered(contract, hanako, taro)
    web = _web(hanako)

    locked = web.get(f"/contracts/files/{delivery.files.get(visibility='full').pk}/")
    preview = web.get(f"/contracts/files/{delivery.files.get(visibility='preview').pk}/")

    assert locked.status_code == 403
    assert str(views.LOCKED_REASON) in locked.content.decode()
    assert preview.status_code == 200
    assert preview["Content-Disposition"].startswith("attachment")
    assert 'filename="preview.png"' in preview["Content-Disposition"]
    assert b"".join(preview.streaming_content) == b"content of preview.png"


def test_a_delivery_without_files_is_refused_on_the_form_and_stores_nothing(
    contract, hanako, taro, settings
):
    first = _started(contract, hanako, taro)
    before = _snapshot(contract, hanako, taro)

    response = _web(taro).post(
        _url(contract, f"milestones/{first.pk}/deliver/"),
        _deliver_data(preview_files=[], full_files=[]),
    )

    assert response.status_code == 200
    form = _card(response, first).forms["deliver"]
    assert form.non_field_errors() == [
        _ja(
            "Attach the delivered files. Only research, stand-by, completion-check and "
            "monthly milestones can be delivered with a report alone."
        )
    ]
    assert form["message"].value() == "移行が完了しました。確認をお願いします。"
    assert _snapshot(contract, hanako, taro) == before


def test_a_file_of_a_refused_type_is_named_in_the_message_and_nothing_is_stored(
    contract, hanako, taro, settings
):
    first = _started(contract, hanako, taro)
    before = _snapshot(contract, hanako, taro)

    response = _web(taro).post(
        _url(contract, f"milestones/{first.pk}/deliver/"),
        _deliver_data(full_files=[SimpleUploadedFile("run.exe", b"MZ", "application/x-exe")]),
    )

    errors = _card(response, first).forms["deliver"].non_field_errors()
    assert len(errors) == 1
    assert "run.exe" in errors[0]
    assert _snapshot(contract, hanako, taro) == before
    media = Path(settings.MEDIA_ROOT)
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


def test_a_report_milestone_offers_delivery_without_files(hanako, taro):
    contract = hire(hanako, taro, split=SEED_SPLIT)
    first = _funded(contract, hanako)  # 事前調査 (research)

    response = _web(taro).post(
        _url(contract, f"milestones/{first.pk}/deliver/"),
        {"message": "調査の結果、移行先サーバーに既存ファイルがありました。"},
    )

    assert response.status_code == 302
    assert Delivery.objects.get().is_report is True


def test_the_inspection_clock_reads_in_words_for_both_parties(contract, hanako, taro, time_machine):
    first = _delivered(contract, hanako, taro).milestone
    time_machine.shift(4 * DAY)

    as_client = _web(hanako).get(_url(contract))
    as_worker = _web(taro, language="en").get(_url(contract))

    card = _card(as_client, first)
    assert card.clock.kind == "inspection"
    assert card.clock_words == _ja("%(deadline)s: %(duration)s left") % {
        "deadline": _ja("Inspection (検収) deadline"),
        "duration": _days_ja(3),
    }
    assert card.clock_words in as_client.content.decode()
    assert "Inspection (検収) deadline: 3 days left" in as_worker.content.decode()


def test_the_client_approves_and_both_see_it_paid_and_the_full_file_unlocks(contract, hanako, taro):
    delivery = _delivered(contract, hanako, taro)
    full = delivery.files.get(visibility="full")

    response = _web(hanako).post(_url(contract, f"deliveries/{delivery.pk}/approve/"), follow=True)

    assert response.status_code == 200
    assert _card(response, delivery.milestone).milestone.state == S.RELEASED
    for user in (hanako, taro):
        page = _web(user).get(_url(contract)).content.decode()
        assert page.count(">支払い済み<") == 1
    download = _web(hanako).get(f"/contracts/files/{full.pk}/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"content of site-backup.zip"
    actions = [row.event.action for row in response.context["events"]]
    # the next milestone's escrow is asked for at once
    assert actions[-3:] == ["approve", "release", "request_funding"]


def test_only_the_client_approves(contract, hanako, taro):
    delivery = _delivered(contract, hanako, taro)
    before = _snapshot(contract, hanako, taro)

    response = _web(taro).post(_url(contract, f"deliveries/{delivery.pk}/approve/"))

    assert response.status_code == 403
    assert _snapshot(contract, hanako, taro) == before


def test_a_revision_needs_a_reason(contract, hanako, taro):
    delivery = _delivered(contract, hanako, taro)
    before = _snapshot(contract, hanako, taro)

    response = _web(hanako).post(
        _url(contract, f"deliveries/{delivery.pk}/revision/"), {"reason": "  "}
    )

    assert response.status_code == 200
    form = _card(response, delivery.milestone).forms["revision"]
    assert list(form.errors) == ["reason"]
    assert _snapshot(contract, hanako, taro) == before


def test_a_revision_with_a_reason_uses_a_round_and_the_last_round_hides_the_form(hanako, taro):
    contract = hire(hanako, taro, revision_rounds=1)
    delivery = _delivered(contract, hanako, taro)
    assert _card(_web(hanako).get(_url(contract)), delivery.milestone).revisions_left == 1

    response = _web(hanako).post(
        _url(contract, f"deliveries/{delivery.pk}/revision/"),
        {"reason": "トップページの画像が表示されません。"},
        follow=True,
    )

    card = _card(response, delivery.milestone)
    assert card.milestone.state == S.REVISION_REQUESTED
    assert card.revisions_left == 0
    assert response.context["events"][-1].detail == "トップページの画像が表示されません。"
    second = cs.delivery_create(
        worker=taro,
        milestone_id=delivery.milestone_id,
        message="修正しました。",
        uploads=_files(("site-v2.zip", "full")),
    )
    again = _web(hanako).get(_url(contract))
    card = _card(again, delivery.milestone)
    assert card.latest.pk == second.pk
    assert "request_revision" not in card.actions
    assert "revision" not in card.forms
    assert 'data-testid="no-revisions-left"' in again.content.decode()


def test_approving_an_older_version_is_refused_with_a_message(contract, hanako, taro):
    delivery = _delivered(contract, hanako, taro)
    cs.delivery_request_revision(client=hanako, delivery_id=delivery.pk, reason="直してください。")
    cs.delivery_create(
        worker=taro,
        milestone_id=delivery.milestone_id,
        message="v2",
        uploads=_files(("v2.zip", "full")),
    )
    before = _snapshot(contract, hanako, taro)

    response = _web(hanako).post(_url(contract, f"deliveries/{delivery.pk}/approve/"), follow=True)

    assert _messages(response) == [
        _ja("A newer version of this delivery exists. Inspect the latest one.")
    ]
    assert _snapshot(contract, hanako, taro) == before


# --- disputes and the operator ----------------------------------------------------------------


def test_a_dispute_needs_a_reason_then_the_operator_freezes_and_decides(
    contract, hanako, taro, operator
):
    first = _delivered(contract, hanako, taro).milestone
    empty = _web(taro).post(_url(contract, f"milestones/{first.pk}/dispute/"), {"reason": ""})
    assert list(_card(empty, first).forms["dispute"].errors) == ["reason"]

    _web(taro).post(
        _url(contract, f"milestones/{first.pk}/dispute/"), {"reason": "検収されません。"}
    )
    page = _web(operator).get(_url(contract))
    card = _card(page, first)
    assert card.milestone.state == S.DISPUTED
    assert set(card.forms) == {"freeze", "resolve"}
    assert "freeze" not in _card(_web(hanako).get(_url(contract)), first).forms

    _web(operator).post(
        _url(contract, f"milestones/{first.pk}/freeze-dispute/"), {"note": "確認中"}
    )
    bad = _web(operator).post(
        _url(contract, f"milestones/{first.pk}/resolve-dispute/"),
        {"worker_amount_jpy": "70000", "note": "折半"},
    )
    assert list(_card(bad, first).forms["resolve"].errors) == ["worker_amount_jpy"]
    done = _web(operator).post(
        _url(contract, f"milestones/{first.pk}/resolve-dispute/"),
        {"worker_amount_jpy": "30000", "note": "折半"},
        follow=True,
    )

    first.refresh_from_db()
    assert first.state == S.RESOLVED
    assert first.dispute_frozen is True
    labels = {row.event.action: row for row in done.context["events"]}
    assert labels["dispute_frozen"].label == _ja(
        "The operator froze the payment deadline while deciding"
    )
    assert "¥30,000" in labels["resolve"].detail


def test_a_party_cannot_freeze_or_decide_a_dispute(contract, hanako, taro):
    first = _delivered(contract, hanako, taro).milestone
    cs.milestone_dispute(actor=taro, milestone_id=first.pk, reason="検収されません。")
    before = _snapshot(contract, hanako, taro)

    freeze = _web(hanako).post(
        _url(contract, f"milestones/{first.pk}/freeze-dispute/"), {"note": "x"}
    )
    resolve = _web(taro).post(
        _url(contract, f"milestones/{first.pk}/resolve-dispute/"),
        {"worker_amount_jpy": "60000", "note": "x"},
    )

    assert freeze.status_code == resolve.status_code == 403
    assert _snapshot(contract, hanako, taro) == before


# --- cancellation, kill fee, monthly notice, flags ----------------------------------------------


def test_the_cancel_box_explains_each_outcome_and_the_kill_fee_before_submitting(
    contract, hanako, taro
):
    _started(contract, hanako, taro)

    as_client = _web(hanako, language="en").get(_url(contract))
    as_worker = _web(taro, language="en").get(_url(contract))

    client_outcomes = [o.text for o in as_client.context["cancel_outcomes"]]
    assert client_outcomes[0].startswith("Work has started: the worker is asked to accept.")
    assert (
        "the kill fee of 30% (¥18,000) goes to the worker and ¥42,000 back to you"
        in (client_outcomes[0])
    )
    assert client_outcomes[1] == "Cancelled; nothing was paid in."
    assert as_worker.context["cancel_outcomes"][0].text.startswith(
        "You give up started work: ¥60,000 goes back to the client in full."
    )
    assert 'data-testid="cancel-kill-fee"' in as_client.content.decode()


def test_a_client_cancels_started_work_and_the_worker_accepts_the_kill_fee(contract, hanako, taro):
    first = _started(contract, hanako, taro)
    empty = _web(hanako).post(_url(contract, "cancel/"), {"reason": ""})
    assert list(empty.context["forms"]["cancel"].errors) == ["reason"]

    _web(hanako).post(_url(contract, "cancel/"), {"reason": "予算がなくなりました。"})
    as_worker = _web(taro).get(_url(contract))
    card = _card(as_worker, first)
    assert card.kill_fee_split == (18_000, 42_000)
    assert "accept_cancellation" in card.actions
    assert "accept_cancellation" not in _card(_web(hanako).get(_url(contract)), first).actions
    assert card.clock.kind == "cancellation_answer"

    response = _web(taro).post(
        _url(contract, f"milestones/{first.pk}/accept-cancellation/"), follow=True
    )

    first.refresh_from_db()
    assert first.state == S.CANCELLED
    assert Contract.objects.get(pk=contract.pk).state == ContractState.CANCELLED
    rows = {row.event.action: row for row in response.context["events"]}
    assert rows["cancel_with_kill_fee"].label == _ja("Cancelled with the kill fee (キャンセル料)")
    assert "¥18,000" in rows["cancel_with_kill_fee"].detail
    assert rows["cancellation"].detail == "予算がなくなりました。"
    assert wallet_summary_for_user(user=taro).earnings_jpy > 0
    assert response.context["forms"] == {}  # the contract has ended: nothing left to press


def test_the_client_cannot_accept_their_own_cancellation(contract, hanako, taro):
    first = _started(contract, hanako, taro)
    cs.contract_cancel(actor=hanako, contract_id=contract.pk, reason="予算がなくなりました。")
    before = _snapshot(contract, hanako, taro)

    response = _web(hanako).post(_url(contract, f"milestones/{first.pk}/accept-cancellation/"))

    assert response.status_code == 403
    assert _snapshot(contract, hanako, taro) == before


def test_a_monthly_client_gives_notice_and_the_worker_may_end_it_early(hanako, taro):
    contract = hire(
        hanako, taro, contract_type="monthly", split=(("2026年12月分", "monthly", 50_000),)
    )
    page = _web(hanako).get(_url(contract))
    assert page.context["cancel_is_notice"] is True
    assert 'data-testid="cancel-notice"' in page.content.decode()

    _web(hanako).post(_url(contract, "cancel/"), {"reason": "社内で対応します。"})
    contract.refresh_from_db()
    assert contract.termination_effective_at == NOW + 30 * DAY
    as_worker = _web(taro).get(_url(contract))
    assert "accept_early_termination" in as_worker.context["actions"]
    assert "cancel" not in _web(hanako).get(_url(contract)).context["actions"]
    assert as_worker.context["events"][-1].label == _ja("Notice of termination (30 days)")

    _web(taro).post(_url(contract, "accept-early-termination/"))

    contract.refresh_from_db()
    assert contract.cancelled_at == NOW


def test_early_termination_without_a_notice_is_refused_with_a_message(contract, hanako, taro):
    before = _snapshot(contract, hanako, taro)

    response = _web(taro).post(_url(contract, "accept-early-termination/"), follow=True)

    assert _messages(response) == [_ja("No notice of termination is waiting for your answer.")]
    assert _snapshot(contract, hanako, taro) == before


def test_the_worker_reports_a_request_to_work_before_escrow_once(contract, hanako, taro):
    page = _web(taro).get(_url(contract))
    assert "flag" in page.context["forms"]
    assert "flag" not in _web(hanako).get(_url(contract)).context["forms"]

    response = _web(taro).post(
        _url(contract, "flag/"),
        {"note": "納期が厳しいので先に作業してと言われました。"},
        follow=True,
    )

    assert ContractFlag.objects.filter(contract=contract).count() == 1
    assert "flag" not in response.context["forms"]
    assert response.context["events"][-1].label == _ja("Reported: asked to work before escrow")
    again = _web(taro).post(_url(contract, "flag/"), {"note": ""})
    assert again.status_code == 200
    assert ContractFlag.objects.count() == 1


def test_the_client_cannot_flag(contract, hanako, taro):
    before = _snapshot(contract, hanako, taro)

    response = _web(hanako).post(_url(contract, "flag/"), {"note": ""})

    assert response.status_code == 403
    assert _snapshot(contract, hanako, taro) == before


# --- messages and changes -----------------------------------------------------------------------


def test_both_parties_write_in_the_thread_and_an_empty_message_is_refused(contract, hanako, taro):
    empty = _web(taro).post(_url(contract, "messages/"), {"body": ""})
    assert empty.status_code == 200
    assert list(empty.context["forms"]["message"].errors) == ["body"]
    assert ContractMessage.objects.count() == 0

    sent = _web(taro).post(_url(contract, "messages/"), {"body": "仮払いをお願いします。"})
    _web(hanako).post(_url(contract, "messages/"), {"body": "本日中に行います。"})

    assert sent["Location"] == f"/contracts/{contract.pk}/#messages"
    thread = _web(hanako).get(_url(contract)).context["thread"]
    assert [m.body for m in thread] == ["仮払いをお願いします。", "本日中に行います。"]


def test_the_change_form_is_on_its_own_page_linked_from_the_contract(contract, hanako, taro):
    first, second = _milestones(contract)

    contract_page = _web(taro).get(_url(contract)).content.decode()
    form_page = _web(taro).get(_url(contract, "changes/"))

    # the contract page only links to it (no form with a row per milestone on every view)
    assert f'href="{_url(contract, "changes/")}"' in contract_page
    assert 'data-testid="change-form"' not in contract_page
    assert form_page.status_code == 200
    html = form_page.content.decode()
    assert 'data-testid="change-form"' in html
    assert f'name="m{first.pk}_amount_jpy"' in html
    assert f'name="m{second.pk}_due_on"' in html


def test_no_change_can_be_proposed_on_an_ended_contract(contract, hanako, taro):
    contract.state = ContractState.COMPLETED
    contract.save(update_fields=["state"])

    response = _web(taro).get(_url(contract, "changes/"), follow=True)

    assert response.redirect_chain[-1][0] == f"/contracts/{contract.pk}/#changes"
    assert "契約が進行中のときだけ" in response.content.decode()
    assert 'data-testid="change-box"' not in response.content.decode()


def test_the_worker_proposes_a_priced_change_and_the_client_accepts_it(contract, hanako, taro):
    first, second = _milestones(contract)
    earlier = second.due_on - 5 * DAY
    response = _web(taro).post(
        _url(contract, "changes/"),
        {
            "message": "仕様追加のため、金額と納期を変更させてください。",
            f"m{first.pk}_amount_jpy": "70000",
            f"m{second.pk}_due_on": earlier.isoformat(),
            "add_title": "追加ページ制作",
            "add_kind": "main_work",
            "add_amount_jpy": "30000",
            "add_due_on": (NOW.date() + 25 * DAY).isoformat(),
            "kill_fee_percent": "20",
        },
    )
    assert response.status_code == 302
    change = ChangeRequest.objects.get()
    assert change.price_delta_jpy == 40_000
    assert change.shortens_due_date is True

    as_client = _web(hanako).get(_url(contract))
    row = as_client.context["changes"][0]
    page = as_client.content.decode()
    assert row.actions == {"accept", "decline"}
    assert row.price_delta == "+¥40,000"
    assert 'data-testid="shortens-due-date"' in page
    assert _web(taro).get(_url(contract)).context["changes"][0].actions == {"withdraw"}

    _web(hanako).post(_url(contract, f"changes/{change.pk}/accept/"))

    contract.refresh_from_db()
    assert contract.terms_version == 2
    assert contract.kill_fee_percent == 20
    versions = _web(taro).get(_url(contract)).context["terms_versions"]
    assert [v.version for v in versions] == [2, 1]
    assert [v.total_jpy for v in versions] == [120_000, 80_000]
    assert (
        versions[0].sha256
        == ContractTerms.objects.get(contract=contract, version=2).snapshot_sha256
    )
    assert [m["title"] for m in versions[0].milestones] == [
        "実作業",
        "作業完了確認",
        "追加ページ制作",
    ]


def test_a_bad_change_is_refused_on_its_row_and_nothing_is_proposed(contract, hanako, taro):
    first, _second = _milestones(contract)
    before = _snapshot(contract, hanako, taro)

    response = _web(taro).post(
        _url(contract, "changes/"),
        {"message": "減額します。", f"m{first.pk}_amount_jpy": "0"},
    )

    assert response.status_code == 200
    form = response.context["forms"]["change"]
    assert list(form.errors) == [f"m{first.pk}_amount_jpy"]
    assert _snapshot(contract, hanako, taro) == before


def test_a_change_that_changes_nothing_is_refused_above_the_form(contract, hanako, taro):
    response = _web(hanako).post(_url(contract, "changes/"), {"message": "よろしく"})

    assert response.context["forms"]["change"].non_field_errors() == [
        _ja("The change does not change anything.")
    ]
    assert ChangeRequest.objects.count() == 0


def test_an_added_milestone_without_a_date_is_refused_on_its_field(contract, hanako, taro):
    response = _web(hanako).post(
        _url(contract, "changes/"),
        {
            "message": "追加",
            "add_title": "追加作業",
            "add_kind": "main_work",
            "add_amount_jpy": "5000",
        },
    )

    assert list(response.context["forms"]["change"].errors) == ["add_due_on"]
    assert ChangeRequest.objects.count() == 0


def test_the_other_party_declines_and_the_proposer_withdraws(contract, hanako, taro):
    first = _first(contract)
    proposed = cs.change_propose(
        actor=hanako,
        contract_id=contract.pk,
        message="減額をお願いします。",
        edits=[cs.MilestoneEdit(id=first.pk, amount_jpy=50_000)],
    )
    own = _web(hanako).post(_url(contract, f"changes/{proposed.pk}/accept/"))
    assert own.status_code == 403

    _web(taro).post(
        _url(contract, f"changes/{proposed.pk}/decline/"), {"note": "お受けできません。"}
    )
    proposed.refresh_from_db()
    assert (proposed.state, proposed.answer_note) == (ChangeState.DECLINED, "お受けできません。")

    again = cs.change_propose(
        actor=hanako, contract_id=contract.pk, message="再提案", scope="範囲を縮小します。"
    )
    _web(hanako).post(_url(contract, f"changes/{again.pk}/withdraw/"))
    again.refresh_from_db()
    assert again.state == ChangeState.WITHDRAWN
    labels = [row.label for row in _web(taro).get(_url(contract)).context["events"][-3:]]
    assert labels == [
        _ja("Change declined"),
        _ja("Change proposed (変更依頼)"),
        _ja("Change withdrawn"),
    ]


def test_withdrawing_someone_elses_change_is_refused(contract, hanako, taro):
    proposed = cs.change_propose(
        actor=hanako, contract_id=contract.pk, message="再提案", scope="範囲を縮小します。"
    )
    before = _snapshot(contract, hanako, taro)

    response = _web(taro).post(_url(contract, f"changes/{proposed.pk}/withdraw/"))

    assert response.status_code == 403
    assert _snapshot(contract, hanako, taro) == before


# --- the timeline, the clock, automatic approval ------------------------------------------------


def _actions_the_services_write() -> set[str]:
    """Every event action: the transition table's, and each literal the services append."""
    source = "\n".join(path.read_text() for path in SERVICES)
    of_contract = set(re.findall(r'contract_transition\(\s*\w+,\s*action="(\w+)"', source))
    literal = set(re.findall(r'action="(\w+)"', source)) - of_contract
    return (
        literal | {f"contract_{name}" for name in of_contract} | {action.value for action in Action}
    )


def test_every_event_the_services_write_has_a_label():
    missing = sorted(_actions_the_services_write() - set(views.EVENT_LABELS))

    assert missing == []


def test_the_timeline_labels_the_automatic_approval_of_a_silent_client(
    contract, hanako, taro, time_machine
):
    first = _delivered(contract, hanako, taro).milestone
    time_machine.shift(7 * DAY + dt.timedelta(minutes=1))

    assert cs.milestones_sweep_due() >= 1

    response = _web(taro).get(_url(contract))
    first.refresh_from_db()
    assert first.state == S.RELEASED
    rows = {row.event.action: row for row in response.context["events"]}
    assert rows["auto_approve"].label == _ja(
        "Approved automatically: no answer by the inspection deadline"
    )
    assert rows["auto_approve"].event.actor is None
    assert "石橋（自動）" in response.content.decode()
    english = _web(hanako, language="en").get(_url(contract)).content.decode()
    assert "Approved automatically: no answer by the inspection deadline" in english


@pytest.mark.parametrize(
    ("_case", "hours", "days", "english"),
    [
        ("whole days", 72, 3, "Inspection (検収) deadline: 3 days left"),
        ("days and hours", 80, 3, "Inspection (検収) deadline: 3 days 8 hours left"),
        ("one day one hour", 25, 1, "Inspection (検収) deadline: 1 day 1 hour left"),
        ("hours on the last day", 5, 0, "Inspection (検収) deadline: 5 hours left"),
        ("one hour", 1, 0, "Inspection (検収) deadline: 1 hour left"),
        ("minutes", 0, 0, "Inspection (検収) deadline: less than an hour left"),
        ("passed", -2, -1, "Inspection (検収) deadline has passed"),
    ],
)
def test_a_clock_reads_in_words(_case, hours, days, english):
    running = RunningClock(
        kind="inspection",
        label="Inspection (検収) deadline",
        deadline=NOW,
        days_left=days,
        hours_left=hours,
        waiting_on="client",
    )

    with translation.override("en"):
        assert views.clock_in_words(running) == english


def test_the_funding_clock_reads_in_japanese(contract, hanako, time_machine):
    time_machine.shift(2 * DAY)

    card = _card(_web(hanako).get(_url(contract)), _first(contract))

    assert card.clock.kind == "funding"
    assert card.clock_words == _ja("%(deadline)s: %(duration)s left") % {
        "deadline": _ja("Escrow (仮払い) deadline"),
        "duration": _days_ja(5),
    }


# --- who may see and press ------------------------------------------------------------------------


def test_a_third_party_gets_404_for_the_page_every_action_and_every_file(
    contract, hanako, taro, third
):
    delivery = _delivered(contract, hanako, taro)
    first = delivery.milestone
    change = cs.change_propose(
        actor=hanako, contract_id=contract.pk, message="再提案", scope="範囲を縮小します。"
    )
    before = _snapshot(contract, hanako, taro)
    web = _web(third)
    posts = [
        f"milestones/{first.pk}/request-funding/",
        f"milestones/{first.pk}/fund/",
        f"milestones/{first.pk}/start/",
        f"milestones/{first.pk}/deliver/",
        f"milestones/{first.pk}/dispute/",
        f"milestones/{first.pk}/accept-cancellation/",
        f"milestones/{first.pk}/freeze-dispute/",
        f"milestones/{first.pk}/resolve-dispute/",
        f"deliveries/{delivery.pk}/approve/",
        f"deliveries/{delivery.pk}/revision/",
        "cancel/",
        "accept-early-termination/",
        "flag/",
        "messages/",
        "changes/",
        f"changes/{change.pk}/accept/",
        f"changes/{change.pk}/decline/",
        f"changes/{change.pk}/withdraw/",
    ]

    statuses = {
        suffix: web.post(
            _url(contract, suffix),
            {"reason": "x", "note": "x", "body": "x", "message": "x", "worker_amount_jpy": "1"},
        ).status_code
        for suffix in posts
    }
    files = [web.get(f"/contracts/files/{f.pk}/").status_code for f in delivery.files.all()]

    assert web.get(_url(contract)).status_code == 404
    assert statuses == dict.fromkeys(posts, 404)
    assert files == [404, 404]
    assert _snapshot(contract, hanako, taro) == before


def test_an_unknown_file_is_404(hanako):
    assert _web(hanako).get("/contracts/files/999999/").status_code == 404


def test_the_action_pages_need_a_log_in_and_a_post(contract, hanako):
    first = _first(contract)
    fund = _url(contract, f"milestones/{first.pk}/fund/")

    anonymous = Client().post(fund)
    by_get = _web(hanako).get(fund)

    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/accounts/login/")
    assert by_get.status_code == 405
    assert _first(contract).state == S.AWAITING_FUNDING


def test_every_form_carries_the_csrf_token_and_a_post_without_it_is_refused(contract, hanako):
    first = _first(contract)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(hanako)

    page = browser.get(_url(contract)).content.decode()
    refused = browser.post(_url(contract, f"milestones/{first.pk}/fund/"))

    forms_on_page = page.count('method="post"')
    assert forms_on_page == page.count('name="csrfmiddlewaretoken"')
    assert refused.status_code == 403
    assert _first(contract).state == S.AWAITING_FUNDING


def test_the_page_speaks_english_when_asked(contract, hanako):
    response = _web(hanako, language="en").get(_url(contract))

    page = response.content.decode()
    assert "Fund ¥60,000 into escrow (仮払い)" in page
    assert response.context["events"][0].label == "Contract signed (terms version 1)"
    assert ">Awaiting escrow<" in page


def test_an_operator_reads_the_contract_but_has_no_party_buttons(contract, hanako, taro, operator):
    _delivered(contract, hanako, taro)

    response = _web(operator).get(_url(contract))

    assert response.status_code == 200
    assert response.context["actions"] == frozenset()
    assert all(not card.actions for card in response.context["milestones"])
    assert response.context["forms"] == {}


# --- the hire form's kill fee ---------------------------------------------------------------------


def test_the_hire_form_sets_the_kill_fee_and_refuses_one_above_the_maximum(hanako, taro, settings):
    from ishibashi.jobs import services as jobs
    from ishibashi.jobs.tests.conftest import job_input, proposal_input

    job = jobs.job_create(client=hanako, data=job_input(), publish=True)
    proposal = jobs.proposal_create(worker=taro, job_id=job.pk, data=proposal_input(80_000))
    web = _web(hanako)
    shown = web.get(f"/jobs/proposals/{proposal.pk}/").context["hire_form"]
    assert shown["kill_fee_percent"].value() == 0

    too_high = web.post(
        f"/jobs/proposals/{proposal.pk}/hire/",
        {"inspection_days": "7", "kill_fee_percent": str(settings.KILL_FEE_PERCENT_MAX + 1)},
    )
    assert too_high.status_code == 200
    assert too_high.context["hire_form"].errors["kill_fee_percent"] == [
        _ja("The kill fee must be 0 to %(max)d percent.", max=settings.KILL_FEE_PERCENT_MAX)
    ]
    assert Contract.objects.count() == 0

    web.post(
        f"/jobs/proposals/{proposal.pk}/hire/", {"inspection_days": "7", "kill_fee_percent": "25"}
    )

    contract = Contract.objects.get()
    assert contract.kill_fee_percent == 25
    page = web.get(_url(contract)).content.decode()
    assert 'data-testid="contract-kill-fee">25%<' in page
