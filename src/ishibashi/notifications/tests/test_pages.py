"""/notifications/ and the header badge: one's own notices with links, marking read with CSRF."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from ishibashi.notifications.models import Notification
from ishibashi.notifications.services import notification_create


def _web(user=None, *, csrf: bool = False) -> Client:
    web = Client(enforce_csrf_checks=csrf)
    if user is not None:
        web.force_login(user)
    return web


def _text(response) -> str:
    return response.content.decode()


def _badge(response) -> str | None:
    found = re.search(r'data-testid="notifications-badge"[^>]*>([^<]*)<', _text(response))
    return found.group(1) if found else None


def _csrf_token(response) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', _text(response)).group(1)


def _notices(user, count: int) -> list[Notification]:
    return [
        notification_create(user=user, subject=f"通知 {n}", body="本文", path=f"/contracts/{n}/")
        for n in range(count)
    ]


def _read_state() -> list[tuple[int, bool]]:
    rows = Notification.objects.order_by("pk").values_list("pk", "read_at")
    return [(pk, read_at is not None) for pk, read_at in rows]


def test_the_page_lists_ones_own_notices_with_links_and_the_header_counts_the_unread(
    taro, hanako, hire
):
    # given: the hire tells taro; hanako's notices are hers
    contract = hire(hanako, taro)

    # when
    response = _web(taro).get("/notifications/")

    # then
    assert response.status_code == 200
    page = _text(response)
    assert [n.user for n in response.context["notifications"]] == [taro]
    notice = Notification.objects.get(user=taro)
    assert (
        f'<a href="/notifications/{notice.pk}/open/" data-testid="notification-subject">'
        "契約が決まりました：「WordPressサーバー移行作業」</a>"
    ) in page
    assert notice.path == f"/contracts/{contract.pk}/"
    assert '<td lang="ja">' in page
    assert "新しい提案" not in page  # hanako's notice of the proposal
    assert _badge(response) == "1"
    assert 'data-testid="mark-all-read"' in page


def test_the_page_follows_the_language_switch_around_the_notices(taro):
    # given
    _notices(taro, 1)
    web = _web(taro)

    # when
    web.post("/i18n/setlang/", {"language": "en", "next": "/notifications/"})
    response = web.get("/notifications/")

    # then: the page is English; the notice keeps the words it was sent in
    assert '<html lang="en">' in _text(response)
    assert "<h1>Notifications</h1>" in _text(response)
    assert "通知 0" in _text(response)


def test_the_badge_is_absent_without_unread_and_for_visitors(taro):
    assert _badge(_web(taro).get("/jobs/")) is None
    assert _badge(_web().get("/jobs/")) is None
    assert 'data-testid="nav-notifications"' not in _text(_web().get("/jobs/"))


def test_the_unread_count_is_one_query_a_page_however_often_the_page_shows_it(taro):
    _notices(taro, 3)
    web = _web(taro)

    def notification_queries(path: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert web.get(path).status_code == 200
        return sum('"notifications_notification"' in query["sql"] for query in captured)

    assert notification_queries("/jobs/") == 1
    # The list, and one count for both the badge and the "mark all read" form.
    assert notification_queries("/notifications/") == 2


def test_the_badge_shows_99_plus_beyond_99(taro):
    _notices(taro, 100)

    assert _badge(_web(taro).get("/jobs/")) == "99+"


def test_mark_all_read_with_the_forms_csrf_token(taro, hanako):
    # given
    _notices(taro, 2)
    theirs = _notices(hanako, 1)
    web = _web(taro, csrf=True)
    page = web.get("/notifications/")

    # when
    response = web.post(
        "/notifications/read/", {"all": "1", "csrfmiddlewaretoken": _csrf_token(page)}, follow=True
    )

    # then
    assert response.redirect_chain == [("/notifications/", 302)]
    assert Notification.objects.filter(user=taro, read_at__isnull=True).count() == 0
    assert Notification.objects.filter(pk=theirs[0].pk, read_at__isnull=True).exists()
    assert _badge(response) is None
    assert 'data-testid="mark-all-read"' not in _text(response)


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(taro):
    _notices(taro, 1)
    before = _read_state()

    response = _web(taro, csrf=True).post("/notifications/read/", {"all": "1"})

    assert response.status_code == 403
    assert _read_state() == before


def test_one_notice_is_marked_read_and_the_page_is_kept(taro):
    # given
    mine = _notices(taro, 22)

    # when
    response = _web(taro).post("/notifications/read/", {"id": str(mine[0].pk), "page": "2"})

    # then
    assert response["Location"] == "/notifications/?page=2"
    assert Notification.objects.filter(read_at__isnull=False).get() == mine[0]


@pytest.mark.parametrize(
    "posted", ["abc", "-3", ""], ids=["_case_text", "_case_negative", "_case_empty"]
)
def test_a_bad_id_is_shown_as_an_error_and_changes_nothing(taro, posted):
    _notices(taro, 1)
    before = _read_state()

    response = _web(taro).post(
        "/notifications/read/", {"id": posted}, follow=True, HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == 200
    assert [m.message for m in response.context["messages"]] in (
        ["Notification ids are positive whole numbers."],
        ["Send the ids of the notifications to mark as read, or all: true."],
    )
    assert _read_state() == before


def test_someone_elses_notice_is_not_marked_and_not_shown(taro, hanako):
    theirs = _notices(hanako, 1)

    marked = _web(taro).post("/notifications/read/", {"id": str(theirs[0].pk)})
    listed = _web(taro).get("/notifications/")

    assert marked.status_code == 302
    assert Notification.objects.get().read_at is None
    assert list(listed.context["notifications"]) == []
    assert "通知 0" not in _text(listed)


def test_visitors_are_sent_to_log_in(taro):
    _notices(taro, 1)

    listed = _web().get("/notifications/")
    marked = _web().post("/notifications/read/", {"all": "1"})

    assert listed.status_code == marked.status_code == 302
    assert listed["Location"].startswith("/accounts/login/")
    assert Notification.objects.get().read_at is None


def test_reading_is_a_get_and_marking_a_post(taro):
    assert _web(taro).post("/notifications/").status_code == 405
    assert _web(taro).get("/notifications/read/").status_code == 405


def test_following_a_notice_marks_it_read_and_goes_to_its_page(taro):
    first, second = _notices(taro, 2)

    response = _web(taro).get(f"/notifications/{first.pk}/open/")

    assert response.status_code == 302
    assert response["Location"] == "/contracts/0/"
    assert _read_state() == [(first.pk, True), (second.pk, False)]


def test_following_someone_elses_notice_is_not_found_and_changes_nothing(taro, hanako):
    [theirs] = _notices(hanako, 1)

    response = _web(taro).get(f"/notifications/{theirs.pk}/open/")

    assert response.status_code == 404
    assert _read_state() == [(theirs.pk, False)]
