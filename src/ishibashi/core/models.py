"""Tables the whole project shares: the answers kept for retried money requests."""

from __future__ import annotations

from typing import ClassVar

from django.db import models


class IdempotentRequest(models.Model):
    """A money-moving API request sent with an Idempotency-Key, and the answer it got.

    `status_code` is empty while the first request is being served; a retry then hears "in
    progress". Only successful answers are kept: a refusal changes nothing, so a retry after one
    (having deposited, say) runs again.
    """

    # Who sent it: a hash of the credential (the bearer token or the session cookie), never the
    # credential itself.
    scope = models.CharField(max_length=64)
    key = models.CharField(max_length=200)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=300)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    body = models.BinaryField(default=b"")
    created_at = models.DateTimeField()

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotent_request_once")
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["created_at"], name="idempotent_request_age")
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.key})"


class ThrottleWindow(models.Model):
    """How many requests one key (an address, a user) made in one fixed window of one scope.

    A table, not the cache: no shared cache is configured, and Django's default cache lives in
    each gunicorn worker, so a count kept there would be divided by the number of workers.
    """

    scope = models.CharField(max_length=40)
    key = models.CharField(max_length=64)
    # The window's end, in whole seconds since the epoch: a row is dead once the clock passes it.
    ends_at_epoch = models.BigIntegerField()
    hits = models.PositiveIntegerField(default=0)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["scope", "key", "ends_at_epoch"], name="throttle_window_once"
            )
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["ends_at_epoch"], name="throttle_window_end")
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}: {self.hits}"
