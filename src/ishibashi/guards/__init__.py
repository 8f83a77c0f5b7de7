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
from ishibashi.guards.texts import ReaderCaution, WriterWarning, reader_cautions, writer_warnings

__all__ = [
    "CATEGORIES",
    "GuardCategory",
    "GuardResult",
    "Hit",
    "ReaderCaution",
    "WriterWarning",
    "category_label",
    "detect",
    "pattern_set",
    "reader_caution",
    "reader_cautions",
    "reason_text",
    "writer_warning",
    "writer_warnings",
]
