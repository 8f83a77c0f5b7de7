"""Notifications API: your notifications, newest first, and marking them read."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from pydantic import StrictBool, StrictInt

from ishibashi.accounts.auth import request_user, user_auth
from ishibashi.core.pagination import page_of
from ishibashi.core.schemas import ERRORS, BodyIn
from ishibashi.notifications import selectors, services

notifications_router = Router(tags=["notifications"], auth=user_auth)


class NotificationPageQuery(Schema):
    page: int = Field(1, ge=1, le=selectors.PAGES_MAX)


class NotificationOut(Schema):
    id: int
    subject: str
    body: str
    path: str = Field(description="A link inside the site, such as /contracts/12/; may be empty.")
    language: str = Field(
        description="The language the subject and body were written in (ja or en): the "
        "recipient's when it was sent; empty for notices older than this field."
    )
    created_at: datetime
    read_at: datetime | None


class NotificationPageOut(Schema):
    items: list[NotificationOut]
    page: int
    has_next: bool
    unread_count: int


class NotificationReadIn(BodyIn):
    # Strict: "1" is not an id and "yes" is not true; a wrong type is a 422, not a guess.
    ids: list[StrictInt] | None = Field(
        None, description="Ids of your notifications to mark read (at most 100)."
    )
    all: StrictBool = Field(False, description="true marks every unread notification read.")


class NotificationReadOut(Schema):
    marked: int = Field(description="How many were unread and are now read.")
    unread_count: int


@notifications_router.get(
    "", response={200: NotificationPageOut, **ERRORS}, summary="Your notifications, newest first"
)
def notification_list_endpoint(
    request: HttpRequest, query: Query[NotificationPageQuery]
) -> dict[str, object]:
    user = request_user(request)
    items, has_next = page_of(selectors.notification_list_for_user(user=user), query.page)
    return {
        "items": items,
        "page": query.page,
        "has_next": has_next,
        "unread_count": selectors.unread_count(user=user),
    }


@notifications_router.post(
    "/read", response={200: NotificationReadOut, **ERRORS}, summary="Mark notifications read"
)
def notifications_read_endpoint(
    request: HttpRequest, payload: NotificationReadIn
) -> dict[str, int]:
    user = request_user(request)
    marked = services.notifications_mark_read(user=user, ids=payload.ids, all_unread=payload.all)
    return {"marked": marked, "unread_count": selectors.unread_count(user=user)}


@notifications_router.get(
    "/{int:notification_id}",
    response={200: NotificationOut, **ERRORS},
    summary="Open one of your notifications (marks it read)",
)
def notification_open_endpoint(request: HttpRequest, notification_id: int) -> object:
    """Opening a notice marks it read, as following its link on the page does; the first read
    time stays. Someone else's notification is a 404 not_found and is left as it was."""
    return services.notification_open(user=request_user(request), notification_id=notification_id)
