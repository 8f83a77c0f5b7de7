"""Slots: a page of a lower app shows a section an app above it draws, without importing it.

The upper app registers a renderer in its AppConfig.ready(); the lower page asks the slot by
name with every id it shows at once, so a list of cards costs the renderer one batch, not one
query per card. A slot nobody filled renders nothing: each app's pages work without the apps
above them. (The client's reliability profile on the job pages and the public profile, issue
12, is drawn by `reputation`, which sits above `jobs` and `accounts`.)
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

_renderers: dict[str, SlotRenderer] = {}
_data: dict[str, SlotData] = {}


def slot_register(name: str, renderer: SlotRenderer) -> None:
    _renderers[name] = renderer


def slot_data_register(name: str, provider: SlotData) -> None:
    _data[name] = provider


def slot_render_many(name: str, request: HttpRequest, ids: Iterable[int]) -> dict[int, SafeString]:
    wanted = sorted(set(ids))
    renderer = _renderers.get(name)
    drawn = renderer(request, wanted) if renderer is not None and wanted else {}
    # The renderer's HTML comes from its own templates, escaped there.
    return {pk: mark_safe(drawn.get(pk, ""))  # noqa: S308
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
