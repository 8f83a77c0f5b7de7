"""The contract page and API cost the same number of SQL queries whatever the contract's size.

A small contract (3 milestones: one paid, one delivered and sent back for a revision, one not yet
asked for; one message) and a large one (12 milestones: ten paid, one delivered and sent back,
one not yet asked for; 40 messages, about 70 events) are read by each party. Each read must send
exactly as many queries for the large contract as for the small one: a query per milestone,
delivery, event or message would make a long-running contract's page slower with every step.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from ishibashi.contracts import services as cs
from ishibashi.contracts.models import Contract, ContractEvent, Milestone, MilestoneState
from ishibashi.contracts.services import DeliveryUpload
from ishibashi.contracts.tests.factories import deposit, hire
from ishibashi.core import clock

NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))


@pytest.fixture(autouse=True)
def _setup(time_machine, settings, tmp_path):
    time_machine.move_to(NOW, tick=False)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def people(make_user):
    return {
        "client": make_user(email="client@example.jp", display_name="発注 花子", is_worker=False),
        "worker": make_user(email="worker@example.jp", display_name="受注 太郎", is_client=False),
    }


def _files() -> list[DeliveryUpload]:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return [
        DeliveryUpload(
            file=SimpleUploadedFile("preview.png", b"\x89PNG preview", content_type="image/png"),
            visibility="preview",
        ),
        DeliveryUpload(
            file=SimpleUploadedFile(
                "site.zip", b"PK\x03\x04 the site", content_type="application/zip"
            ),
            visibility="full",
        ),
    ]


def _deliver(worker: Any, milestone_id: int) -> Any:
    return cs.delivery_create(
        worker=worker, milestone_id=milestone_id, message="納品します。", uploads=_files()
    )


def _build(people: dict[str, Any], *, milestones: int, messages: int) -> Contract:
    """Through the services: every milestone but the last two paid, the next one delivered, sent
    back for a revision and delivered again, the last one never asked for."""
    client, worker = people["client"], people["worker"]
    amount = 10_000
    deposit(client, amount * milestones)
    split = [(f"工程{i + 1}", "main_work", amount) for i in range(milestones)]
    contract = hire(client, worker, split=split, revision_rounds=2)
    ids = list(contract.milestones.order_by("position").values_list("pk", flat=True))
    for index, milestone_id in enumerate(ids[:-1]):
        state = Milestone.objects.get(pk=milestone_id).state
        if state == MilestoneState.DRAFT:
            cs.milestone_request_funding(actor=worker, milestone_id=milestone_id)
        cs.milestone_fund(client=client, milestone_id=milestone_id)
        cs.milestone_start(worker=worker, milestone_id=milestone_id)
        delivery = _deliver(worker, milestone_id)
        if index < len(ids) - 2:
            cs.delivery_approve(client=client, delivery_id=delivery.pk)
        else:
            cs.delivery_request_revision(
                client=client, delivery_id=delivery.pk, reason="表示が崩れています。"
            )
            _deliver(worker, milestone_id)
    for n in range(messages):
        author = client if n % 2 else worker
        cs.contract_message_post(author=author, contract_id=contract.pk, body=f"連絡 {n + 1}")
    return contract


@pytest.fixture
def small(people) -> Contract:
    return _build(people, milestones=3, messages=1)


@pytest.fixture
def large(people) -> Contract:
    return _build(people, milestones=12, messages=40)


def _count(user: Any, path: str, **headers: str) -> int:
    web = Client()
    web.force_login(user)
    web.get(path, **headers)  # warm: the session, translations and any first-use cache
    with CaptureQueriesContext(connection) as queries:
        response = web.get(path, **headers)
    assert response.status_code == 200, response.content[:500]
    return len(queries)


def _compare(people: dict[str, Any], small: Contract, large: Contract,
             path: Callable[[Contract], str]) -> None:  # fmt: skip
    sizes = {
        "events": (
            ContractEvent.objects.filter(contract=small).count(),
            ContractEvent.objects.filter(contract=large).count(),
        ),
        "milestones": (small.milestones.count(), large.milestones.count()),
    }
    assert sizes["milestones"] == (3, 12)
    assert sizes["events"][1] > 3 * sizes["events"][0], sizes
    for role in ("client", "worker"):
        user = people[role]
        counts = (_count(user, path(small)), _count(user, path(large)))
        assert counts[0] == counts[1], (
            f"{role}: {counts[0]} queries for 3 milestones, {counts[1]} for 12"
        )


def test_the_contract_page_makes_as_many_queries_for_12_milestones_as_for_3(people, small, large):
    _compare(people, small, large, lambda contract: f"/contracts/{contract.pk}/")


def test_the_whole_history_makes_as_many_queries_for_12_milestones_as_for_3(people, small, large):
    _compare(people, small, large, lambda contract: f"/contracts/{contract.pk}/?history=all")


def test_the_contract_api_makes_as_many_queries_for_12_milestones_as_for_3(people, small, large):
    _compare(people, small, large, lambda contract: f"/api/v1/contracts/{contract.pk}")


def test_the_contract_list_makes_as_many_queries_for_one_contract_as_for_many(people, small):
    client = people["client"]
    api_path, page_path = "/api/v1/contracts", "/contracts/"
    before = (_count(client, api_path), _count(client, page_path))
    for _ in range(5):
        _build(people, milestones=2, messages=0)
    assert Contract.objects.filter(client=client).count() == 6
    after = (_count(client, api_path), _count(client, page_path))
    assert before == after


def test_the_large_contract_is_what_the_counts_claim(people, large):
    """The large contract really has what the comparison relies on, seen on its page."""
    web = Client()
    web.force_login(people["client"])
    response = web.get(f"/contracts/{large.pk}/")
    cards = response.context["milestones"]
    states = [card.milestone.state for card in cards]
    assert states.count(MilestoneState.RELEASED) == 10
    assert states[10] == MilestoneState.DELIVERED
    assert len(cards[10].deliveries) == 2
    # the newest 20 messages and events, with a link to the rest; `?history=all` shows them all
    assert len(response.context["thread"]) == 20
    assert len(response.context["events"]) == 20
    assert b'data-testid="messages-all"' in response.content
    assert b'data-testid="history-all"' in response.content
    everything = web.get(f"/contracts/{large.pk}/?history=all")
    assert len(everything.context["thread"]) == 40
    assert len(everything.context["events"]) > 60
    assert b'data-testid="messages-all"' not in everything.content
    assert clock.now() == NOW
