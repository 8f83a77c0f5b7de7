"""Every request gets an id: in the X-Request-ID header, its log lines, and a 500's JSON body.

A person who reports "it said something went wrong" can quote the id, and the operator finds the
traceback by it. A proxy's own id is kept when it looks like one; anything else a caller sends
is replaced, so a log line never carries text of the caller's choosing.
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from collections.abc import Callable

from django.core.signals import request_finished
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

HEADER = "X-Request-ID"
_LOOKS_LIKE_AN_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
_current: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


def current_request_id() -> str:
    """The id of the request being served ("-" outside one: a command, the worker)."""
    return _current.get()


class RequestIdMiddleware:
    """First in MIDDLEWARE, so everything after it, handler500 included, logs under the id."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        offered = request.headers.get(HEADER, "")
        request_id = offered if _LOOKS_LIKE_AN_ID.fullmatch(offered) else uuid.uuid4().hex
        # Kept until the response is closed (request_finished), not reset on the way out:
        # Django logs a 4xx or 500 after the middleware has returned.
        _current.set(request_id)
        response = self.get_response(request)
        response[HEADER] = request_id
        return response


@receiver(request_finished)
def _forget_request_id(**_kwargs: object) -> None:
    _current.set("-")


class RequestIdFilter(logging.Filter):
    """Gives every log record a `request_id` for the formatter."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _current.get()
        return True
