"""Headers every page and download carries: a Content-Security-Policy, and no caching of
what only its reader may see.

Pages load scripts and styles from this site only (htmx and site.css are served from /static/);
nothing inline, no plugins, never framed. A downloaded file is sandboxed, so even if a browser
showed it, it could run nothing. Whatever answers for a logged-in reader, and every download,
is `Cache-Control: private, no-store`: a shared computer's back button or a proxy must not show
one person's contract to the next. The API's docs viewer (/api/v1/docs) is a page like the
others: Swagger UI comes from django-ninja's own static files, never a CDN, under the same policy.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
DOWNLOAD_POLICY = "sandbox; default-src 'none'"


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        kind = response.get("Content-Type", "")
        is_download = "attachment" in response.get("Content-Disposition", "")
        if is_download:
            response["Content-Security-Policy"] = DOWNLOAD_POLICY
            response["Cache-Control"] = "private, no-store"
        elif kind.startswith("text/html"):
            response.setdefault("Content-Security-Policy", PAGE_POLICY)
        user = getattr(request, "user", None)
        private = (user is not None and user.is_authenticated) or "Authorization" in request.headers
        if private and not is_download:
            response["Cache-Control"] = "private, no-store"
        return response
