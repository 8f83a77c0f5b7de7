"""Notification pages: the list with links, and marking read, through the same services as the API.

A notification keeps the language it was written in (the recipient's at the time), like the
mail that went with it; the page around it follows the language switch.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from ishibashi.accounts.models import User
from ishibashi.core.errors import ApplicationError
from ishibashi.core.pagination import page_number, page_of
from ishibashi.notifications import selectors, services

# Page links shown before the current one (the list has no total count, as elsewhere).
PAGER_PAGES_BEFORE = 4


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _pager(number: int, has_next: bool) -> dict[str, Any]:
    numbers = list(range(max(1, number - PAGER_PAGES_BEFORE), number + 1))
    if has_next:
        numbers.append(number + 1)
    return {"number": number, "numbers": numbers, "has_next": has_next}


def _id_or_zero(value: str) -> int:
    """A posted id; 0 for anything not a number, which the service then refuses."""
    try:
        return int(value)
    except ValueError:
        return 0


@login_required
@require_GET
def notification_list_view(request: HttpRequest) -> HttpResponse:
    number = page_number(request.GET.get("page"))
    notifications, has_next = page_of(
        selectors.notification_list_for_user(user=_user(request)), number
    )
    context = {"notifications": notifications, "pager": _pager(number, has_next)}
    return render(request, "notifications/list.html", context)


@login_required
@require_GET
def notification_open_view(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Mark the notice read and go where it points (the list when it points nowhere).

    A GET, so the link works as a link: marking one's own notice read is harmless and
    idempotent, and only the owner can (anyone else's id is a 404, nothing changed).
    """
    try:
        notification = services.notification_open(
            user=_user(request), notification_id=notification_id
        )
    except ApplicationError as error:
        raise Http404(str(error.message)) from error
    return redirect(notification.path or reverse("notifications:list"))


@login_required
@require_POST
def notifications_read_view(request: HttpRequest) -> HttpResponse:
    """Mark all read (all=1) or the posted ids; back to the page the form was on."""
    mark_all = request.POST.get("all") == "1"
    posted_ids = request.POST.getlist("id")
    try:
        services.notifications_mark_read(
            user=_user(request),
            ids=None if mark_all or not posted_ids else [_id_or_zero(v) for v in posted_ids],
            all_unread=mark_all,
        )
    except ApplicationError as error:
        messages.error(request, str(error.message))
    else:
        if mark_all:
            messages.success(request, _("All notifications are marked as read."))
    number = page_number(request.POST.get("page"))
    url = reverse("notifications:list")
    return redirect(f"{url}?page={number}" if number > 1 else url)
