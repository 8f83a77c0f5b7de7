"""Reviews through their services: once per party, double-blind, published together, frozen.

Every refusal says what is wrong with a stable code and writes nothing: no review, no window
closed, no counter, no notice.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from ishibashi.contracts.tests.factories import deposit, hire
from ishibashi.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from ishibashi.notifications.models import Notification
from ishibashi.reviews import selectors, services
from ishibashi.reviews.models import Review, ReviewStats, ReviewWindow
from ishibashi.reviews.services import ReviewInput
from ishibashi.reviews.tests.stories import (
    cancelled_after_funding,
    disputed_then_ended,
    ended_contract,
)

JST = ZoneInfo("Asia/Tokyo")
NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=JST)
DAY = dt.timedelta(days=1)

OF_CLIENT = {"communication": 4, "clarity": 3, "payment_speed": 5}
OF_WORKER = {"quality": 5, "timeliness": 4, "communication": 5}


@pytest.fixture(autouse=True)
def _fixed_now(time_machine, settings):
    time_machine.move_to(NOW, tick=False)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def hanako(make_user):
    user = make_user(email="hanako@example.jp", display_name="発注 花子", is_worker=False)
    deposit(user, 500_000)
    return user


@pytest.fixture
def taro(make_user):
    return make_user(email="taro@example.jp", display_name="受注 太郎", is_client=False)


@pytest.fixture
def third(make_user):
    return make_user(email="third@example.jp", display_name="第三者")


@pytest.fixture
def operator(make_user):
    user = make_user(email="ops@example.jp", display_name="オペレーター")
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


@pytest.fixture
def contract(hanako, taro):
    return ended_contract(hanako, taro)


def _of_client(overall=4, text="連絡が早く、検収もすぐでした。", **scores):
    return ReviewInput(overall=overall, text=text, **{**OF_CLIENT, **scores})


def _of_worker(overall=5, text="丁寧な作業で期限どおりでした。", **scores):
    return ReviewInput(overall=overall, text=text, **{**OF_WORKER, **scores})


def _refused(error_class, call, *, code=None, field=None, **kwargs):
    before = (
        Review.objects.count(),
        list(ReviewWindow.objects.values_list("closed_at", flat=True)),
        list(ReviewStats.objects.values_list("count", flat=True)),
        Notification.objects.count(),
    )
    with pytest.raises(error_class) as caught:
        call(**kwargs)
    if code is not None:
        assert caught.value.code == code
    if field is not None:
        assert caught.value.field == field
    after = (
        Review.objects.count(),
        list(ReviewWindow.objects.values_list("closed_at", flat=True)),
        list(ReviewStats.objects.values_list("count", flat=True)),
        Notification.objects.count(),
    )
    assert after == before
    return caught.value


def test_the_first_review_stays_hidden_and_the_second_publishes_both_at_once(
    contract, hanako, taro, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = services.review_submit(author=taro, contract_id=contract.pk, data=_of_client())
    assert first.published_at is None
    assert mailoutbox == []  # nobody is told that a review was written
    assert selectors.rating_summary(hanako.pk, "client").count == 0

    with django_capture_on_commit_callbacks(execute=True):
        second = services.review_submit(author=hanako, contract_id=contract.pk, data=_of_worker())

    both = list(Review.objects.filter(contract=contract).order_by("pk"))
    assert [r.published_at for r in both] == [NOW, NOW]
    assert second.published_at == NOW
    assert ReviewWindow.objects.get(contract=contract).closed_at == NOW
    of_client = selectors.rating_summary(hanako.pk, "client")
    assert (of_client.count, of_client.average) == (1, 4.0)
    assert (of_client.communication, of_client.clarity, of_client.payment_speed) == (4, 3, 5)
    assert of_client.quality is None
    of_worker = selectors.rating_summary(taro.pk, "worker")
    assert (of_worker.count, of_worker.average, of_worker.quality) == (1, 5.0, 5.0)
    assert sorted(mail.to[0] for mail in mailoutbox) == [hanako.email, taro.email]
    assert all(
        mail.subject == "評価が公開されました：「WordPressサーバー移行作業」" for mail in mailoutbox
    )


def test_a_lone_review_is_published_by_the_sweep_when_the_14_days_are_over_once(
    contract, hanako, taro, time_machine
):
    services.review_submit(author=taro, contract_id=contract.pk, data=_of_client(overall=2))
    closes = contract.ended_at + 14 * DAY

    time_machine.move_to(closes - dt.timedelta(seconds=1), tick=False)
    assert services.reviews_publish_due() == 0
    assert Review.objects.get().published_at is None

    time_machine.move_to(closes, tick=False)
    assert services.reviews_publish_due() == 1
    assert services.reviews_publish_due() == 0  # a replay publishes nothing twice
    assert Review.objects.get().published_at == closes
    assert selectors.rating_summary(hanako.pk, "client").count == 1
    assert services.review_stats_rebuild() == []
    published = Notification.objects.filter(subject__startswith="評価が公開").count()
    assert published == 2  # both parties, once
    # The window is closed: the other party can no longer write one.
    _refused(
        Conflict,
        services.review_submit,
        code="review_window_closed",
        author=hanako,
        contract_id=contract.pk,
        data=_of_worker(),
    )


def test_nobody_writes_after_the_14_days_even_before_the_sweep_ran(contract, hanako, time_machine):
    time_machine.move_to(contract.ended_at + 14 * DAY, tick=False)
    _refused(
        Conflict,
        services.review_submit,
        code="review_window_closed",
        author=hanako,
        contract_id=contract.pk,
        data=_of_worker(),
    )


def test_only_the_parties_of_an_ended_contract_review_once_within_range(
    contract, hanako, taro, third, operator
):
    submit = services.review_submit
    _refused(NotFound, submit, author=third, contract_id=contract.pk, data=_of_client())
    _refused(NotFound, submit, author=taro, contract_id=999_999, data=_of_client())
    _refused(
        Forbidden, submit, code="not_a_party", author=operator, contract_id=contract.pk,
        data=_of_client(),
    )  # fmt: skip
    for bad in (0, 6, -1, "5", True, None, 4.5):
        _refused(
            InvalidInput, submit, field="overall", author=taro, contract_id=contract.pk,
            data=_of_client(overall=bad),
        )  # fmt: skip
        _refused(
            InvalidInput, submit, field="payment_speed", author=taro, contract_id=contract.pk,
            data=_of_client(payment_speed=bad),
        )  # fmt: skip
    # A worker's sub-score in a review of a client, and the reverse, are refused by name.
    _refused(
        InvalidInput, submit, field="quality", author=taro, contract_id=contract.pk,
        data=_of_client(quality=5),
    )  # fmt: skip
    _refused(
        InvalidInput, submit, field="clarity", author=hanako, contract_id=contract.pk,
        data=_of_worker(clarity=5),
    )  # fmt: skip
    for text in ("", "   ", "短すぎ", "あ" * 2001, "制御\x00文字を含むレビューです"):
        _refused(
            InvalidInput, submit, field="text", author=taro, contract_id=contract.pk,
            data=_of_client(text=text),
        )  # fmt: skip

    services.review_submit(author=taro, contract_id=contract.pk, data=_of_client())
    _refused(
        Conflict, submit, code="already_reviewed", author=taro, contract_id=contract.pk,
        data=_of_client(overall=1),
    )  # fmt: skip
    assert Review.objects.get().overall == 4  # never edited


def test_a_running_contract_cannot_be_reviewed(hanako, taro):
    running = hire(hanako, taro)
    _refused(
        Conflict, services.review_submit, code="contract_not_ended", author=taro,
        contract_id=running.pk, data=_of_client(),
    )  # fmt: skip
    assert ReviewWindow.objects.count() == 0


def test_a_silent_clients_automatic_approval_is_a_fact_on_the_workers_review(
    hanako, taro, time_machine
):
    contract = ended_contract(hanako, taro, time_machine=time_machine)

    of_client = services.review_submit(author=taro, contract_id=contract.pk, data=_of_client())
    of_worker = services.review_submit(author=hanako, contract_id=contract.pk, data=_of_worker())

    assert of_client.facts == [{"kind": "auto_approved", "count": 1}]
    from django.utils import translation

    with translation.override("ja"):
        assert Review.objects.get(pk=of_client.pk).fact_rows == [
            ("auto_approved", "検収期限内に応答がなく自動承認", 1)
        ]
    assert of_worker.facts == []  # facts describe the client only


def test_a_client_who_cancelled_after_funding_has_it_as_a_fact(hanako, taro):
    contract = cancelled_after_funding(hanako, taro)
    review = services.review_submit(author=taro, contract_id=contract.pk, data=_of_client())
    assert review.facts == [{"kind": "cancelled_after_funding", "count": 1}]


def test_an_approving_client_has_no_facts(contract, taro):
    review = services.review_submit(author=taro, contract_id=contract.pk, data=_of_client())
    assert review.facts == []


def test_a_clients_review_after_the_worker_opened_a_dispute_is_labelled(hanako, taro, operator):
    from django.utils import translation

    contract = disputed_then_ended(hanako, taro, operator)
    of_worker = services.review_submit(author=hanako, contract_id=contract.pk, data=_of_worker())
    of_client = services.review_submit(author=taro, contract_id=contract.pk, data=_of_client())

    assert of_worker.after_worker_dispute is True
    assert of_client.after_worker_dispute is False
    with translation.override("ja"):
        assert Review.objects.get(pk=of_worker.pk).label_rows == [
            ("after_worker_dispute", "ワーカーがトラブル相談を開始した後に投稿された評価")
        ]
    with translation.override("en"):
        assert Review.objects.get(pk=of_worker.pk).label_rows == [
            ("after_worker_dispute", "Posted after the worker opened a dispute")
        ]


def test_the_reviewee_replies_once_to_a_published_review(contract, hanako, taro, third):
    of_client = services.review_submit(author=taro, contract_id=contract.pk, data=_of_client())
    reply = services.review_reply
    # Unpublished: not there for anyone, its author included.
    _refused(NotFound, reply, reviewee=hanako, review_id=of_client.pk, text="ありがとう")
    _refused(NotFound, reply, reviewee=taro, review_id=of_client.pk, text="ありがとう")
    services.review_submit(author=hanako, contract_id=contract.pk, data=_of_worker())

    _refused(
        Forbidden, reply, code="not_your_review", reviewee=taro, review_id=of_client.pk, text="x"
    )
    _refused(
        Forbidden, reply, code="not_your_review", reviewee=third, review_id=of_client.pk, text="x"
    )
    _refused(InvalidInput, reply, field="text", reviewee=hanako, review_id=of_client.pk, text=" ")
    replied = reply(
        reviewee=hanako, review_id=of_client.pk, text="ご丁寧にありがとうございました。"
    )
    assert replied.replied_at == NOW
    _refused(
        Conflict, reply, code="already_replied", reviewee=hanako, review_id=of_client.pk,
        text="書き直し",
    )  # fmt: skip
    assert Review.objects.get(pk=of_client.pk).reply_text == "ご丁寧にありがとうございました。"


def test_averages_are_rounded_half_up_and_the_rebuild_finds_a_tampered_counter(
    hanako, taro, make_user
):
    scores = [5, 4, 4, 4]  # mean 4.25 → 4.3
    for overall in scores:
        other = make_user(is_worker=False)
        deposit(other, 100_000)
        contract = ended_contract(other, taro)
        services.review_submit(
            author=other, contract_id=contract.pk, data=_of_worker(overall=overall)
        )
        services.review_submit(author=taro, contract_id=contract.pk, data=_of_client())
    summary = selectors.rating_summary(taro.pk, "worker")
    assert (summary.count, summary.average) == (4, 4.3)
    assert services.review_stats_rebuild() == []

    ReviewStats.objects.filter(user=taro, role="worker").update(overall_total=1)
    found = services.review_stats_rebuild()
    assert [(m.user_id, m.field, m.stored, m.expected) for m in found] == [
        (taro.pk, "overall_total", 1, 17)
    ]
    assert services.review_stats_rebuild(fix=True)
    assert services.review_stats_rebuild() == []


def test_both_parties_are_asked_for_a_review_once_when_the_contract_ends(
    contract, hanako, taro, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert services.reviews_prompt_due() == 1
        assert services.reviews_prompt_due() == 0
    assert sorted(mail.to[0] for mail in mailoutbox) == [hanako.email, taro.email]
    assert all(f"/contracts/{contract.pk}/review/" in mail.body for mail in mailoutbox)
    window = ReviewWindow.objects.get(contract=contract)
    assert window.prompted_at == NOW
    assert window.closes_at == contract.ended_at + 14 * DAY


def test_a_party_who_reviewed_before_the_prompt_is_not_asked_again(
    contract, hanako, taro, mailoutbox, django_capture_on_commit_callbacks
):
    services.review_submit(author=taro, contract_id=contract.pk, data=_of_client())
    with django_capture_on_commit_callbacks(execute=True):
        assert services.reviews_prompt_due() == 1
    assert [mail.to for mail in mailoutbox] == [[hanako.email]]
    # The prompt hanako gets says nothing about a review already written.
    assert "連絡が早く" not in mailoutbox[0].body
