"""Double-blind at every door: an unpublished review shows nowhere but to its author.

The doors: the contract page, both profile pages, the reviews list page, the contract's and the
person's reviews in the API, the rating summary, the in-app notices and the mail. Each is read
by the other party, a stranger, an operator and nobody logged in; then both reviews appear at
once, when the second arrives and when the 14 days pass.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from conftest import log_in
from ishibashi.contracts.tests.factories import deposit
from ishibashi.notifications.models import Notification
from ishibashi.reviews import selectors, services
from ishibashi.reviews.services import ReviewInput
from ishibashi.reviews.tests.stories import ended_contract

NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
SECRET = "秘密の評価本文です、公開前には誰にも見えない"
ANSWER = "相手への評価、これも公開までは見えない"
TOKENS = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"|"X-CSRFToken": "[^"]*"')


@pytest.fixture(autouse=True)
def _fixed_now(time_machine, settings):
    time_machine.move_to(NOW, tick=False)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def people(make_user, make_staff):
    hanako = make_user(email="hanako@example.jp", display_name="発注 花子", is_worker=False)
    deposit(hanako, 100_000)
    taro = make_user(email="taro@example.jp", display_name="受注 太郎", is_client=False)
    third = make_user(email="third@example.jp", display_name="第三者")
    operator = make_staff(email="ops@example.jp", display_name="担当 一郎")
    return {"hanako": hanako, "taro": taro, "third": third, "operator": operator}


@pytest.fixture
def contract(people):
    contract = ended_contract(people["hanako"], people["taro"])
    # The "review due" notices went out as the worker process would send them.
    services.reviews_prompt_due()
    return contract


def _pages(viewer: Any, contract: Any, people: dict[str, Any]) -> str:
    """Everything a person can read about the contract's reviews, as one text."""
    client = Client()
    if viewer is not None:
        log_in(client, viewer)
    texts = []
    paths = [
        f"/accounts/users/{people['hanako'].pk}/",
        f"/accounts/users/{people['taro'].pk}/",
        f"/users/{people['hanako'].pk}/reviews/",
        f"/users/{people['taro'].pk}/reviews/",
        f"/api/v1/users/{people['hanako'].pk}/reviews",
        f"/api/v1/users/{people['taro'].pk}/reviews",
    ]
    if viewer is not None:
        paths += [
            f"/contracts/{contract.pk}/",
            "/accounts/profile/",
            f"/api/v1/contracts/{contract.pk}/reviews",
            "/notifications/",
            "/api/v1/notifications",
        ]
    for path in paths:
        response = client.get(path)
        assert response.status_code in (200, 404), (path, response.status_code)
        # A page's own tokens (CSRF) differ on every request; the words must not.
        texts.append(TOKENS.sub("", response.content.decode()))
    return "\n".join(texts)


def _contract_reviews_json(viewer: Any, contract: Any) -> dict[str, Any]:
    client = log_in(Client(), viewer)
    return client.get(f"/api/v1/contracts/{contract.pk}/reviews").json()


def _review(author: Any, contract: Any, text: str, *, of_client: bool) -> None:
    scores = (
        {"communication": 1, "clarity": 1, "payment_speed": 1}
        if of_client
        else {"quality": 2, "timeliness": 2, "communication": 2}
    )
    services.review_submit(
        author=author,
        contract_id=contract.pk,
        data=ReviewInput(overall=1 if of_client else 2, text=text, **scores),
    )


def _mail_and_notices() -> str:
    from django.core import mail

    notices = Notification.objects.values_list("subject", "body")
    return "\n".join(
        [f"{m.subject}\n{m.body}" for m in mail.outbox] + [f"{s}\n{b}" for s, b in notices]
    )


def test_an_unpublished_review_shows_only_to_its_author_then_both_appear_with_the_second(
    contract, people, mailoutbox, django_capture_on_commit_callbacks
):
    hanako, taro = people["hanako"], people["taro"]
    before = {
        name: _pages(user, contract, people)
        for name, user in [*people.items(), ("anonymous", None)]
    }
    hanako_status_before = _contract_reviews_json(hanako, contract)
    notices_before = Notification.objects.count()
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        _review(taro, contract, SECRET, of_client=True)

    # The author sees it, marked unpublished, and is told it waits.
    mine = _contract_reviews_json(taro, contract)
    assert mine["status"] == "waiting"
    assert mine["mine"]["text"] == SECRET
    assert mine["mine"]["published_at"] is None
    assert mine["published"] == []
    assert SECRET in _pages(taro, contract, people)
    # Nobody else sees a thing, not even that it exists: every page and answer is as before.
    for name, user in [("hanako", hanako), ("third", people["third"]),
                       ("operator", people["operator"]), ("anonymous", None)]:  # fmt: skip
        seen = _pages(user, contract, people)
        assert SECRET not in seen, name
        assert seen == before[name], name
    assert _contract_reviews_json(hanako, contract) == hanako_status_before
    assert hanako_status_before["status"] == "open"
    assert selectors.rating_summary(hanako.pk, "client").count == 0
    assert Notification.objects.count() == notices_before
    assert mailoutbox == []

    with django_capture_on_commit_callbacks(execute=True):
        _review(hanako, contract, ANSWER, of_client=False)

    for user in [*people.values(), None]:
        seen = _pages(user, contract, people)
        assert SECRET in seen
        assert ANSWER in seen
    as_client = _contract_reviews_json(hanako, contract)
    assert as_client["status"] == "published"
    assert [r["text"] for r in as_client["published"]] == [SECRET, ANSWER]
    assert {r["published_at"] for r in as_client["published"]} == {
        as_client["mine"]["published_at"]
    }
    public = Client().get(f"/api/v1/users/{hanako.pk}/reviews").json()
    assert public["as_client"]["count"] == 1
    assert public["as_client"]["average"] == 1.0
    assert [r["text"] for r in public["items"]] == [SECRET]
    # The notices say reviews were published, never what they say.
    assert SECRET not in _mail_and_notices()
    assert len(mailoutbox) == 2


def test_a_lone_review_stays_hidden_until_the_sweep_publishes_it_after_14_days(
    contract, people, time_machine
):
    hanako, taro = people["hanako"], people["taro"]
    _review(taro, contract, SECRET, of_client=True)

    time_machine.move_to(contract.ended_at + dt.timedelta(days=14, seconds=-1), tick=False)
    assert services.reviews_publish_due() == 0
    for user in (hanako, people["third"], people["operator"], None):
        assert SECRET not in _pages(user, contract, people)

    time_machine.move_to(contract.ended_at + dt.timedelta(days=14), tick=False)
    assert services.reviews_publish_due() == 1

    for user in (hanako, taro, people["third"], people["operator"], None):
        assert SECRET in _pages(user, contract, people)
    status = _contract_reviews_json(hanako, contract)
    assert (status["status"], status["can_review"]) == ("closed", False)
    assert selectors.rating_summary(hanako.pk, "client").count == 1
    assert SECRET not in _mail_and_notices()
