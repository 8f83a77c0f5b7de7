"""Requests too large or with too many fields: a clear answer and one WARNING line.

Django refuses a body beyond DATA_UPLOAD_MAX_MEMORY_SIZE, or with more fields or files than
allowed, with a SuspiciousOperation: it logs it at ERROR with a traceback under
`django.security.<name>` and answers with handler400. Anyone can send such a request, so it is
not an error of ours: `OversizedRequestLogFilter` makes it one WARNING line (the request id comes
from the format, the method and path are added), and `bad_request`, the project's handler400,
answers 413 for a body too large and 400 otherwise: the API's JSON shape under /api/ (the same
codes as its own handlers in config/api.py), a short bilingual page elsewhere. The page is a fixed
string, like the 503 page (core/middleware.py): rendering a template would run context processors.
"""

from __future__ import annotations

import logging

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

_PAGE = """<!doctype html>
<html lang="ja">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title_ja} / {title_en} — 石橋</title></head>
<body>
<h1>{title_ja}</h1>
<p>{text_ja}</p>
<h1 lang="en">{title_en}</h1>
<p lang="en">{text_en}</p>
</body>
</html>
"""
TOO_LARGE_PAGE = _PAGE.format(
    title_ja="送信内容が大きすぎます",
    text_ja="送信された内容が大きすぎます。入力やファイルを減らして、もう一度お試しください。",
    title_en="Request too large",
    text_en="What was sent is too large. Send less text or fewer files and try again.",
)
BAD_REQUEST_PAGE = _PAGE.format(
    title_ja="送信内容を読み取れません",
    text_ja="送信された内容を読み取れませんでした。ページを開き直して、もう一度お試しください。",
    title_en="Bad request",
    text_en="What was sent could not be read. Reload the page and try again.",
)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler400: 413 for a body too large, 400 for anything else Django refused to read."""
    too_large = isinstance(exception, RequestDataTooBig)
    response: HttpResponse
    if request.path.startswith("/api/"):
        if too_large:
            body = {"code": "request_too_large", "message": _("The request body is too large.")}
        else:
            body = {"code": "invalid_body", "message": _("The request body could not be read.")}
        response = JsonResponse(body, status=413 if too_large else 400)
    else:
        response = HttpResponse(
            TOO_LARGE_PAGE if too_large else BAD_REQUEST_PAGE,
            status=413 if too_large else 400,
            content_type="text/html; charset=utf-8",
        )
    response["Cache-Control"] = "no-store"
    return response


class OversizedRequestLogFilter(logging.Filter):
    """Turns Django's ERROR-with-traceback for an oversized request into one WARNING line.

    LOGGING (settings.py) sets it on django.security.RequestDataTooBig, .TooManyFieldsSent and
    .TooManyFilesSent, the loggers Django names after the refusal."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        where = f" ({request.method} {request.path})" if isinstance(request, HttpRequest) else ""
        record.msg = f"Refused a request: {record.getMessage()}{where}"
        record.args = ()
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info, record.exc_text = None, None
        return True
