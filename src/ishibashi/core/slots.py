"""Slots: a page of a lower app shows a section an app above it draws, without importing it.

The upper app registers a renderer in its AppConfig.ready(); the lower page asks the slot by
name with every id it shows at once, so a list of cards costs the renderer one batch, not one
query per card. A slot nobody filled renders nothing: each app's pages work without the apps
above them. Several apps may fill one slot; their parts are drawn in the order they ask for.
(Issue 12: the reliability profile and track record from `reputation`, and the reviews from
`reviews`, on the job pages, the profiles and the contract page of `jobs`, `accounts` and
`contracts`.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.http import HttpRequest
from django.utils.safestring import SafeString, mark_safe

# (request, ids) -> {id: HTML already escaped by its template}
SlotRenderer = Callable[[HttpRequest, list[int]], dict[int, str]]
# (request, ids) -> {id: JSON-ready dict} for an API answer
SlotData = Callable[[HttpRequest, list[int]], dict[int, dict[str, Any]]]

_renderers: dict[str, list[tuple[int, SlotRenderer]]] = {}
_data: dict[str, SlotData] = {}


def slot_register(name: str, renderer: SlotRenderer, *, order: int = 50) -> None:
    """Fill the slot `name`; parts with a lower `order` come first. Registering the same
    renderer again (a second ready()) changes nothing."""
    parts = _renderers.setdefault(name, [])
    if all(existing is not renderer for _order, existing in parts):
        parts.append((order, renderer))
        parts.sort(key=lambda part: part[0])


def slot_data_register(name: str, provider: SlotData) -> None:
    _data[name] = provider


def slot_render_many(name: str, request: HttpRequest, ids: Iterable[int]) -> dict[int, SafeString]:
    wanted = sorted(set(ids))
    drawn = (
        [renderer(request, wanted) for _order, renderer in _renderers.get(name, [])]
        if wanted
        else []
    )
    # The renderers' HTML comes from their own templates, escaped there.
    return {pk: mark_safe("".join(part.get(pk, "") for part in drawn))  # noqa: S308
            for pk in wanted}  # fmt: skip


def slot_render(name: str, request: HttpRequest, pk: int) -> SafeString:
    return slot_render_many(name, request, [pk])[pk]


def slot_data_many(
    name: str, request: HttpRequest, ids: Iterable[int]
) -> dict[int, dict[str, Any] | None]:
    wanted = sorted(set(ids))
    provider = _data.get(name)
    found = provider(request, wanted) if provider is not None and wanted else {}
    return {pk: found.get(pk) for pk in wanted}
