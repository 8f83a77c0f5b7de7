"""Hiring (契約) over the API: POST /proposals/{id}/hire, on the proposals router jobs owns."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Field, Status

from ishibashi.accounts.auth import request_user
from ishibashi.contracts import services
from ishibashi.contracts.api.base import ERRORS
from ishibashi.contracts.api.schemas import ContractOut
from ishibashi.contracts.models import Contract
from ishibashi.contracts.selectors import contract_get_for_viewer
from ishibashi.core.schemas import BodyIn, WholeNumber
from ishibashi.jobs.api import proposals_router


class HireIn(BodyIn):
    inspection_days: int | None = Field(
        default=None,
        description="検収 period in days; the default and the bounds come from settings.",
    )
    expected_total_jpy: WholeNumber | None = Field(
        default=None,
        description="The total you saw; if the proposal now differs, the hire is refused (409).",
    )
    expected_revision: int | None = Field(
        default=None,
        description="The revision you read; if the worker revised it since, the hire is refused "
        "(409).",
    )
    kill_fee_percent: WholeNumber = Field(
        default=0,
        description="キャンセル料: the share of a started milestone paid to the worker if you "
        "cancel after the work started (0 to the operator's maximum).",
    )


# A bare POST hires on the defaults.
EMPTY_HIRE = HireIn()


@proposals_router.post(
    "/{proposal_id}/hire",
    response={201: ContractOut, **ERRORS},
    # The id it had while jobs owned the hire: the OpenAPI document's names stay stable.
    operation_id="ishibashi_jobs_api_proposal_hire_endpoint",
    summary="Hire (契約): creates the contract",
)
def proposal_hire_endpoint(
    request: HttpRequest, proposal_id: int, payload: HireIn = EMPTY_HIRE
) -> Status[Contract]:
    """Terms version 1 is snapshotted; the other open proposals are declined with a notice."""
    user = request_user(request)
    contract = services.proposal_hire(
        client=user,
        proposal_id=proposal_id,
        inspection_days=payload.inspection_days,
        expected_total_jpy=payload.expected_total_jpy,
        expected_revision=payload.expected_revision,
        kill_fee_percent=payload.kill_fee_percent,
    )
    return Status(201, contract_get_for_viewer(viewer=user, contract_id=contract.pk))
