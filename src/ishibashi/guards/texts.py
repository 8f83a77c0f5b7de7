"""What the pages show about a guard result: the writer's warning rows and the reader's cautions."""

from __future__ import annotations

from dataclasses import dataclass

from ishibashi.guards.categories import (
    CATEGORIES,
    category_label,
    reader_caution,
    reason_text,
    writer_warning,
)
from ishibashi.guards.detector import GuardResult


@dataclass(frozen=True)
class WriterWarning:
    """One category found in a text about to be sent: what it is, what it means, which words."""

    category: str
    label: str
    warning: str
    found: list[str]


@dataclass(frozen=True)
class ReaderCaution:
    category: str
    label: str
    caution: str


def writer_warnings(result: GuardResult, *, is_client: bool) -> list[WriterWarning]:
    rows = []
    for category in result.categories:
        # One line per reason, quoting every passage that gave it.
        quoted: dict[str, list[str]] = {}
        for hit in result.hits:
            if hit.category == category and hit.excerpt not in quoted.get(hit.reason, []):
                quoted.setdefault(hit.reason, []).append(hit.excerpt)
        found = [
            f"{reason_text(reason)}: " + "".join(f"「{words}」" for words in excerpts)
            for reason, excerpts in quoted.items()
        ]
        rows.append(
            WriterWarning(
                category=category,
                label=category_label(category),
                warning=writer_warning(category, is_client=is_client),
                found=found,
            )
        )
    return rows


def reader_cautions(categories: list[str]) -> list[ReaderCaution]:
    """The cautions for a stored message's categories, in the fixed category order."""
    return [
        ReaderCaution(category=c, label=category_label(c), caution=reader_caution(c))
        for c in CATEGORIES
        if c in categories
    ]
