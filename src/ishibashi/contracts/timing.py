"""Fixed log-scale buckets for the client's waiting times (fund, inspect, reply).

Each client's stats row holds one counter per bucket and metric, bumped in the transaction
that ends the wait, so the median is read from one row whatever the client's history. Bucket
0 is under 30 minutes; each next bucket doubles (30 min, 1 h, 2 h, … 256 h); the last one is
512 hours (about 21 days) and over. A median read from them is known to within a factor of 2.
"""

from __future__ import annotations

BUCKET_FIRST_EDGE_SECONDS = 30 * 60
BUCKETS = 12
METRICS = ("fund", "inspect", "reply")


def bucket_edges() -> list[int]:
    """The lower edge of each bucket in seconds (bucket 0 starts at 0)."""
    return [0] + [BUCKET_FIRST_EDGE_SECONDS * 2**i for i in range(BUCKETS - 1)]


def bucket_of(seconds: int) -> int:
    bucket = 0
    for index, edge in enumerate(bucket_edges()):
        if seconds >= edge:
            bucket = index
    return bucket


def bucket_field(metric: str, bucket: int) -> str:
    return f"{metric}_b{bucket:02d}"


def bucket_fields(metric: str) -> list[str]:
    return [bucket_field(metric, b) for b in range(BUCKETS)]


def bump_for(metric: str, seconds: int) -> dict[str, int]:
    """The counter deltas of one wait that ended: its bucket, by one."""
    return {bucket_field(metric, bucket_of(max(0, seconds))): 1}
