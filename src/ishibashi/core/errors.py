"""ApplicationError: an expected refusal with a stable code, a ja/en message and a field."""

from __future__ import annotations

from typing import Any

from django.utils.functional import Promise


class ApplicationError(Exception):
    """A refusal the user can act on. Maps to a 4xx; the API shows it as {code, message, field}."""

    http_status = 400
    default_code = "invalid_request"

    def __init__(
        self,
        message: str | Promise,
        *,
        code: str | None = None,
        field: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(str(message))
        self.message = message
        self.code = code or self.default_code
        self.field = field
        self.extra = extra or {}

    def as_body(self) -> dict[str, Any]:
        """The JSON error body; str() renders the lazy message in the request's language."""
        body: dict[str, Any] = {"code": self.code, "message": str(self.message)}
        if self.field:
            body["field"] = self.field
        body.update(self.extra)
        return body


class InvalidInput(ApplicationError):
    http_status = 422
    default_code = "invalid_input"


class NotAuthenticated(ApplicationError):
    http_status = 401
    default_code = "not_authenticated"


class NotFound(ApplicationError):
    """Also used for objects the user may not see, so existence does not leak."""

    http_status = 404
    default_code = "not_found"


class Conflict(ApplicationError):
    http_status = 409
    default_code = "conflict"


class RateLimited(ApplicationError):
    http_status = 429
    default_code = "rate_limited"


class Forbidden(ApplicationError):
    """The object is visible to the user, but this action is someone else's to take."""

    http_status = 403
    default_code = "forbidden"


class Unavailable(ApplicationError):
    """The request was fine but could not be served now (a search that ran out of time); the
    API adds Retry-After when `extra` carries `retry_after_seconds`."""

    http_status = 503
    default_code = "service_unavailable"
