"""notify(): the notice is in the app at once, in the reader's language; the mail follows on commit."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils.translation import gettext as _

from ishibashi.core.invariants import InvariantViolation
from ishibashi.notifications.models import BODY_LENGTH_MAX, SUBJECT_LENGTH_MAX, Notification
from ishibashi.notifications.notices import notify


def _hired(title: str = "WordPressサーバー移行作業"):
    """A compose() from the real catalogue: the hire's subject, and a plain body."""
    return lambda: (_("You were hired: “%(title)s”") % {"title": title}, _("Log in"))


def _rows(user=None):
    rows = Notification.objects.order_by("id")
    if user is not None:
        rows = rows.filter(user=user)
    return list(rows.values_list("user_id", "subject", "body", "path", "read_at"))


def test_a_notice_is_recorded_at_once_in_each_readers_language_and_mailed_on_commit(
    taro, emma, mailoutbox, django_capture_on_commit_callbacks
):
    # when
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notify(user=taro, compose=_hired(), path="/contracts/7/")
        notify(user=emma, compose=_hired("Server move"), path="/contracts/8/")

        # then: in the app before the commit, not yet by mail
        assert _rows() == [
            (
                taro.pk,
                "契約が決まりました：「WordPressサーバー移行作業」",
                "ログイン",
                "/contracts/7/",
                None,
            ),
            (emma.pk, "You were hired: “Server move”", "Log in", "/contracts/8/", None),
        ]
        assert mailoutbox == []

    # and on commit the mails say the same, with the link
    for callback in callbacks:
        callback()
    assert [(mail.to, mail.subject) for mail in mailoutbox] == [
        ([taro.email], "契約が決まりました：「WordPressサーバー移行作業」"),
        ([emma.email], "You were hired: “Server move”"),
    ]
    assert mailoutbox[0].body == "ログイン\n\nhttp://localhost:8000/contracts/7/\n"


def test_a_rolled_back_change_leaves_neither_a_notification_nor_a_mail(
    taro, mailoutbox, django_capture_on_commit_callbacks
):
    # when: the caller's change fails after it notified
    with (  # noqa: PT012
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        notify(user=taro, compose=_hired(), path="/contracts/7/")
        raise RuntimeError("the change fails")

    # then
    assert _rows() == []
    assert mailoutbox == []


@pytest.mark.django_db(transaction=True)
def test_with_real_commits_only_the_committed_change_is_told(taro, mailoutbox):
    # given: one change that fails, one that commits
    with pytest.raises(RuntimeError), transaction.atomic():  # noqa: PT012
        notify(user=taro, compose=_hired("失敗した変更"))
        raise RuntimeError("the change fails")
    with transaction.atomic():
        notify(user=taro, compose=_hired("確定した変更"))

    # then
    assert [row[1] for row in _rows()] == ["契約が決まりました：「確定した変更」"]
    assert [mail.subject for mail in mailoutbox] == ["契約が決まりました：「確定した変更」"]


def test_a_hire_tells_both_parties_in_the_app_each_in_their_language(hanako, emma, hire):
    # when
    contract = hire(hanako, emma)

    # then
    path = f"/contracts/{contract.pk}/"
    assert [(row[1], row[3]) for row in _rows(emma)] == [
        ("You were hired: “WordPressサーバー移行作業”", path)
    ]
    assert [(row[1], row[3]) for row in _rows(hanako)] == [
        (
            "「WordPressサーバー移行作業」に新しい提案が届きました",
            f"/jobs/proposals/{contract.proposal_id}/",
        ),
        # The client hired, but is asked for the first escrow: a to-do, not news of the hire.
        ("契約が始まりました：「WordPressサーバー移行作業」", path),
    ]


def test_a_closed_account_is_not_told(taro, mailoutbox, django_capture_on_commit_callbacks):
    # given
    taro.is_active = False
    taro.save(update_fields=["is_active"])

    # when
    with django_capture_on_commit_callbacks(execute=True):
        notify(user=taro, compose=_hired())

    # then
    assert _rows() == []
    assert mailoutbox == []


def test_long_texts_are_cut_to_fit_and_the_subject_is_one_line(taro):
    # when
    notify(user=taro, compose=lambda: ("件名\n" + "長" * 500, "本文" * 5_000))

    # then
    subject, body = Notification.objects.values_list("subject", "body").get()
    assert len(subject) == SUBJECT_LENGTH_MAX
    assert subject.startswith("件名 長長")
    assert subject.endswith("…")
    assert len(body) == BODY_LENGTH_MAX
    assert body.endswith("…")


@pytest.mark.parametrize(
    "path",
    [
        "https://evil.example/",
        "//evil.example/",
        "contracts/1/",
        "/\\evil.example",
        "/" + "a" * 200,
    ],
    ids=[
        "_case_absolute",
        "_case_scheme_relative",
        "_case_relative",
        "_case_backslash",
        "_case_long",
    ],
)
def test_a_link_outside_the_site_is_a_bug_that_rolls_the_change_back(taro, path):
    # when
    with pytest.raises(InvariantViolation), transaction.atomic():
        notify(user=taro, compose=_hired(), path=path)

    # then
    assert _rows() == []
