"""The HTTP API at /api/v1/: one NinjaAPI, and one JSON shape for every error."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.operation import Operation
from ninja.parser import Parser

from ishibashi.accounts.api import auth_router, me_router, users_router
from ishibashi.contracts.api import (
    changes_router,
    contracts_router,
    deliveries_router,
    delivery_files_router,
    milestones_router,
)
from ishibashi.core.errors import ApplicationError
from ishibashi.core.middleware import (
    database_unavailable,
    is_database_unavailable,
    server_error_json,
)
from ishibashi.core.request_ids import current_request_id
from ishibashi.guards.api import messages_router
from ishibashi.jobs.api import jobs_router, proposals_router
from ishibashi.notifications.api import notifications_router
from ishibashi.operations.api import operations_router
from ishibashi.payments.api import sandbox_router, wallet_router
from ishibashi.reputation.api import clients_router, workers_router
from ishibashi.reviews.api import reviews_router

logger = logging.getLogger("ishibashi.api")


class NotJson(Exception):
    """A JSON body sent under another content type (text/plain, a form): 415, not a guess."""


class JsonOnlyParser(Parser):
    """Reads a JSON body only when the request says it is JSON (`application/json`, `…+json`).

    Browsers send `text/plain` bodies across origins without a preflight; taking them as JSON
    would let another site's page post to the API with a visitor's session.
    """

    def parse_body(self, request: HttpRequest) -> Any:
        kind = request.content_type or ""
        if kind != "application/json" and not kind.endswith("+json"):
            raise NotJson(kind)
        return super().parse_body(request)


class IshibashiAPI(NinjaAPI):
    """NinjaAPI whose operation ids stay what they were before an app's api became a package.

    Clients generate code from the OpenAPI document, so an operation id is a public name:
    `ishibashi.contracts.api.funding.milestone_fund_endpoint` keeps the id it had as
    `ishibashi.contracts.api.milestone_fund_endpoint`.
    """

    def get_openapi_operation_id(self, operation: Operation) -> str:
        module = operation.view_func.__module__.split(".")
        if len(module) > 3 and module[2] == "api":
            module = module[:3]
        return "_".join([*module, operation.view_func.__name__])


api = IshibashiAPI(
    title="Ishibashi API",
    version="1",
    description=(
        "石橋 (Ishibashi) marketplace API. Authenticate with `Authorization: Bearer <token>` "
        "(create a token with POST /auth/token or on your profile page). Errors are JSON "
        '`{"code", "message", "field"?}`; messages follow `Accept-Language` (ja default, en).'
    ),
    urls_namespace="api",
    parser=JsonOnlyParser(),
    # Served from ninja's own static files (it is an installed app). No online validator: its
    # badge would send the spec's address to swagger.io, which the page's CSP refuses anyway.
    docs=Swagger(settings={"validatorUrl": None}),
)


@api.exception_handler(ApplicationError)
def application_error_handler(request: HttpRequest, error: ApplicationError) -> HttpResponse:
    response = api.create_response(request, error.as_body(), status=error.http_status)
    if "retry_after_seconds" in error.extra:
        response["Retry-After"] = str(error.extra["retry_after_seconds"])
    return response


def _field_of(location: Any) -> str | None:
    """ninja's error location as the services name fields: "milestones[0].due_on".

    ninja reports ("body", "payload", "milestones", 0, "due_on") for a body, and ("query", "page")
    or ("path", "job_id") otherwise: drop where it came from and the body's parameter name.
    """
    parts = list(location)
    if parts and parts[0] == "body":
        parts = parts[2:]
    elif parts and parts[0] in ("query", "path", "header", "cookie", "form"):
        parts = parts[1:]
    field = ""
    for part in parts:
        if isinstance(part, int):
            field += f"[{part}]"
        else:
            field += f".{part}" if field else str(part)
    return field or None


@api.exception_handler(ValidationError)
def validation_error_handler(request: HttpRequest, error: ValidationError) -> HttpResponse:
    first = error.errors[0] if error.errors else {}
    field = _field_of(first.get("loc", ()))
    if first.get("type") == "missing":
        message = _("This field is required: %(field)s.") % {"field": field}
    elif first.get("type") == "extra_forbidden":
        message = _("This field is not part of this request: %(field)s.") % {"field": field}
    elif field:
        message = _("This value has the wrong form: %(field)s.") % {"field": field}
    else:
        message = _("The request body is not valid JSON of the expected shape.")
    body: dict[str, Any] = {"code": "invalid_input", "message": message}
    if field:
        body["field"] = field
    return api.create_response(request, body, status=422)


@api.exception_handler(AuthenticationError)
def authentication_error_handler(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
    if request.headers.get("Authorization"):
        message = _("The API token is invalid or has been revoked.")
        code = "invalid_token"
    else:
        message = _("Log in or send an API token (Authorization: Bearer …).")
        code = "not_authenticated"
    return api.create_response(request, {"code": code, "message": message}, status=401)


@api.exception_handler(Http404)
def not_found_handler(request: HttpRequest, error: Http404) -> HttpResponse:
    return api.create_response(
        request, {"code": "not_found", "message": _("Not found.")}, status=404
    )


@api.exception_handler(RequestDataTooBig)
def body_too_big_handler(request: HttpRequest, error: RequestDataTooBig) -> HttpResponse:
    # Django would answer with its HTML 400 page; API clients get the usual JSON shape.
    return api.create_response(
        request,
        {"code": "request_too_large", "message": _("The request body is too large.")},
        status=413,
    )


@api.exception_handler(MultiPartParserError)
@api.exception_handler(TooManyFieldsSent)
@api.exception_handler(TooManyFilesSent)
def unreadable_body_handler(request: HttpRequest, error: Exception) -> HttpResponse:
    return api.create_response(
        request,
        {"code": "invalid_body", "message": _("The request body could not be read.")},
        status=422,
    )


@api.exception_handler(HttpError)
def http_error_handler(request: HttpRequest, error: HttpError) -> HttpResponse:
    if isinstance(error.__cause__, NotJson):
        # ninja wraps whatever the parser raises in a 400; this one has its own status.
        return api.create_response(
            request,
            {
                "code": "unsupported_media_type",
                "message": _("Send the request body as JSON (Content-Type: application/json)."),
            },
            status=415,
        )
    if error.status_code == 403:
        code, message = "csrf_failed", _("CSRF check failed. Reload the page, or use an API token.")
    elif error.status_code == 400:
        code, message = "invalid_json", _("The request body is not valid JSON.")
    else:
        code, message = "http_error", str(error)
    return api.create_response(
        request, {"code": code, "message": message}, status=error.status_code
    )


@api.exception_handler(Exception)
def unexpected_error_handler(request: HttpRequest, error: Exception) -> HttpResponse:
    """A bug: the API's JSON shape with the request id, whatever DEBUG says, and the traceback
    in the log under the same id. A lost database is still a 503."""
    if is_database_unavailable(error):
        return database_unavailable(request)
    logger.error(
        "Unexpected error on %s %s (request %s)",
        request.method,
        request.path,
        current_request_id(),
        exc_info=error,
    )
    return server_error_json()


api.add_router("/auth/", auth_router)
api.add_router("/me", me_router)
api.add_router("/users/", users_router)
api.add_router("/wallet", wallet_router)
api.add_router("/sandbox/", sandbox_router)
api.add_router("/operations/", operations_router)
api.add_router("/jobs", jobs_router)
api.add_router("/proposals", proposals_router)
api.add_router("/contracts", contracts_router)
api.add_router("/milestones", milestones_router)
api.add_router("/deliveries", deliveries_router)
api.add_router("/delivery-files", delivery_files_router)
api.add_router("/changes", changes_router)
api.add_router("/notifications", notifications_router)
api.add_router("/messages", messages_router)
api.add_router("/reviews", reviews_router)
api.add_router("/clients", clients_router)
api.add_router("/workers", workers_router)
