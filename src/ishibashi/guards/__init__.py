"""Message guards: detect requests to work before escrow, moves off the platform and unpaid tests.

Below jobs and contracts, above core only: any app may import it (docs/architecture.md).
"""

from ishibashi.guards.categories import (
    CATEGORIES,
    GuardCategory,
    category_label,
    reader_caution,
    reason_text,
    writer_warning,
)
from ishibashi.guards.detector import GuardResult, Hit, detect, pattern_set

__all__ = [
    "CATEGORIES",
    "GuardCategory",
    "GuardResult",
    "Hit",
    "category_label",
    "detect",
    "pattern_set",
    "reader_caution",
    "reason_text",
    "writer_warning",
]
