"""One notice to one user, in the words and the language it was sent in (通知)."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models

from ishibashi.core import clock

# A subject is one line of the list and of a mail's subject; the notices' own subjects are a
# milestone or job title (at most 100 characters) in a short sentence.
SUBJECT_LENGTH_MAX = 200
# A body is a few sentences, plus at most a decline reason (500); anything longer is cut.
BODY_LENGTH_MAX = 4_000
# A link inside the site, such as /contracts/12/; a longer one is dropped, not cut.
PATH_LENGTH_MAX = 200


class Notification(models.Model):
    """Written in the transaction of the change it tells about, so a rollback leaves none."""

    # No index of its own: the list's index starts with user and serves every lookup by user.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        db_index=False,
    )
    subject = models.CharField(max_length=SUBJECT_LENGTH_MAX)
    body = models.TextField(max_length=BODY_LENGTH_MAX, blank=True)
    path = models.CharField(max_length=PATH_LENGTH_MAX, blank=True)
    # The language the words were written in (the recipient's then); empty for older rows.
    language = models.CharField(max_length=8, blank=True, default="")
    created_at = models.DateTimeField(default=clock.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes: ClassVar[list[models.Index]] = [
            # The list: one user's notifications, newest first (id breaks a tie in time).
            models.Index(fields=["user", "-created_at", "-id"], name="notifications_user_created"),
            # The header badge on every page and "mark all read": only the unread rows.
            models.Index(
                fields=["user"],
                condition=models.Q(read_at__isnull=True),
                name="notifications_user_unread",
            ),
        ]

    def __str__(self) -> str:
        return f"notification {self.pk} to user {self.user_id}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None
