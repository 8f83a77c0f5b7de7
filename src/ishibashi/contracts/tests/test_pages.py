"""Contract pages: only the parties and operators see a contract, with its terms and history."""

from __future__ import annotations

import pytest
from django.test import Client

from conftest import log_in
from ishibashi.contracts.models import Contract
from ishibashi.contracts.services import hiring
from ishibashi.jobs import services
from ishibashi.jobs.tests.conftest import job_input, proposal_input


@pytest.fixture(autouse=True)
def _cheap_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def people(make_user):
    return {
        "client": make_user(email="client@example.jp", display_name="発注 花子", is_worker=False),
        "worker": make_user(email="worker@example.jp", display_name="受注 太郎", is_client=False),
        "stranger": make_user(email="stranger@example.jp", display_name="第三者 次郎"),
    }


@pytest.fixture
def contract(people) -> Contract:
    job = services.job_create(client=people["client"], data=job_input(), publish=True)
    proposal = services.proposal_create(
        worker=people["worker"], job_id=job.pk, data=proposal_input(80_000)
    )
    return hiring.proposal_hire(client=people["client"], proposal_id=proposal.pk)


def _page(user, path):
    return log_in(Client(), user).get(path)


def test_the_worker_sees_the_terms_and_is_told_to_wait_for_escrow(people, contract):
    response = _page(people["worker"], f"/contracts/{contract.pk}/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "発注 花子" in page
    assert "受注 太郎" in page
    assert "契約条件（第1版）" in page
    assert "新サーバーで全ページが表示されること" in page  # acceptance criteria
    assert "デザインの変更" in page  # out of scope
    assert 'data-testid="contract-revision-rounds">2<' in page
    assert 'data-testid="contract-inspection-days">7日<' in page
    assert 'data-testid="contract-total">¥80,000<' in page
    assert [row.milestone.title for row in response.context["milestones"]] == [
        "事前調査",
        "待機・深夜対応",
        "実作業",
        "作業完了確認",
    ]
    assert page.count("仮払いが完了するまで作業を始めないでください") == 1
    assert page.count(">仮払い待ち<") == 1
    assert page.count(">未依頼<") == 3


def test_the_client_is_asked_to_fund_and_not_told_to_wait(people, contract):
    page = _page(people["client"], f"/contracts/{contract.pk}/").content.decode()

    assert "仮払いが完了するまで作業を始めないでください" not in page
    assert "このマイルストーンの仮払いを行ってください" in page


def test_the_timeline_shows_the_signing_and_the_first_funding_request(people, contract):
    response = _page(people["client"], f"/contracts/{contract.pk}/")

    events = response.context["events"]
    assert [row.event.action for row in events] == ["contract_created", "funding_requested"]
    assert [row.label for row in events] == ["契約成立（契約条件 第1版）", "仮払いを依頼"]
    assert (events[1].from_label, events[1].to_label) == ("未依頼", "仮払い待ち")
    assert events[1].milestone.title == "事前調査"
    assert "石橋（自動）" in response.content.decode()


def test_a_stranger_gets_the_same_404_as_for_no_contract(people, contract):
    stranger_sees = _page(people["stranger"], f"/contracts/{contract.pk}/")
    nobody_has = _page(people["stranger"], "/contracts/999999/")

    assert stranger_sees.status_code == nobody_has.status_code == 404
    assert "該当する契約が見つかりません。" in stranger_sees.content.decode()
    assert "発注 花子" not in stranger_sees.content.decode()


def test_an_operator_may_read_a_contract(make_staff, contract):
    operator = make_staff(email="operator@example.jp")

    assert _page(operator, f"/contracts/{contract.pk}/").status_code == 200


def test_each_party_lists_the_contract_with_their_role(people, contract):
    as_client = _page(people["client"], "/contracts/")
    as_worker = _page(people["worker"], "/contracts/")
    as_stranger = _page(people["stranger"], "/contracts/")

    assert [c.pk for c in as_client.context["contracts"]] == [contract.pk]
    assert [c.pk for c in as_worker.context["contracts"]] == [contract.pk]
    assert as_stranger.context["contracts"] == []
    assert "受注 太郎" in as_client.content.decode()  # the client sees whom they hired
    assert "発注 花子" in as_worker.content.decode()
    assert "契約はまだありません" in as_stranger.content.decode()


def test_the_contract_pages_need_a_log_in(contract):
    for path in ("/contracts/", f"/contracts/{contract.pk}/"):
        response = Client().get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
