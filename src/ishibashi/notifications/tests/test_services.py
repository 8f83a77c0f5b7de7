"""Marking read and reading back: only one's own notifications, and a refusal changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import translation

from ishibashi.core import clock
from ishibashi.core.errors import InvalidInput
from ishibashi.core.pagination import page_of
from ishibashi.notifications.models import Notification
from ishibashi.notifications.selectors import notification_list_for_user, unread_count
from ishibashi.notifications.services import (
    MARK_READ_IDS_MAX,
    notification_create,
    notifications_mark_read,
)


def _notices(user, count: int) -> list[Notification]:
    return [
        notification_create(user=user, subject=f"通知 {n}", body="本文", path=f"/contracts/{n}/")
        for n in range(count)
    ]


def _read_state() -> list[tuple[int, bool]]:
    rows = Notification.objects.order_by("pk").values_list("pk", "read_at")
    return [(pk, read_at is not None) for pk, read_at in rows]


def test_marking_by_id_marks_only_those_of_the_user_and_counts_the_change(taro, hanako):
    # given
    mine = _notices(taro, 3)
    theirs = _notices(hanako, 1)

    # when: two of mine, one of theirs, and one already read
    first = notifications_mark_read(user=taro, ids=[mine[0].pk, theirs[0].pk])
    second = notifications_mark_read(user=taro, ids=[mine[0].pk, mine[1].pk])

    # then
    assert (first, second) == (1, 1)
    assert _read_state() == [
        (mine[0].pk, True),
        (mine[1].pk, True),
        (mine[2].pk, False),
        (theirs[0].pk, False),
    ]
    assert (unread_count(user=taro), unread_count(user=hanako)) == (1, 1)


def test_marking_all_marks_every_unread_one_of_the_user_at_the_time_it_happens(taro, hanako):
    # given
    mine = _notices(taro, 2)
    theirs = _notices(hanako, 2)
    moment = clock.now() + dt.timedelta(hours=1)

    # when
    with time_machine.travel(moment, tick=False):
        marked = notifications_mark_read(user=taro, all_unread=True)

    # then
    assert marked == 2
    assert {n.read_at for n in Notification.objects.filter(user=taro)} == {moment}
    assert [n.pk for n in mine] == list(
        Notification.objects.filter(user=taro, read_at__isnull=False)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    assert unread_count(user=hanako) == len(theirs)


@pytest.mark.parametrize(
    ("ids", "all_unread", "message"),
    [
        (None, False, "Send the ids of the notifications to mark as read, or all: true."),
        ([1], True, "Send the ids of the notifications to mark as read, or all: true."),
        (["1"], False, "Notification ids are positive whole numbers."),
        ([True], False, "Notification ids are positive whole numbers."),
        ([0], False, "Notification ids are positive whole numbers."),
        ([2**63], False, "Notification ids are positive whole numbers."),
        (
            list(range(1, MARK_READ_IDS_MAX + 2)),
            False,
            "Mark at most 100 notifications at a time by id, or all of them.",
        ),
    ],
    ids=[
        "_case_neither",
        "_case_both",
        "_case_string",
        "_case_bool",
        "_case_zero",
        "_case_huge",
        "_case_too_many",
    ],
)
def test_bad_input_is_refused_and_nothing_changes(taro, ids, all_unread, message):
    # given
    _notices(taro, 2)
    before = _read_state()

    # when
    with translation.override("en"), pytest.raises(InvalidInput) as refusal:
        notifications_mark_read(user=taro, ids=ids, all_unread=all_unread)

    # then
    with translation.override("en"):
        shown = str(refusal.value.message)
    assert (refusal.value.code, refusal.value.field, shown) == ("invalid_input", "ids", message)
    assert _read_state() == before


def test_an_empty_list_marks_nothing(taro):
    _notices(taro, 1)

    assert notifications_mark_read(user=taro, ids=[]) == 0
    assert unread_count(user=taro) == 1


def test_the_list_is_the_users_own_newest_first_in_pages(taro, hanako):
    # given: 21 of mine at one moment (ids break the tie), one of theirs
    mine = _notices(taro, 21)
    _notices(hanako, 1)

    # when
    first, first_has_next = page_of(notification_list_for_user(user=taro), 1)
    second, second_has_next = page_of(notification_list_for_user(user=taro), 2)

    # then
    assert [n.pk for n in first + second] == [n.pk for n in reversed(mine)]
    assert (len(first), first_has_next, len(second), second_has_next) == (20, True, 1, False)


def test_the_newest_comes_first_by_time(taro):
    # given
    with time_machine.travel(clock.now() + dt.timedelta(days=1), tick=False):
        later = notification_create(user=taro, subject="後", body="")
    earlier = notification_create(user=taro, subject="先", body="")

    # then
    assert list(notification_list_for_user(user=taro)) == [later, earlier]
