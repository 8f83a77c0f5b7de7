"""The reliability profile and track record show the ratings of published reviews only."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from ishibashi.contracts.tests.factories import deposit
from ishibashi.reputation.services import reputation_rebuild
from ishibashi.reviews import services as reviews
from ishibashi.reviews.models import ReviewStats
from ishibashi.reviews.services import ReviewInput
from ishibashi.reviews.tests.stories import ended_contract

NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))


@pytest.fixture(autouse=True)
def _fixed_now(time_machine, settings):
    time_machine.move_to(NOW, tick=False)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_a_rating_appears_on_both_profiles_only_once_the_reviews_are_published(make_user, api):
    client = make_user(email="hanako@example.jp", display_name="発注 花子", is_worker=False)
    deposit(client, 500_000)
    worker = make_user(email="taro@example.jp", display_name="受注 太郎", is_client=False)
    contract = ended_contract(client, worker)

    reviews.review_submit(
        author=worker,
        contract_id=contract.pk,
        data=ReviewInput(
            overall=2,
            text="検収がとても遅く、連絡もありませんでした。",
            communication=2,
            clarity=3,
            payment_speed=1,
        ),
    )
    hidden = api.get(f"/api/v1/clients/{client.pk}/reliability").json()
    assert hidden["signals"]["rating"]["count"] == 0
    assert hidden["signals"]["rating"]["average"] is None

    reviews.review_submit(
        author=client,
        contract_id=contract.pk,
        data=ReviewInput(
            overall=5,
            text="丁寧な作業で期限どおりに納品されました。",
            quality=5,
            timeliness=5,
            communication=5,
        ),
    )
    of_client = api.get(f"/api/v1/clients/{client.pk}/reliability").json()["signals"]["rating"]
    of_worker = api.get(f"/api/v1/workers/{worker.pk}/track-record").json()["signals"]["rating"]
    assert (of_client["count"], of_client["average"]) == (1, 2.0)
    assert (of_worker["count"], of_worker["average"]) == (1, 5.0)
    assert reputation_rebuild() == []


def test_rebuild_reputation_names_a_rating_counter_that_drifted(make_user):
    client = make_user(email="hanako@example.jp", is_worker=False)
    deposit(client, 500_000)
    worker = make_user(email="taro@example.jp", is_client=False)
    contract = ended_contract(client, worker)
    for author, data in (
        (
            worker,
            ReviewInput(
                overall=4,
                text="指示が明確で支払いも早い発注者でした。",
                communication=4,
                clarity=4,
                payment_speed=4,
            ),
        ),
        (
            client,
            ReviewInput(
                overall=5,
                text="丁寧な作業で期限どおりに納品されました。",
                quality=5,
                timeliness=5,
                communication=5,
            ),
        ),
    ):
        reviews.review_submit(author=author, contract_id=contract.pk, data=data)
    ReviewStats.objects.filter(user=client, role="client").update(count=7)

    found = reputation_rebuild()
    assert [(d.client_id, d.field, d.stored, d.recomputed) for d in found] == [
        (client.pk, "rating_client_count", 7, 1)
    ]
    reputation_rebuild(fix=True)
    assert reputation_rebuild() == []
