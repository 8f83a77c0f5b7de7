"""503 while the database is unreachable, instead of a 500 that says the app is broken.

A restart or fail-over of PostgreSQL makes every query fail for a few seconds with
OperationalError (cannot connect, connection terminated) or InterfaceError (connection already
closed). The failed request's open transaction rolls back; but it may have committed already (the
connection broke on the COMMIT's answer, or a read after the use case's transaction failed), and
then the client cannot tell. So the answer is "try again shortly, after checking": 503 with
Retry-After, JSON for the API (its usual `{"code", "message"}` shape; the API's idempotency keys
and 409 refusals make a retry safe) and a short bilingual page for browsers. The page is a fixed
string, not a template: rendering a template runs context processors, which query the database.
Persistent connections recover by themselves (settings: CONN_HEALTH_CHECKS), so the first
request after the database is back is served normally.

Two entry points catch the two places such an error can surface:
- `DatabaseUnavailableMiddleware.process_exception`: raised by a view (pages and the API);
- `database_unavailable_or_500`, the project's handler500: raised anywhere else, for example by
  the session middleware saving the session after the view, which Django turns into a 500.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from pydantic_core import ValidationError as PydanticValidationError

from ishibashi.core.request_ids import current_request_id

RETRY_AFTER_SECONDS = 5
DATABASE_ERRORS = (OperationalError, InterfaceError)


def is_database_unavailable(error: BaseException | None) -> bool:
    """A lost database, raised as itself or while pydantic read an attribute for an API answer.

    An endpoint's answer is built after its use case committed, and a resolver that queries
    (say, a contract's terms versions) meets the outage inside pydantic, which reports it as a
    ValidationError of type get_attribute_error naming the original class, not as the error.
    """
    if isinstance(error, DATABASE_ERRORS):
        return True
    if isinstance(error, PydanticValidationError):
        names = tuple(f"{kind.__name__}:" for kind in DATABASE_ERRORS)
        return any(
            item["type"] == "get_attribute_error"
            and str(item.get("ctx", {}).get("error", "")).startswith(names)
            for item in error.errors()
        )
    return False


PAGE = """<!doctype html>
<html lang="ja">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>一時的にご利用いただけません / Temporarily unavailable — 石橋</title></head>
<body style="font-family: sans-serif; max-width: 36rem; margin: 3rem auto; padding: 0 1rem;">
<h1>ただいま混み合っています</h1>
<p>一時的にご利用いただけません。数秒後にもう一度お試しください。
直前の操作が完了したかどうかは、画面を開き直してご確認ください。</p>
<h1 lang="en">Temporarily unavailable</h1>
<p lang="en">Ishibashi cannot be reached for a moment. Please try again in a few seconds.
Reload the page to see whether your last action went through before repeating it.</p>
</body>
</html>
"""


def database_unavailable(request: HttpRequest) -> HttpResponse:
    """The 503 answer: JSON under /api/, the bilingual page elsewhere; both with Retry-After."""
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse(
            {
                "code": "service_unavailable",
                "message": _("The service is briefly unavailable. Please try again shortly."),
                "retry_after_seconds": RETRY_AFTER_SECONDS,
            },
            status=503,
        )
    else:
        response = HttpResponse(PAGE, status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if is_database_unavailable(exception):
            return database_unavailable(request)
        return None


def database_unavailable_or_500(request: HttpRequest) -> HttpResponse:
    """handler500: Django calls it while handling the exception, so sys.exc_info() names it.

    Any other error stays a 500: the bilingual error page, or the API's JSON shape under /api/
    (an API client should not have to parse an HTML page).
    """
    from django.views.defaults import server_error

    if is_database_unavailable(sys.exc_info()[1]):
        return database_unavailable(request)
    if request.path.startswith("/api/"):
        return server_error_json()
    return server_error(request)


def server_error_json() -> JsonResponse:
    """The API's 500: its usual shape, with the request id the log lines carry."""
    return JsonResponse(
        {
            "code": "server_error",
            "message": _(
                "Something went wrong on our side. Please try again in a moment; if it "
                "keeps happening, tell us the request id."
            ),
            "request_id": current_request_id(),
        },
        status=500,
    )
