"""POST /api/v1/messages/check: what the guards find in a text, so clients warn before sending."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from ishibashi.accounts.auth import user_auth
from ishibashi.core import limits
from ishibashi.core.schemas import ERRORS
from ishibashi.core.text import clean_text
from ishibashi.guards.categories import category_label, reader_caution, reason_text, writer_warning
from ishibashi.guards.detector import detect
from ishibashi.guards.schemas import GuardCheckIn, GuardCheckOut

messages_router = Router(tags=["messages"], auth=user_auth)

# The longest text the guards are run on when stored (a cover letter or a contract message).
CHECK_LENGTH_MAX = max(
    limits.COVER_LETTER_LENGTH_MAX,
    limits.CONTRACT_MESSAGE_LENGTH_MAX,
    limits.MESSAGE_LENGTH_MAX,
)


@messages_router.post(
    "/check",
    response={200: GuardCheckOut, **ERRORS},
    summary="Check a message before sending: what the guards would show (never refuses)",
)
def message_check_endpoint(request: HttpRequest, payload: GuardCheckIn) -> dict[str, Any]:
    """The same check a message, a proposal's cover letter or a contract message gets when it
    is stored; texts and labels in the request's language (Accept-Language)."""
    text = clean_text(
        payload.text, field="text", multiline=True, length_max=CHECK_LENGTH_MAX, required=False
    )
    result = detect(text)
    return {
        "categories": result.categories,
        "version": result.version,
        "hits": [
            {
                "category": hit.category,
                "category_label": category_label(hit.category),
                "reason": hit.reason,
                "reason_text": reason_text(hit.reason),
                "excerpt": hit.excerpt,
                "start": hit.start,
                "end": hit.end,
            }
            for hit in result.hits
        ],
        "warnings": [
            {
                "category": category,
                "label": category_label(category),
                "warning": writer_warning(category, is_client=payload.as_client),
                "caution": reader_caution(category),
            }
            for category in result.categories
        ],
    }
