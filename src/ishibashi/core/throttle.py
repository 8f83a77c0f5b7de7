"""Request counts per key (a client address, a user) in fixed windows, shared by every worker.

One statement per request: an upsert that adds one to the current window's row and returns the
count. Rows of windows that have ended are deleted when a key opens a new window. A fixed window
lets a client send up to twice the limit across a window's edge; that is enough to stop a flood,
which is what these throttles are for.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.utils.functional import Promise

from ishibashi.core import clock
from ishibashi.core.errors import RateLimited
from ishibashi.core.models import ThrottleWindow

UPSERT = (
    "INSERT INTO {table} (scope, key, ends_at_epoch, hits) VALUES (%s, %s, %s, 1) "
    "ON CONFLICT (scope, key, ends_at_epoch) DO UPDATE SET hits = {table}.hits + 1 "
    "RETURNING hits"
)


def throttle_hit(
    *, scope: str, key: str, limit: int, window: timedelta, message: str | Promise, code: str
) -> None:
    """Count one request of `key` in `scope`; raise RateLimited (with Retry-After) over `limit`.

    Committed at once outside a transaction, so a refused request still counts: a client that
    keeps sending gets nothing until the window ends.
    """
    seconds = int(window.total_seconds())
    now = clock.now().timestamp()
    ends_at = (int(now) // seconds + 1) * seconds
    table = connection.ops.quote_name(ThrottleWindow._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(UPSERT.format(table=table), [scope, key[:64], ends_at])
        hits = int(cursor.fetchone()[0])
    if hits == 1:
        ThrottleWindow.objects.filter(ends_at_epoch__lte=int(now)).delete()
    if hits > limit:
        raise RateLimited(
            message, code=code, extra={"retry_after_seconds": max(1, int(ends_at - now + 0.999))}
        )
