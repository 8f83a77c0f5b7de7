"""The contracts API's routers, shared error sets, and the reads that authorise each call."""

from __future__ import annotations

from typing import Any

from ninja import Router

from ishibashi.accounts.auth import request_user, user_auth
from ishibashi.accounts.models import User
from ishibashi.contracts import selectors
from ishibashi.contracts.models import (
    ChangeRequest,
    Contract,
    Milestone,
)
from ishibashi.core.errors import ApplicationError
from ishibashi.core.schemas import (
    ERRORS_WITH_FORBIDDEN,
    ErrorOut,
)

contracts_router = Router(tags=["contracts"], auth=user_auth)


milestones_router = Router(tags=["milestones"], auth=user_auth)


deliveries_router = Router(tags=["deliveries"], auth=user_auth)


delivery_files_router = Router(tags=["deliveries"], auth=user_auth)


changes_router = Router(tags=["changes"], auth=user_auth)


ERRORS = ERRORS_WITH_FORBIDDEN


UPLOAD_ERRORS = {**ERRORS, 413: ErrorOut}


class UploadTooLarge(ApplicationError):
    """The request body is larger than any acceptable delivery; refused before it is read."""

    http_status = 413
    default_code = "upload_too_large"


def viewer(context: Any) -> User:
    """The caller, inside a schema resolver (ninja passes the request in the context)."""
    return request_user(context["request"])


def contract_read(user: User, contract_id: int) -> Contract:
    return selectors.contract_get_for_viewer(viewer=user, contract_id=contract_id)


def milestone_read(user: User, milestone_id: int) -> Milestone:
    return selectors.milestone_get_for_viewer(viewer=user, milestone_id=milestone_id)


def change_read(user: User, change: ChangeRequest) -> ChangeRequest:
    contract = contract_read(user, change.contract_id)
    return selectors.changes_for_contract(contract=contract).get(pk=change.pk)
