"""Throttles shared by every worker: request counts per key in fixed windows (throttle_hit), and
the sliding-window arithmetic of the throttles that keep one row per event (log-in failures,
sign-up requests, wrong codes, a new account's proposals and messages).

One statement per request: an upsert that adds one to the current window's row and returns the
count. Rows of windows that have ended are deleted when a key opens a new window. A fixed window
lets a client send up to twice the limit across a window's edge; that is enough to stop a flood,
which is what these throttles are for.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import QuerySet
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


def minutes_until(moment: datetime) -> int:
    """Whole minutes from now until `moment`, rounded up and at least one: what a 429 tells a
    person to wait (its Retry-After is this times 60)."""
    return max(1, int((moment - clock.now()).total_seconds() + 59) // 60)


def sliding_window_reopens_at(
    rows: QuerySet[Any, Any], *, most: int, window: timedelta
) -> datetime | None:
    """When `rows` (one per event, with `created_at`) will number fewer than `most` within the
    `window` before the moment: the oldest counted row's time plus the window; None if they
    already do. Reads at most `most` timestamps."""
    times = list(
        rows.filter(created_at__gte=clock.now() - window)
        .order_by("created_at")
        .values_list("created_at", flat=True)[:most]
    )
    return times[0] + window if len(times) >= most else None
