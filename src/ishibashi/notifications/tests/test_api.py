"""GET /notifications and POST /notifications/read: one's own only; bad input is a 422 changing nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from ishibashi.notifications.models import Notification
from ishibashi.notifications.services import notification_create


class Caller:
    """One person at the API with a bearer token, reading messages in English or Japanese."""

    def __init__(self, token: str, language: str = "ja") -> None:
        self.http = Client()
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_ACCEPT_LANGUAGE": language}

    def get(self, path: str, **params: Any) -> Any:
        return self.http.get(f"/api/v1{path}", params, **self.headers)

    def post(self, path: str, body: Any) -> Any:
        return self.http.post(
            f"/api/v1{path}", json.dumps(body), content_type="application/json", **self.headers
        )


@pytest.fixture
def taro_api(taro, token_for):
    return Caller(token_for(taro), language="en")


@pytest.fixture
def hanako_api(hanako, token_for):
    return Caller(token_for(hanako), language="en")


def _notices(user, count: int) -> list[Notification]:
    return [
        notification_create(user=user, subject=f"通知 {n}", body="本文", path=f"/contracts/{n}/")
        for n in range(count)
    ]


def _read_state() -> list[tuple[int, bool]]:
    rows = Notification.objects.order_by("pk").values_list("pk", "read_at")
    return [(pk, read_at is not None) for pk, read_at in rows]


def test_the_list_shows_only_ones_own_newest_first_with_the_unread_count(
    taro_api, taro, hanako, hire
):
    # given: a hire tells taro (worker) and hanako (client)
    contract = hire(hanako, taro)

    # when
    response = taro_api.get("/notifications")

    # then
    assert response.status_code == 200
    body = response.json()
    assert (body["page"], body["has_next"], body["unread_count"]) == (1, False, 1)
    [item] = body["items"]
    assert item["subject"] == "契約が決まりました：「WordPressサーバー移行作業」"
    assert item["path"] == f"/contracts/{contract.pk}/"
    assert item["read_at"] is None
    assert set(item) == {"id", "subject", "body", "path", "language", "created_at", "read_at"}
    assert item["language"] == "ja"
    assert Notification.objects.get(pk=item["id"]).user == taro


def test_the_list_pages_by_twenty(taro_api, taro):
    mine = _notices(taro, 21)

    first = taro_api.get("/notifications").json()
    second = taro_api.get("/notifications", page=2).json()

    assert [i["id"] for i in first["items"] + second["items"]] == [n.pk for n in reversed(mine)]
    assert (first["has_next"], second["has_next"], second["page"]) == (True, False, 2)


@pytest.mark.parametrize("page", ["0", "1001", "x"], ids=["_case_zero", "_case_deep", "_case_text"])
def test_a_bad_page_is_a_422_naming_it(taro_api, page):
    response = taro_api.get("/notifications", page=page)

    assert response.status_code == 422
    assert (response.json()["code"], response.json()["field"]) == ("invalid_input", "page")


def test_marking_by_id_passes_over_someone_elses_notifications(taro_api, taro, hanako):
    # given
    mine = _notices(taro, 2)
    theirs = _notices(hanako, 1)

    # when
    response = taro_api.post("/notifications/read", {"ids": [mine[0].pk, theirs[0].pk]})

    # then
    assert response.status_code == 200
    assert response.json() == {"marked": 1, "unread_count": 1}
    assert _read_state() == [(mine[0].pk, True), (mine[1].pk, False), (theirs[0].pk, False)]


def test_marking_all_reads_only_ones_own(taro_api, taro, hanako):
    _notices(taro, 3)
    theirs = _notices(hanako, 2)

    response = taro_api.post("/notifications/read", {"all": True})

    assert response.json() == {"marked": 3, "unread_count": 0}
    assert Notification.objects.filter(user=hanako, read_at__isnull=True).count() == len(theirs)


def test_someone_else_sees_none_and_marks_none(hanako_api, taro, hanako):
    # given
    _notices(taro, 2)
    before = _read_state()

    # when
    listed = hanako_api.get("/notifications").json()
    marked = hanako_api.post("/notifications/read", {"ids": [pk for pk, _ in before]}).json()

    # then
    assert (listed["items"], listed["unread_count"]) == ([], 0)
    assert marked == {"marked": 0, "unread_count": 0}
    assert _read_state() == before


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"ids": 5}, "ids", "This value has the wrong form: ids."),
        ({"ids": "1,2"}, "ids", "This value has the wrong form: ids."),
        ({"ids": [1, "2"]}, "ids[1]", "This value has the wrong form: ids[1]."),
        ({"ids": [1.5]}, "ids[0]", "This value has the wrong form: ids[0]."),
        ({"all": "yes"}, "all", "This value has the wrong form: all."),
        ({"all": 1}, "all", "This value has the wrong form: all."),
        ({}, "ids", "Send the ids of the notifications to mark as read, or all: true."),
        ({"all": False}, "ids", "Send the ids of the notifications to mark as read, or all: true."),
        ({"ids": [1], "all": True}, "ids", "Send the ids of the notifications to mark as read, or all: true."),
        ({"ids": [-1]}, "ids", "Notification ids are positive whole numbers."),
        ({"ids": [2**63]}, "ids", "Notification ids are positive whole numbers."),
        ({"ids": list(range(1, 102))}, "ids", "Mark at most 100 notifications at a time by id, or all of them."),
    ],
    ids=[
        "_case_number", "_case_string", "_case_string_item", "_case_float_item", "_case_yes",
        "_case_one", "_case_empty", "_case_all_false", "_case_both", "_case_negative",
        "_case_huge", "_case_too_many",
    ],
)  # fmt: skip
def test_bad_input_is_a_422_with_a_message_and_nothing_changes(
    taro_api, taro, body, field, message
):
    # given
    _notices(taro, 2)
    before = _read_state()

    # when
    response = taro_api.post("/notifications/read", body)

    # then
    assert response.status_code == 422
    assert response.json() == {"code": "invalid_input", "message": message, "field": field}
    assert _read_state() == before


def test_a_body_that_is_not_json_is_a_400_and_nothing_changes(taro_api, taro):
    _notices(taro, 1)
    before = _read_state()

    response = taro_api.http.post(
        "/api/v1/notifications/read", "{ids", content_type="application/json", **taro_api.headers
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"
    assert _read_state() == before


def test_without_credentials_both_are_401(taro):
    _notices(taro, 1)
    anonymous = Client()

    listed = anonymous.get("/api/v1/notifications")
    marked = anonymous.post(
        "/api/v1/notifications/read", json.dumps({"all": True}), content_type="application/json"
    )

    assert (listed.status_code, marked.status_code) == (401, 401)
    assert marked.json()["code"] == "not_authenticated"
    assert Notification.objects.filter(read_at__isnull=True).count() == 1


def test_a_browser_session_needs_csrf_to_mark_read(taro, api):
    # given
    _notices(taro, 1)
    api.force_login(taro)

    # when
    listed = api.get("/api/v1/notifications")
    refused = api.post(
        "/api/v1/notifications/read", json.dumps({"all": True}), content_type="application/json"
    )

    # then
    assert listed.status_code == 200
    assert (refused.status_code, refused.json()["code"]) == (403, "csrf_failed")
    assert Notification.objects.filter(read_at__isnull=True).count() == 1


def test_opening_one_marks_it_read_and_returns_it(taro_api, taro):
    first, second = _notices(taro, 2)

    response = taro_api.get(f"/notifications/{first.pk}")

    assert response.status_code == 200
    assert response.json()["subject"] == "通知 0"
    assert response.json()["read_at"] is not None
    assert _read_state() == [(first.pk, True), (second.pk, False)]


def test_opening_someone_elses_is_not_found_and_changes_nothing(taro_api, hanako):
    [theirs] = _notices(hanako, 1)

    response = taro_api.get(f"/notifications/{theirs.pk}")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert _read_state() == [(theirs.pk, False)]
