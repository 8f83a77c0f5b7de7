"""Numbered pages without a COUNT: fetch one row more than a page to see if another follows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from ishibashi.core import limits
from ishibashi.core.schemas import PAGES_MAX

T = TypeVar("T")


def page_slice(page: int, size: int = limits.PAGE_SIZE_DEFAULT) -> slice:
    """The rows to fetch for `page` (from 1): the page and one more."""
    start = (page - 1) * size
    return slice(start, start + size + 1)


def page_split(found: Sequence[T], size: int = limits.PAGE_SIZE_DEFAULT) -> tuple[list[T], bool]:
    """A fetched page_slice as (the page, whether another follows)."""
    return list(found[:size]), len(found) > size


def page_of(items: Any, page: int) -> tuple[list[Any], bool]:
    """One page of a queryset and whether another follows, in a single query."""
    return page_split(list(items[page_slice(page)]))


def page_number(value: str | None) -> int:
    """A page number from a query string: 1 when missing or not a number, at most PAGES_MAX
    (deep pages of a newest-first list are never read by a person and cost an OFFSET scan)."""
    try:
        number = int(value or "1")
    except ValueError:
        return 1
    return min(max(number, 1), PAGES_MAX)
