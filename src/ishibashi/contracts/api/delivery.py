"""Delivery (納品): multipart uploads within the limits, the deliveries list, locked downloads."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext_lazy as _
from ninja import Query, Status

from ishibashi.accounts.auth import request_user
from ishibashi.contracts import selectors, services
from ishibashi.contracts.api.base import (
    ERRORS,
    UPLOAD_ERRORS,
    UploadTooLarge,
    delivery_files_router,
    milestone_read,
    milestones_router,
)
from ishibashi.contracts.api.schemas import DeliveryOut, DeliveryPageOut
from ishibashi.contracts.models import (
    Delivery,
    FileVisibility,
    Milestone,
)
from ishibashi.core.errors import InvalidInput, NotFound
from ishibashi.core.pagination import page_of
from ishibashi.core.schemas import PageQuery

logger = logging.getLogger(__name__)


# The multipart body the delivery endpoint reads itself (see _delivery_form).
DELIVERY_FILE_FIELDS = {"preview_files": FileVisibility.PREVIEW, "full_files": FileVisibility.FULL}


_BINARY_LIST = {"type": "array", "items": {"type": "string", "format": "binary"}}


DELIVERY_REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["message"],
                    "properties": {
                        "message": {"type": "string"},
                        "preview_files": {
                            **_BINARY_LIST,
                            "description": "Shown to the client at once.",
                        },
                        "full_files": {
                            **_BINARY_LIST,
                            "description": "Downloadable by the client once approved.",
                        },
                    },
                }
            }
        },
    }
}


FILE_RESPONSE = {
    "responses": {
        200: {
            "description": "The file, as an attachment under its original name.",
            "content": {"application/octet-stream": {"schema": {"type": "string"}}},
        }
    }
}


def _upload_body_max() -> int:
    # Every file at its limit, plus the message and the multipart framing.
    return (
        settings.DELIVERY_FILES_MAX * settings.DELIVERY_FILE_SIZE_MAX_BYTES
        + settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    )


def _delivery_form(request: HttpRequest) -> tuple[str, list[services.DeliveryUpload]]:
    """The message and the files of a multipart delivery, refusing what Django cannot parse.

    Read here rather than through ninja's File parameters: a body too large or malformed must
    be a JSON refusal, and a body far beyond any acceptable delivery is refused (413) before a
    byte of it is written to disk.
    """
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    too_large = _("The upload is too large: at most %(count)d files of %(size)d MB each.") % {
        "count": settings.DELIVERY_FILES_MAX,
        "size": settings.DELIVERY_FILE_SIZE_MAX_BYTES // (1024 * 1024),
    }
    if length > _upload_body_max():
        raise UploadTooLarge(too_large, field="files")
    try:
        form, files = request.POST, request.FILES
    except RequestDataTooBig as error:
        raise UploadTooLarge(too_large, field="message") from error
    except TooManyFilesSent as error:
        raise InvalidInput(
            _("A delivery can carry at most %(count)d files.")
            % {"count": settings.DELIVERY_FILES_MAX},
            field="files",
        ) from error
    except (TooManyFieldsSent, MultiPartParserError) as error:
        raise InvalidInput(
            _("The upload could not be read. Send it as multipart/form-data."), field="files"
        ) from error
    unknown = sorted(set(files) - set(DELIVERY_FILE_FIELDS))
    if unknown:
        raise InvalidInput(_("Send files as preview_files or full_files."), field=unknown[0][:100])
    uploads = [
        services.DeliveryUpload(file=upload, visibility=visibility)
        for name, visibility in DELIVERY_FILE_FIELDS.items()
        for upload in files.getlist(name)
    ]
    return form.get("message", ""), uploads


def deliveries_of(milestone: Milestone) -> QuerySet[Delivery]:
    # The milestone and contract come along so each file's lock is decided without a query.
    return selectors.deliveries_for_milestone(milestone=milestone).select_related(
        "milestone__contract"
    )


@milestones_router.get(
    "/{milestone_id}/deliveries",
    response={200: DeliveryPageOut, **ERRORS},
    summary="The milestone's deliveries (納品), newest version first",
)
def milestone_deliveries_endpoint(
    request: HttpRequest, milestone_id: int, query: Query[PageQuery]
) -> dict[str, object]:
    """A full file has a `download_url` for the client only once the milestone is approved."""
    milestone = milestone_read(request_user(request), milestone_id)
    deliveries, has_next = page_of(deliveries_of(milestone), query.page)
    return {"items": deliveries, "page": query.page, "has_next": has_next}


@milestones_router.post(
    "/{milestone_id}/deliveries",
    response={201: DeliveryOut, **UPLOAD_ERRORS},
    summary="Deliver (納品) a message with preview and full files (worker)",
    openapi_extra=DELIVERY_REQUEST_BODY,
)
def delivery_create_endpoint(request: HttpRequest, milestone_id: int) -> Status[Delivery]:
    """multipart/form-data: `message`, `preview_files` (0..n), `full_files` (0..n).

    Research, stand-by, completion-check and monthly milestones may be delivered with a report
    alone. Starts the client's inspection (検収) clock.
    """
    user = request_user(request)
    message, uploads = _delivery_form(request)
    delivery = services.delivery_create(
        worker=user, milestone_id=milestone_id, message=message, uploads=uploads
    )
    milestone = milestone_read(user, milestone_id)
    return Status(201, deliveries_of(milestone).get(pk=delivery.pk))


@delivery_files_router.get(
    "/{file_id}/download",
    response=ERRORS,
    summary="Download a delivered file",
    url_name="delivery_file_download",
    openapi_extra=FILE_RESPONSE,
)
def delivery_file_download_endpoint(request: HttpRequest, file_id: int) -> FileResponse:
    """A full file is locked for the client until approval: 403 `deliverable_locked`."""
    file = selectors.delivery_file_for_download(viewer=request_user(request), file_id=file_id)
    try:
        stored = file.file.open("rb")
    except FileNotFoundError as error:
        logger.error("delivery file %s is missing from storage", file.pk)
        raise NotFound(_("No such file.")) from error
    # Always bytes to save, whatever the name or the uploader claimed: never shown inline.
    response = FileResponse(
        stored, as_attachment=True, filename=file.name, content_type="application/octet-stream"
    )
    response["Cache-Control"] = "private, no-store"
    return response
