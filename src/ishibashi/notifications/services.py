"""Writes for notifications: record one (notices.notify does), and mark some or all read."""

from __future__ import annotations

from collections.abc import Collection

from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _

from ishibashi.accounts.models import User
from ishibashi.core import clock, limits
from ishibashi.core.errors import InvalidInput, NotFound
from ishibashi.core.invariants import require
from ishibashi.notifications.models import (
    BODY_LENGTH_MAX,
    PATH_LENGTH_MAX,
    SUBJECT_LENGTH_MAX,
    Notification,
)

# One request marks at most a page of notifications by id; "all" has no such bound.
MARK_READ_IDS_MAX = limits.PAGE_SIZE_MAX
# Ids are 64-bit: a larger number names no row, and PostgreSQL refuses to compare it.
NOTIFICATION_ID_MAX = 2**63 - 1


def _cut(text: str, length_max: int) -> str:
    """`text` whole if it fits, else cut to `length_max` characters ending in an ellipsis."""
    if len(text) <= length_max:
        return text
    return text[: length_max - 1].rstrip() + "…"


def notification_create(
    *, user: User, subject: str, body: str, path: str = "", language: str = ""
) -> Notification:
    """Record a notice for `user` in the caller's transaction; the texts are already translated.

    Subject and body come from a notice's own sentences around titles people typed, so they are
    cut to fit rather than refused: a long title must not stop the hire it tells about.
    """
    notification = notification_build(
        user=user, subject=subject, body=body, path=path, language=language
    )
    notification.save(force_insert=True)
    return notification


def notifications_create_many(notifications: list[Notification]) -> None:
    """Record notices made by notification_build in one statement (a sweeper's batch)."""
    Notification.objects.bulk_create(notifications)


def notification_build(
    *, user: User, subject: str, body: str, path: str = "", language: str = ""
) -> Notification:
    """The unsaved notice notification_create records, checked and cut the same way."""
    require(
        path == ""
        or (
            path.startswith("/")
            and len(path) <= PATH_LENGTH_MAX
            and url_has_allowed_host_and_scheme(path, allowed_hosts=None)
        ),
        f"a notification links inside the site, not to {path!r}",
    )
    # One line: the subject is a list row and, in the mail, a header.
    subject = " ".join(subject.split())
    return Notification(
        user=user,
        subject=_cut(subject, SUBJECT_LENGTH_MAX),
        body=_cut(body.strip(), BODY_LENGTH_MAX),
        path=path,
        language=language,
    )


def notification_open(*, user: User, notification_id: int) -> Notification:
    """`user`'s notification, now marked read (once: the first read time stays); opening it.

    Someone else's notification, or none, is NotFound, and nothing changes.
    """
    if not 1 <= notification_id <= NOTIFICATION_ID_MAX:
        raise NotFound(_("No such notification."))
    notification = Notification.objects.filter(user=user, pk=notification_id).first()
    if notification is None:
        raise NotFound(_("No such notification."))
    if notification.read_at is None:
        now = clock.now()
        # Conditional: two tabs opening it at once keep the first read time.
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now)
        notification.read_at = now
    return notification


def notifications_mark_read(
    *, user: User, ids: Collection[int] | None = None, all_unread: bool = False
) -> int:
    """Mark `user`'s notifications read: those in `ids`, or with `all_unread` every unread one.

    Returns how many were unread and now are read. An id of someone else's notification, or of
    none, is passed over like one already read, so the answer never tells that it exists.
    """
    if all_unread == (ids is not None):
        raise InvalidInput(
            _("Send the ids of the notifications to mark as read, or all: true."), field="ids"
        )
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        if len(ids) > MARK_READ_IDS_MAX:
            raise InvalidInput(
                _("Mark at most %(max)d notifications at a time by id, or all of them.")
                % {"max": MARK_READ_IDS_MAX},
                field="ids",
            )
        if any(type(id_) is not int or not 1 <= id_ <= NOTIFICATION_ID_MAX for id_ in ids):
            raise InvalidInput(_("Notification ids are positive whole numbers."), field="ids")
        unread = unread.filter(pk__in=set(ids))
    return unread.update(read_at=clock.now())
