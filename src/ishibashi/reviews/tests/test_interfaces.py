"""The review pages and API endpoints: thin doors onto the same services, with the same refusals."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from conftest import log_in
from ishibashi.contracts.tests.factories import deposit, hire
from ishibashi.reviews.models import Review
from ishibashi.reviews.tests.stories import ended_contract

NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
OF_CLIENT = {"overall": 4, "communication": 4, "clarity": 3, "payment_speed": 5,
             "text": "連絡が早く、検収もすぐでした。"}  # fmt: skip
OF_WORKER = {"overall": 5, "quality": 5, "timeliness": 4, "communication": 5,
             "text": "丁寧な作業で期限どおりでした。"}  # fmt: skip


@pytest.fixture(autouse=True)
def _fixed_now(time_machine, settings):
    time_machine.move_to(NOW, tick=False)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def hanako(make_user):
    user = make_user(email="hanako@example.jp", display_name="発注 花子", is_worker=False)
    deposit(user, 100_000)
    return user


@pytest.fixture
def taro(make_user):
    return make_user(email="taro@example.jp", display_name="受注 太郎", is_client=False)


@pytest.fixture
def contract(hanako, taro):
    return ended_contract(hanako, taro)


@pytest.fixture
def call(token_for):
    def request(method: str, user: Any, path: str, body: Any = None) -> Any:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token_for(user)}"} if user else {}
        client = Client()
        if method == "get":
            return client.get(f"/api/v1{path}", **headers)
        return client.post(f"/api/v1{path}", body or {}, content_type="application/json", **headers)

    return request


# --- API ---------------------------------------------------------------------------------------


def test_the_api_takes_a_review_and_answers_with_it_unpublished(call, contract, taro):
    response = call("post", taro, f"/contracts/{contract.pk}/reviews", OF_CLIENT)

    assert response.status_code == 201
    body = response.json()
    assert (body["overall"], body["clarity"], body["quality"]) == (4, 3, None)
    assert (body["reviewee_role"], body["published_at"], body["reply"]) == ("client", None, None)
    assert body["facts"] == []
    assert body["labels"] == []
    status = call("get", taro, f"/contracts/{contract.pk}/reviews").json()
    assert status["status"] == "waiting"
    assert status["mine"]["id"] == body["id"]
    assert status["review_deadline"].startswith("2026-12-07")


def test_api_refusals_have_codes_and_write_nothing(call, contract, taro, make_user, make_staff):
    stranger, operator = make_user(), make_staff()
    path = f"/contracts/{contract.pk}/reviews"
    cases = [
        (stranger, OF_CLIENT, 404, "not_found", None),
        (operator, OF_CLIENT, 403, "not_a_party", None),
        (taro, {**OF_CLIENT, "overall": 6}, 422, "invalid_input", "overall"),
        (taro, {**OF_CLIENT, "overall": "5"}, 422, "invalid_input", "overall"),
        (taro, {**OF_CLIENT, "clarity": 0}, 422, "invalid_input", "clarity"),
        (taro, {**OF_CLIENT, "quality": 3}, 422, "invalid_input", "quality"),
        (taro, {**OF_CLIENT, "text": "短い"}, 422, "invalid_input", "text"),
        (taro, {**OF_CLIENT, "stars": 5}, 422, "invalid_input", "stars"),
        (None, OF_CLIENT, 401, "not_authenticated", None),
    ]
    for user, body, status, code, field in cases:
        response = call("post", user, path, body)
        assert (response.status_code, response.json()["code"]) == (status, code), body
        assert response.json().get("field") == field
    assert Review.objects.count() == 0

    assert call("post", taro, path, OF_CLIENT).status_code == 201
    again = call("post", taro, path, OF_CLIENT)
    assert (again.status_code, again.json()["code"]) == (409, "already_reviewed")
    assert Review.objects.count() == 1


def test_a_running_contract_is_409_not_ended(call, hanako, taro):
    running = hire(hanako, taro)
    response = call("post", taro, f"/contracts/{running.pk}/reviews", OF_CLIENT)
    assert (response.status_code, response.json()["code"]) == (409, "contract_not_ended")
    status = call("get", taro, f"/contracts/{running.pk}/reviews").json()
    assert (status["status"], status["can_review"], status["review_deadline"]) == (
        "not_ended",
        False,
        None,
    )


def test_published_reviews_page_through_the_api_with_the_summary_and_the_reply(
    call, contract, hanako, taro
):
    call("post", taro, f"/contracts/{contract.pk}/reviews", OF_CLIENT)
    of_worker = call("post", hanako, f"/contracts/{contract.pk}/reviews", OF_WORKER).json()
    assert of_worker["published_at"] is not None

    replied = call(
        "post", taro, f"/reviews/{of_worker['id']}/reply", {"text": "ありがとうございました"}
    )
    assert replied.status_code == 200
    assert replied.json()["reply"]["text"] == "ありがとうございました"
    twice = call("post", taro, f"/reviews/{of_worker['id']}/reply", {"text": "もう一度"})
    assert (twice.status_code, twice.json()["code"]) == (409, "already_replied")
    not_mine = call("post", hanako, f"/reviews/{of_worker['id']}/reply", {"text": "横から"})
    assert (not_mine.status_code, not_mine.json()["code"]) == (403, "not_your_review")

    page = call("get", None, f"/users/{taro.pk}/reviews").json()
    assert page["as_worker"] == {
        "role": "worker", "count": 1, "average": 5.0, "communication": 5.0, "clarity": None,
        "payment_speed": None, "quality": 5.0, "timeliness": 4.0,
    }  # fmt: skip
    assert page["as_client"]["count"] == 0
    assert [r["reply"]["text"] for r in page["items"]] == ["ありがとうございました"]
    assert (page["page"], page["has_next"]) == (1, False)
    only_client = call("get", None, f"/users/{taro.pk}/reviews?role=client").json()
    assert only_client["items"] == []
    assert call("get", None, "/users/999999/reviews").status_code == 404


def test_the_openapi_document_describes_the_review_endpoints(client):
    document = client.get("/api/v1/openapi.json").json()
    paths = document["paths"]
    submit = paths["/api/v1/contracts/{contract_id}/reviews"]["post"]
    assert set(submit["responses"]) >= {"201", "401", "403", "404", "409", "422"}
    assert "/api/v1/users/{user_id}/reviews" in paths
    assert "/api/v1/reviews/{review_id}/reply" in paths
    assert "ReviewOut" in document["components"]["schemas"]


# --- pages -------------------------------------------------------------------------------------


def test_the_form_shows_every_error_at_once_and_keeps_nothing(contract, taro):
    page = log_in(Client(), taro)
    form = page.get(f"/contracts/{contract.pk}/review/")
    text = form.content.decode()
    assert form.status_code == 200
    assert "相手の評価と同時に公開されます。公開後は変更できません。" in text
    assert text.count('type="radio" name="overall"') == 5
    assert 'name="payment_speed"' in text
    assert 'name="quality"' not in text

    sent = page.post(f"/contracts/{contract.pk}/review/", {"text": "短い"})

    errors = sent.content.decode()
    assert sent.status_code == 200
    assert errors.count("点数を選んでください。") == 4  # overall and the three sub-scores
    assert Review.objects.count() == 0


def test_after_submitting_the_contract_page_says_the_review_waits(contract, taro, hanako):
    page = log_in(Client(), taro)
    sent = page.post(
        f"/contracts/{contract.pk}/review/",
        {"overall": "4", "communication": "4", "clarity": "3", "payment_speed": "5",
         "text": "連絡が早く、検収もすぐでした。"},
    )  # fmt: skip
    assert sent.status_code == 302
    assert sent["Location"] == f"/contracts/{contract.pk}/"
    shown = page.get(sent["Location"]).content.decode()
    assert 'data-testid="review-waiting"' in shown
    assert "相手の評価と同時に公開されます" in shown
    # A second visit to the form says it is done, with no form.
    again = page.get(f"/contracts/{contract.pk}/review/").content.decode()
    assert "この契約の評価はすでに投稿済みです。" in again
    assert 'data-testid="review-form"' not in again
    # The other party is still asked, on the contract page and on マイページ, with the deadline.
    other = log_in(Client(), hanako)
    assert 'data-testid="review-start"' in other.get(f"/contracts/{contract.pk}/").content.decode()
    mypage = other.get("/accounts/profile/").content.decode()
    assert 'data-testid="review-prompt"' in mypage
    assert "2026-12-07 10:00" in mypage


def test_a_stranger_gets_404_on_the_form(contract, make_user):
    page = log_in(Client(), make_user())
    assert page.get(f"/contracts/{contract.pk}/review/").status_code == 404
    assert page.post(f"/contracts/{contract.pk}/review/", OF_CLIENT).status_code == 404


def test_the_reviewee_replies_on_the_reviews_page(contract, hanako, taro):
    from ishibashi.reviews import services

    services.review_submit(
        author=taro, contract_id=contract.pk,
        data=services.ReviewInput(**OF_CLIENT),
    )  # fmt: skip
    services.review_submit(
        author=hanako, contract_id=contract.pk,
        data=services.ReviewInput(**OF_WORKER),
    )  # fmt: skip
    review = Review.objects.get(author=taro)
    mine = log_in(Client(), hanako)
    listed = mine.get(f"/users/{hanako.pk}/reviews/").content.decode()
    assert 'data-testid="reply-form"' in listed
    assert (
        'data-testid="reply-form"'
        not in Client().get(f"/users/{hanako.pk}/reviews/").content.decode()
    )

    empty = mine.post(f"/reviews/{review.pk}/reply/", {"text": ""})
    assert empty.status_code == 200
    sent = mine.post(f"/reviews/{review.pk}/reply/", {"text": "ありがとうございました。"})
    assert sent.status_code == 302
    profile = Client().get(f"/accounts/users/{hanako.pk}/").content.decode()
    assert "ありがとうございました。" in profile
    assert 'data-testid="review-reply"' in profile
