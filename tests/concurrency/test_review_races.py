"""Review races: the same review sent twice at once, both parties at once, two sweepers at once.

Every writer of a contract's reviews queues on its review window's row (PostgreSQL) or on
SQLite's one writer; whatever order the database picks, a party has one review, the two are
published together exactly once, and the counters count each review once.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction

from ishibashi.contracts.tests.factories import deposit
from ishibashi.notifications.models import Notification
from ishibashi.reviews import services
from ishibashi.reviews.models import Review, ReviewStats, ReviewWindow
from ishibashi.reviews.services import ReviewInput
from ishibashi.reviews.tests.stories import ended_contract
from tests.concurrency.racing import race

pytestmark = pytest.mark.django_db(transaction=True)

NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
ROUNDS = 3
OF_CLIENT = ReviewInput(
    overall=4, text="連絡が早く、検収もすぐでした。", communication=4, clarity=3, payment_speed=5
)
OF_WORKER = ReviewInput(
    overall=5, text="丁寧な作業で期限どおりでした。", quality=5, timeliness=4, communication=5
)


@pytest.fixture(autouse=True)
def _fixed_now(time_machine, settings):
    time_machine.move_to(NOW, tick=False)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def hanako(make_user):
    user = make_user(email="hanako@example.jp", is_worker=False)
    with transaction.atomic():
        deposit(user, 1_000_000)
    return user


@pytest.fixture
def taro(make_user):
    return make_user(email="taro@example.jp", is_client=False)


def _stats(user, role):
    row = ReviewStats.objects.filter(user=user, role=role).first()
    return (row.count, row.overall_total) if row else (0, 0)


def test_the_same_review_sent_twice_at_once_is_taken_once(hanako, taro):
    for _round in range(ROUNDS):
        contract = ended_contract(hanako, taro)

        outcomes = race(
            2,
            lambda n, pk=contract.pk: services.review_submit(
                author=taro, contract_id=pk, data=OF_CLIENT
            ),
        )

        assert sorted(kind for kind, _value in outcomes) == ["ok", "refused"]
        refusal = next(value for kind, value in outcomes if kind == "refused")
        assert refusal.code == "already_reviewed"
        assert Review.objects.filter(contract=contract).count() == 1


def test_both_parties_at_once_are_published_together_exactly_once(hanako, taro):
    for round_ in range(1, ROUNDS + 1):
        contract = ended_contract(hanako, taro)
        notices_before = Notification.objects.count()

        outcomes = race(
            2,
            lambda n, pk=contract.pk: services.review_submit(
                author=(taro, hanako)[n],
                contract_id=pk,
                data=(OF_CLIENT, OF_WORKER)[n],
            ),
        )

        assert [kind for kind, _value in outcomes] == ["ok", "ok"]
        reviews = Review.objects.filter(contract=contract)
        assert reviews.filter(published_at__isnull=True).count() == 0
        assert len({r.published_at for r in reviews}) == 1
        assert ReviewWindow.objects.get(contract=contract).closed_at is not None
        assert _stats(hanako, "client") == (round_, 4 * round_)
        assert _stats(taro, "worker") == (round_, 5 * round_)
        # "Reviews published" once to each party, not once per review.
        assert Notification.objects.count() - notices_before == 2
    assert services.review_stats_rebuild() == []


def test_two_sweepers_publish_each_lone_review_once(hanako, taro, time_machine):
    contracts = [ended_contract(hanako, taro) for _ in range(ROUNDS)]
    for contract in contracts:
        services.review_submit(author=taro, contract_id=contract.pk, data=OF_CLIENT)
    time_machine.move_to(NOW + dt.timedelta(days=15), tick=False)

    outcomes = race(2, lambda n: services.reviews_publish_due(batch=2))
    leftover = services.reviews_publish_due()

    assert sum(value for _kind, value in outcomes) + leftover == ROUNDS
    assert Review.objects.filter(published_at__isnull=True).count() == 0
    assert _stats(hanako, "client") == (ROUNDS, 4 * ROUNDS)
    assert services.review_stats_rebuild() == []
    assert services.reviews_publish_due() == 0
