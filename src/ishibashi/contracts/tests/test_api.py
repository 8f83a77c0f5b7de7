"""The contracts API: the parties see their contracts, terms and event chain; nobody else does."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from ishibashi.contracts.models import ContractEvent
from ishibashi.contracts.services import hiring
from ishibashi.jobs import services
from ishibashi.jobs.services import JobInput, MilestoneInput, ProposalInput

NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))


@pytest.fixture(autouse=True)
def _fixed_now(time_machine, settings):
    time_machine.move_to(NOW, tick=False)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def hire(client: Any, worker: Any, *, category: str = "server_infrastructure") -> Any:
    """A job posted, proposed on and hired through the services (the API for it is tested in jobs)."""
    today = NOW.date()
    job = services.job_create(
        client=client,
        data=JobInput(
            title="WordPressサーバー移行作業",
            description="既存のWordPressサイトを新しいサーバーへ移行してください。",
            category=category,
            contract_type="fixed",
            budget_min_jpy=50_000,
            budget_max_jpy=100_000,
            recruiting_deadline=NOW + dt.timedelta(days=7),
            desired_delivery_on=today + dt.timedelta(days=30),
            scope_deliverables="移行済みのサイト",
            scope_acceptance_criteria="全ページが表示されること",
            scope_out_of_scope="デザインの変更",
            revision_rounds=2,
        ),
        publish=True,
    )
    due = today + dt.timedelta(days=20)
    proposal = services.proposal_create(
        worker=worker,
        job_id=job.pk,
        data=ProposalInput(
            cover_letter="経験があります。",
            total_jpy=80_000,
            milestones=[
                MilestoneInput(title="実作業", kind="main_work", amount_jpy=60_000, due_on=due),
                MilestoneInput(
                    title="作業完了確認", kind="completion_check", amount_jpy=20_000, due_on=due
                ),
            ],
        ),
    )
    return hiring.proposal_hire(client=client, proposal_id=proposal.pk)


@pytest.fixture
def hanako(make_user):
    return make_user(
        email="hanako@example.jp",
        display_name="発注 花子",
        is_worker=False,
        entity_type="corporation",
    )


@pytest.fixture
def taro(make_user):
    return make_user(email="taro@example.jp", display_name="受注 太郎", is_client=False)


@pytest.fixture
def contract(hanako, taro):
    return hire(hanako, taro)


@pytest.fixture
def get(token_for):
    def call(user: Any, path: str, **params: Any) -> Any:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token_for(user)}"} if user else {}
        return Client().get(f"/api/v1{path}", params, **headers)

    return call


def test_both_parties_list_the_contract_and_a_third_person_does_not(
    get, make_user, hanako, taro, contract
):
    third = make_user(email="third@example.jp")

    as_client = get(hanako, "/contracts").json()
    as_worker = get(taro, "/contracts").json()
    as_third = get(third, "/contracts").json()

    assert [c["id"] for c in as_client["items"]] == [contract.pk]
    assert [c["id"] for c in as_worker["items"]] == [contract.pk]
    assert as_third == {"items": [], "page": 1, "has_next": False}
    item = as_client["items"][0]
    assert item["client"] == {"id": hanako.pk, "display_name": "発注 花子"}
    assert item["worker"] == {"id": taro.pk, "display_name": "受注 太郎"}
    assert (item["state"], item["is_consultation"]) == ("active", False)


def test_the_list_pages_newest_first(get, make_user, hanako, taro, settings):
    # 21 proposals in a minute: more than a new account may send an hour.
    settings.ACCOUNT_ABUSE_LIMITS = False
    contracts = [hire(hanako, taro) for _ in range(21)]

    first = get(taro, "/contracts").json()
    second = get(taro, "/contracts", page=2).json()

    assert [c["id"] for c in first["items"]] == [c.pk for c in reversed(contracts)][:20]
    assert first["has_next"] is True
    assert [c["id"] for c in second["items"]] == [contracts[0].pk]
    assert second["has_next"] is False


def test_a_contract_shows_its_terms_milestones_and_money_rules(get, hanako, taro, contract):
    response = get(taro, f"/contracts/{contract.pk}")

    assert response.status_code == 200
    body = response.json()
    assert body["title"] == "WordPressサーバー移行作業"
    assert body["terms_version"] == 1
    assert body["fee_rate_bps"] == 1000
    assert body["withholding_applies"] is False
    assert body["inspection_days"] == 7
    assert body["revision_rounds"] == 2
    assert [
        (m["position"], m["title"], m["amount_jpy"], m["state"]) for m in body["milestones"]
    ] == [
        (1, "実作業", 60_000, "awaiting_funding"),
        (2, "作業完了確認", 20_000, "draft"),
    ]
    terms = body["terms"]
    assert terms["version"] == 1
    assert len(terms["snapshot_sha256"]) == 64
    snapshot = terms["snapshot"]
    assert snapshot["scope"]["acceptance_criteria"] == "全ページが表示されること"
    assert snapshot["total_jpy"] == 80_000
    assert snapshot["client"]["display_name"] == "発注 花子"
    assert [m["amount_jpy"] for m in snapshot["milestones"]] == [60_000, 20_000]


def test_withholding_is_shown_as_snapshotted(get, make_user, taro):
    agent = make_user(email="agent@example.jp", is_worker=False, display_name="源泉 徴収")
    agent.is_withholding_agent = True
    agent.save(update_fields=["is_withholding_agent"])
    design = hire(agent, taro, category="design")

    assert get(taro, f"/contracts/{design.pk}").json()["withholding_applies"] is True


def test_a_third_person_gets_404_and_an_operator_sees_it(get, make_user, make_staff, contract):
    third = make_user(email="third@example.jp")
    operator = make_staff(email="ops@example.jp")

    hidden = get(third, f"/contracts/{contract.pk}")
    hidden_events = get(third, f"/contracts/{contract.pk}/events")
    unknown = get(third, "/contracts/999999")

    assert hidden.status_code == hidden_events.status_code == 404
    assert hidden.json() == unknown.json()  # existence does not leak
    assert hidden.json()["code"] == "not_found"
    assert get(operator, f"/contracts/{contract.pk}").status_code == 200


def test_contracts_need_authentication(db, get):
    response = get(None, "/contracts")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_the_event_log_is_a_hash_chain(get, hanako, contract):
    response = get(hanako, f"/contracts/{contract.pk}/events")

    assert response.status_code == 200
    body = response.json()
    assert body["chain_intact"] is True
    events = body["items"]
    assert [(e["sequence"], e["action"], e["from_state"], e["to_state"]) for e in events] == [
        (1, "contract_created", "", "active"),
        (2, "funding_requested", "draft", "awaiting_funding"),
    ]
    assert events[0]["actor"] == {"id": hanako.pk, "display_name": "発注 花子"}
    assert events[1]["actor"] is None
    assert events[0]["previous_hash"] == "0" * 64
    assert events[1]["previous_hash"] == events[0]["hash"]
    assert events[1]["milestone_id"] == contract.milestones.get(position=1).pk


def test_an_altered_event_shows_a_broken_chain(get, hanako, contract):
    ContractEvent.objects.filter(contract=contract, sequence=2).update(to_state="released")

    body = get(hanako, f"/contracts/{contract.pk}/events").json()

    assert body["chain_intact"] is False


@pytest.mark.parametrize("page", [0, -1, 1001, "x"])
def test_a_bad_page_is_a_422(get, taro, page):
    response = get(taro, "/contracts", page=page)

    assert response.status_code == 422
    assert response.json()["field"] == "page"
