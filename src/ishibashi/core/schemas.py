"""Shapes every API shares: the error body and its statuses, page numbers, a person."""

from __future__ import annotations

from typing import Annotated

from ninja import Field, Schema
from pydantic import ConfigDict, Strict

# A whole number in a request body: only a JSON integer. Pydantic's lax mode would take `true`
# as 1 and "5000", "5_000" or 5000.0 as 5000; for an amount of yen that is a silent guess.
WholeNumber = Annotated[int, Strict()]


class ErrorOut(Schema):
    code: str
    message: str
    field: str | None = None


ERRORS = {400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut, 429: ErrorOut}
# An action that is the other party's to take (403), besides the errors every endpoint shares.
ERRORS_WITH_FORBIDDEN = {**ERRORS, 403: ErrorOut}
# Deep pages of a newest-first list are never read by a person and cost an OFFSET scan.
PAGES_MAX = 1000


class BodyIn(Schema):
    """A JSON request body. A field the endpoint does not know is refused (422 naming it): a
    typo such as `amount_yen` would otherwise be dropped without a word."""

    model_config = ConfigDict(extra="forbid")


class PageQuery(Schema):
    page: int = Field(1, ge=1, le=PAGES_MAX)


class PersonOut(Schema):
    id: int
    display_name: str


class ReliabilityReasonOut(Schema):
    code: str
    severity: str
    text: str
    help_url: str


class ClientReliabilitySummaryOut(Schema):
    """A client's level and its top reason, on a job's answer (the full profile:
    GET /api/v1/clients/{id}/reliability)."""

    level: str
    level_label: str
    top_reason: ReliabilityReasonOut | None
