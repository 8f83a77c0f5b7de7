"""Contracts API: contracts and their terms, the milestone lifecycle, deliveries, changes, threads.

Every writing endpoint calls one service and answers with the object after the action, read again
through the selector the caller sees it by; the services hold every rule, and their refusals
reach the client as `{code, message, field}` (config.api).
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest
from django.http.multipartparser import MultiPartParserError
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema, Status

from ishibashi.accounts import api as accounts_api
from ishibashi.accounts.api import ErrorOut
from ishibashi.accounts.auth import request_user, user_auth
from ishibashi.accounts.models import User
from ishibashi.contracts import selectors, services
from ishibashi.contracts.models import (
    ChangeRequest,
    Contract,
    ContractFlag,
    ContractMessage,
    ContractTerms,
    Delivery,
    DeliveryFile,
    FileVisibility,
    Milestone,
)
from ishibashi.contracts.selectors import RunningClock
from ishibashi.contracts.services import events_verify
from ishibashi.core import clock, limits
from ishibashi.core.errors import ApplicationError, InvalidInput, NotFound
from ishibashi.core.pagination import page_of

logger = logging.getLogger(__name__)

contracts_router = Router(tags=["contracts"], auth=user_auth)
milestones_router = Router(tags=["milestones"], auth=user_auth)
deliveries_router = Router(tags=["deliveries"], auth=user_auth)
delivery_files_router = Router(tags=["deliveries"], auth=user_auth)
changes_router = Router(tags=["changes"], auth=user_auth)

# Besides the errors every endpoint shares: an action that is someone else's to take (403).
ERRORS = {**accounts_api.ERRORS, 403: ErrorOut}
UPLOAD_ERRORS = {**ERRORS, 413: ErrorOut}
# Deep pages of a newest-first list are never read by a person and cost an OFFSET scan.
PAGES_MAX = 1000


class UploadTooLarge(ApplicationError):
    """The request body is larger than any acceptable delivery; refused before it is read."""

    http_status = 413
    default_code = "upload_too_large"


class PageQuery(Schema):
    page: int = Field(1, ge=1, le=PAGES_MAX)


class PersonOut(Schema):
    id: int
    display_name: str


def _viewer(context: Any) -> User:
    """The caller, inside a schema resolver (ninja passes the request in the context)."""
    return request_user(context["request"])


# --- contracts and milestones -----------------------------------------------------------------


class ContractSummaryOut(Schema):
    id: int
    title: str
    job_id: int
    proposal_id: int
    client: PersonOut
    worker: PersonOut
    contract_type: str
    is_consultation: bool
    state: str
    state_label: str
    created_at: datetime

    @staticmethod
    def resolve_state_label(contract: Contract) -> str:
        return str(contract.get_state_display())


class ContractPageOut(Schema):
    items: list[ContractSummaryOut]
    page: int
    has_next: bool


class ClockOut(Schema):
    kind: str = Field(
        description="funding, inspection, client_reply, cancellation_answer or legal_release."
    )
    label: str
    deadline: datetime
    days_left: int = Field(description="Whole days left; negative once the deadline passed.")
    hours_left: int
    waiting_on: str = Field(description="Who owes the answer: client or worker.")


class MilestoneOut(Schema):
    id: int
    contract_id: int
    position: int
    title: str
    kind: str
    kind_label: str
    amount_jpy: int
    due_on: date
    state: str
    state_label: str
    funding_requested_at: datetime | None
    funded_at: datetime | None
    started_at: datetime | None
    first_delivered_at: datetime | None = Field(
        description="受領日: fixes the legal payment deadline for good."
    )
    delivered_at: datetime | None
    approved_at: datetime | None
    legal_release_due_at: datetime | None = Field(
        description="Freelance Act art. 4: the escrow is released by then whatever happens."
    )
    revisions_used: int
    revisions_left: int
    cancellation_requested_at: datetime | None = Field(
        description="The client cancelled this started work; the worker's answer is awaited."
    )
    dispute_frozen: bool
    clock: ClockOut | None = Field(description="The wait that is running, with its deadline.")
    actions: list[str] = Field(description="What you may do on this milestone now.")

    @staticmethod
    def resolve_kind_label(milestone: Milestone) -> str:
        return str(milestone.get_kind_display())

    @staticmethod
    def resolve_state_label(milestone: Milestone) -> str:
        return str(milestone.get_state_display())

    @staticmethod
    def resolve_revisions_left(milestone: Milestone) -> int:
        return max(0, milestone.contract.revision_rounds - milestone.revisions_used)

    @staticmethod
    def resolve_clock(milestone: Milestone) -> RunningClock | None:
        return selectors.milestone_clock(milestone=milestone, now=clock.now())

    @staticmethod
    def resolve_actions(milestone: Milestone, context: Any) -> list[str]:
        return selectors.milestone_actions(
            viewer=_viewer(context), contract=milestone.contract, milestone=milestone
        )


class TermsOut(Schema):
    version: int
    snapshot: dict[str, Any] = Field(
        description="Every item the Freelance Act art. 3 requires to be stated, as agreed."
    )
    snapshot_sha256: str
    agreed_at: datetime


class TermsVersionOut(Schema):
    version: int
    agreed_at: datetime
    snapshot_sha256: str


class ContractOut(ContractSummaryOut):
    terms_version: int
    terms: TermsOut
    terms_versions: list[TermsVersionOut] = Field(
        description="Every agreed version, newest first; each change both parties accepted."
    )
    fee_rate_bps: int = Field(description="The platform fee in basis points (1000 = 10 %).")
    withholding_applies: bool = Field(description="源泉徴収: the client withholds income tax.")
    inspection_days: int
    revision_rounds: int
    kill_fee_percent: int = Field(
        description="キャンセル料: the share of a started milestone paid if the client cancels."
    )
    cancelled_at: datetime | None
    termination_requested_at: datetime | None
    termination_effective_at: datetime | None = Field(
        description="Monthly contracts: when the client's notice takes effect."
    )
    ended_at: datetime | None
    milestones: list[MilestoneOut]
    actions: list[str] = Field(description="What you may do on the contract now.")

    @staticmethod
    def resolve_terms(contract: Contract) -> ContractTerms:
        return selectors.terms_current(contract=contract)

    @staticmethod
    def resolve_terms_versions(contract: Contract) -> list[ContractTerms]:
        return list(selectors.terms_versions(contract=contract))

    @staticmethod
    def resolve_milestones(contract: Contract) -> list[Milestone]:
        return list(contract.milestones.all())

    @staticmethod
    def resolve_actions(contract: Contract, context: Any) -> list[str]:
        return selectors.contract_actions(viewer=_viewer(context), contract=contract)


class EventOut(Schema):
    sequence: int
    action: str
    from_state: str
    to_state: str
    milestone_id: int | None
    actor: PersonOut | None
    payload: dict[str, Any]
    created_at: datetime
    hash: str
    previous_hash: str


class EventLogOut(Schema):
    chain_intact: bool = Field(
        description="The server recomputed every hash and link of the chain and all hold."
    )
    items: list[EventOut]


# --- deliveries -------------------------------------------------------------------------------


class DeliveryFileOut(Schema):
    id: int
    name: str
    size_bytes: int
    content_type: str
    sha256: str
    visibility: str
    visibility_label: str
    download_url: str | None = Field(description="null while the file is locked for you.")
    locked: bool = Field(
        description="Deliverable lock: the full files open to the client once approved."
    )

    @staticmethod
    def resolve_visibility_label(file: DeliveryFile) -> str:
        return str(file.get_visibility_display())

    @staticmethod
    def resolve_locked(file: DeliveryFile, context: Any) -> bool:
        return not _downloadable(file, context)

    @staticmethod
    def resolve_download_url(file: DeliveryFile, context: Any) -> str | None:
        if not _downloadable(file, context):
            return None
        path = reverse("api:delivery_file_download", args=[file.pk])
        return str(context["request"].build_absolute_uri(path))


def _downloadable(file: DeliveryFile, context: Any) -> bool:
    milestone = file.delivery.milestone
    return selectors.file_is_downloadable(
        viewer=_viewer(context), contract=milestone.contract, milestone=milestone, file=file
    )


class DeliveryOut(Schema):
    id: int
    milestone_id: int
    version: int
    message: str
    is_report: bool = Field(description="Delivered as done with a report and no file.")
    is_partial: bool = Field(description="Work so far, delivered after the client fell silent.")
    created_at: datetime
    files: list[DeliveryFileOut]

    @staticmethod
    def resolve_files(delivery: Delivery) -> list[DeliveryFile]:
        return list(delivery.files.all())


class DeliveryPageOut(Schema):
    items: list[DeliveryOut]
    page: int
    has_next: bool


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


def _deliveries_of(milestone: Milestone) -> QuerySet[Delivery]:
    # The milestone and contract come along so each file's lock is decided without a query.
    return selectors.deliveries_for_milestone(milestone=milestone).select_related(
        "milestone__contract"
    )


# --- changes, flags, messages -----------------------------------------------------------------


class MilestoneEditIn(Schema):
    id: int
    title: str | None = None
    amount_jpy: int | None = None
    due_on: date | None = None


class MilestoneAddIn(Schema):
    title: str
    kind: str
    amount_jpy: int
    due_on: date


class ChangeProposeIn(Schema):
    message: str
    scope: str | None = Field(None, description="The new work content, replacing the agreed one.")
    milestones: list[MilestoneEditIn] = Field(default_factory=list)
    add: list[MilestoneAddIn] = Field(default_factory=list)
    remove: list[int] = Field(default_factory=list)
    kill_fee_percent: int | None = None


class MilestoneEditOut(Schema):
    id: int
    title: str | None
    amount_jpy: int | None
    due_on: date | None


class MilestoneAddOut(Schema):
    title: str
    kind: str
    amount_jpy: int
    due_on: date


class ChangeContentOut(Schema):
    scope: str | None
    milestones: list[MilestoneEditOut]
    add: list[MilestoneAddOut]
    remove: list[int]
    kill_fee_percent: int | None


class ChangeOut(Schema):
    id: int
    contract_id: int
    proposed_by: PersonOut
    message: str
    changes: ChangeContentOut
    price_delta_jpy: int = Field(description="What the change does to the contract's total.")
    shortens_due_date: bool = Field(description="The change brings a due date forward.")
    based_on_terms_version: int
    state: str
    state_label: str
    created_at: datetime
    expires_at: datetime
    answered_at: datetime | None
    answer_note: str
    resulting_terms_version: int | None

    @staticmethod
    def resolve_state_label(change: ChangeRequest) -> str:
        return str(change.get_state_display())


class ChangePageOut(Schema):
    items: list[ChangeOut]
    page: int
    has_next: bool


class ReasonIn(Schema):
    reason: str


class NoteIn(Schema):
    note: str


class OptionalNoteIn(Schema):
    note: str = ""


EMPTY_NOTE = OptionalNoteIn()


class DisputeResolveIn(Schema):
    worker_amount_jpy: int = Field(description="The worker's share; the rest goes back.")
    note: str


class FlagIn(Schema):
    kind: str = Field(description="asked_before_escrow")
    note: str = ""


class FlagOut(Schema):
    id: int
    contract_id: int
    kind: str
    kind_label: str
    note: str
    created_at: datetime

    @staticmethod
    def resolve_kind_label(flag: ContractFlag) -> str:
        return str(flag.get_kind_display())


class ContractMessageIn(Schema):
    body: str


class ContractMessageOut(Schema):
    id: int
    author: PersonOut
    body: str
    created_at: datetime


class ContractMessageThreadOut(Schema):
    items: list[ContractMessageOut]
    next_after: int | None


class MessageQuery(Schema):
    after: int = Field(0, ge=0, description="Only messages with a larger id (for polling).")


# --- reads shared by the endpoints ------------------------------------------------------------


def contract_read(user: User, contract_id: int) -> Contract:
    return selectors.contract_get_for_viewer(viewer=user, contract_id=contract_id)


def milestone_read(user: User, milestone_id: int) -> Milestone:
    return selectors.milestone_get_for_viewer(viewer=user, milestone_id=milestone_id)


def change_read(user: User, change: ChangeRequest) -> ChangeRequest:
    contract = contract_read(user, change.contract_id)
    return selectors.changes_for_contract(contract=contract).get(pk=change.pk)


# --- contracts --------------------------------------------------------------------------------


@contracts_router.get(
    "", response={200: ContractPageOut, **ERRORS}, summary="Your contracts (client or worker)"
)
def contract_list_endpoint(request: HttpRequest, query: Query[PageQuery]) -> dict[str, object]:
    contracts, has_next = page_of(
        selectors.contract_list_for_user(user=request_user(request)), query.page
    )
    return {"items": contracts, "page": query.page, "has_next": has_next}


@contracts_router.get(
    "/{contract_id}", response={200: ContractOut, **ERRORS}, summary="One contract and its terms"
)
def contract_endpoint(request: HttpRequest, contract_id: int) -> Contract:
    """Only the two parties (and operators) see a contract; anyone else gets 404."""
    return contract_read(request_user(request), contract_id)


@contracts_router.get(
    "/{contract_id}/events",
    response={200: EventLogOut, **ERRORS},
    summary="The contract's hash-chained history",
)
def contract_events_endpoint(request: HttpRequest, contract_id: int) -> dict[str, object]:
    contract = contract_read(request_user(request), contract_id)
    return {
        "chain_intact": events_verify(contract=contract) is None,
        "items": list(selectors.contract_events(contract=contract)),
    }


@contracts_router.post(
    "/{contract_id}/cancel",
    response={200: ContractOut, **ERRORS},
    summary="Cancel the contract (キャンセル), with a reason",
)
def contract_cancel_endpoint(request: HttpRequest, contract_id: int, payload: ReasonIn) -> Contract:
    """Unfunded milestones close, funded unstarted ones are refunded, approved ones stay paid.

    Started work waits for the worker's answer when the client cancels (kill fee); a client's
    notice on a monthly contract takes effect after 30 days.
    """
    user = request_user(request)
    services.contract_cancel(actor=user, contract_id=contract_id, reason=payload.reason)
    return contract_read(user, contract_id)


@contracts_router.post(
    "/{contract_id}/accept-early-termination",
    response={200: ContractOut, **ERRORS},
    summary="End a monthly contract now instead of after the notice (worker)",
)
def contract_termination_accept_early_endpoint(request: HttpRequest, contract_id: int) -> Contract:
    user = request_user(request)
    services.contract_termination_accept_early(worker=user, contract_id=contract_id)
    return contract_read(user, contract_id)


@contracts_router.post(
    "/{contract_id}/flags",
    response={201: FlagOut, **ERRORS},
    summary="Report that the client asked for work before escrow (worker)",
)
def contract_flag_endpoint(
    request: HttpRequest, contract_id: int, payload: FlagIn
) -> Status[ContractFlag]:
    """Counted once per contract on the client's reliability profile."""
    flag = services.contract_flag(
        worker=request_user(request), contract_id=contract_id, kind=payload.kind, note=payload.note
    )
    return Status(201, flag)


@contracts_router.get(
    "/{contract_id}/messages",
    response={200: ContractMessageThreadOut, **ERRORS},
    summary="The contract's thread, oldest first",
)
def contract_messages_endpoint(
    request: HttpRequest, contract_id: int, query: Query[MessageQuery]
) -> dict[str, object]:
    contract = contract_read(request_user(request), contract_id)
    messages = list(
        selectors.messages_for_contract(contract=contract).filter(pk__gt=query.after)[
            : limits.PAGE_SIZE_MAX
        ]
    )
    full = len(messages) == limits.PAGE_SIZE_MAX
    return {"items": messages, "next_after": messages[-1].pk if full else None}


@contracts_router.post(
    "/{contract_id}/messages",
    response={201: ContractMessageOut, **ERRORS},
    summary="Write in the contract's thread",
)
def contract_message_post_endpoint(
    request: HttpRequest, contract_id: int, payload: ContractMessageIn
) -> Status[ContractMessage]:
    """A worker's message during the work starts the client's reply clock."""
    message = services.contract_message_post(
        author=request_user(request), contract_id=contract_id, body=payload.body
    )
    return Status(201, message)


@contracts_router.get(
    "/{contract_id}/changes",
    response={200: ChangePageOut, **ERRORS},
    summary="Change requests (変更依頼), newest first",
)
def contract_changes_endpoint(
    request: HttpRequest, contract_id: int, query: Query[PageQuery]
) -> dict[str, object]:
    contract = contract_read(request_user(request), contract_id)
    changes, has_next = page_of(selectors.changes_for_contract(contract=contract), query.page)
    return {"items": changes, "page": query.page, "has_next": has_next}


@contracts_router.post(
    "/{contract_id}/changes",
    response={201: ChangeOut, **ERRORS},
    summary="Propose a change (変更依頼); it applies once the other party accepts",
)
def change_propose_endpoint(
    request: HttpRequest, contract_id: int, payload: ChangeProposeIn
) -> Status[ChangeRequest]:
    """Scope, milestone titles, prices and dates, added or removed milestones, the kill fee.

    Added money comes as a new milestone, funded before its work starts.
    """
    user = request_user(request)
    change = services.change_propose(
        actor=user,
        contract_id=contract_id,
        message=payload.message,
        scope=payload.scope,
        edits=[services.MilestoneEdit(**edit.dict()) for edit in payload.milestones],
        additions=[services.MilestoneAddition(**addition.dict()) for addition in payload.add],
        removals=payload.remove,
        kill_fee_percent=payload.kill_fee_percent,
    )
    return Status(201, change_read(user, change))


# --- changes ----------------------------------------------------------------------------------


@changes_router.post(
    "/{change_id}/accept",
    response={200: ChangeOut, **ERRORS},
    summary="Accept a change (the other party): it becomes the next terms version",
)
def change_accept_endpoint(request: HttpRequest, change_id: int) -> ChangeRequest:
    user = request_user(request)
    return change_read(user, services.change_accept(actor=user, change_id=change_id))


@changes_router.post(
    "/{change_id}/decline", response={200: ChangeOut, **ERRORS}, summary="Decline a change"
)
def change_decline_endpoint(
    request: HttpRequest, change_id: int, payload: OptionalNoteIn = EMPTY_NOTE
) -> ChangeRequest:
    user = request_user(request)
    change = services.change_decline(actor=user, change_id=change_id, note=payload.note)
    return change_read(user, change)


@changes_router.post(
    "/{change_id}/withdraw",
    response={200: ChangeOut, **ERRORS},
    summary="Withdraw your own change before it is answered",
)
def change_withdraw_endpoint(request: HttpRequest, change_id: int) -> ChangeRequest:
    user = request_user(request)
    return change_read(user, services.change_withdraw(actor=user, change_id=change_id))


# --- milestones -------------------------------------------------------------------------------


@milestones_router.get(
    "/{milestone_id}", response={200: MilestoneOut, **ERRORS}, summary="One milestone"
)
def milestone_endpoint(request: HttpRequest, milestone_id: int) -> Milestone:
    return milestone_read(request_user(request), milestone_id)


@milestones_router.post(
    "/{milestone_id}/request-funding",
    response={200: MilestoneOut, **ERRORS},
    summary="Ask the client to fund a milestone not yet requested",
)
def milestone_request_funding_endpoint(request: HttpRequest, milestone_id: int) -> Milestone:
    user = request_user(request)
    services.milestone_request_funding(actor=user, milestone_id=milestone_id)
    return milestone_read(user, milestone_id)


@milestones_router.post(
    "/{milestone_id}/fund",
    response={200: MilestoneOut, **ERRORS},
    summary="Fund the escrow (仮払い) from your balance (client)",
)
def milestone_fund_endpoint(request: HttpRequest, milestone_id: int) -> Milestone:
    """The amount moves from your balance into this milestone's escrow, once.

    Not enough balance: 409 `exceeds_balance` and nothing moves. Funding again: 409.
    """
    user = request_user(request)
    services.milestone_fund(client=user, milestone_id=milestone_id)
    return milestone_read(user, milestone_id)


@milestones_router.post(
    "/{milestone_id}/start",
    response={200: MilestoneOut, **ERRORS},
    summary="Mark the work started (worker); refused before escrow",
)
def milestone_start_endpoint(request: HttpRequest, milestone_id: int) -> Milestone:
    """Before the escrow is funded: 409 `milestone_not_funded` — do not start the work."""
    user = request_user(request)
    services.milestone_start(worker=user, milestone_id=milestone_id)
    return milestone_read(user, milestone_id)


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
    deliveries, has_next = page_of(_deliveries_of(milestone), query.page)
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
    return Status(201, _deliveries_of(milestone).get(pk=delivery.pk))


@milestones_router.post(
    "/{milestone_id}/dispute",
    response={200: MilestoneOut, **ERRORS},
    summary="Open a dispute (トラブル) on funded work, with a reason",
)
def milestone_dispute_endpoint(
    request: HttpRequest, milestone_id: int, payload: ReasonIn
) -> Milestone:
    user = request_user(request)
    services.milestone_dispute(actor=user, milestone_id=milestone_id, reason=payload.reason)
    return milestone_read(user, milestone_id)


@milestones_router.post(
    "/{milestone_id}/dispute/freeze",
    response={200: MilestoneOut, **ERRORS},
    summary="Stop the legal-deadline release while deciding (operator)",
)
def milestone_dispute_freeze_endpoint(
    request: HttpRequest, milestone_id: int, payload: NoteIn
) -> Milestone:
    user = request_user(request)
    services.milestone_dispute_freeze(operator=user, milestone_id=milestone_id, note=payload.note)
    return milestone_read(user, milestone_id)


@milestones_router.post(
    "/{milestone_id}/dispute/resolve",
    response={200: MilestoneOut, **ERRORS},
    summary="Rule on a dispute: split the escrow (operator)",
)
def milestone_dispute_resolve_endpoint(
    request: HttpRequest, milestone_id: int, payload: DisputeResolveIn
) -> Milestone:
    user = request_user(request)
    services.milestone_dispute_resolve(
        operator=user,
        milestone_id=milestone_id,
        worker_amount_jpy=payload.worker_amount_jpy,
        note=payload.note,
    )
    return milestone_read(user, milestone_id)


@milestones_router.post(
    "/{milestone_id}/accept-cancellation",
    response={200: MilestoneOut, **ERRORS},
    summary="Accept the client's cancellation of started work: kill fee paid (worker)",
)
def milestone_cancellation_accept_endpoint(request: HttpRequest, milestone_id: int) -> Milestone:
    user = request_user(request)
    services.milestone_cancellation_accept(worker=user, milestone_id=milestone_id)
    return milestone_read(user, milestone_id)


# --- deliveries -------------------------------------------------------------------------------


@deliveries_router.post(
    "/{delivery_id}/approve",
    response={200: MilestoneOut, **ERRORS},
    summary="Approve the delivery (検収): the escrow is released (client)",
)
def delivery_approve_endpoint(request: HttpRequest, delivery_id: int) -> Milestone:
    user = request_user(request)
    milestone = services.delivery_approve(client=user, delivery_id=delivery_id)
    return milestone_read(user, milestone.pk)


@deliveries_router.post(
    "/{delivery_id}/request-revision",
    response={200: MilestoneOut, **ERRORS},
    summary="Request a revision (修正依頼) with a reason (client)",
)
def delivery_request_revision_endpoint(
    request: HttpRequest, delivery_id: int, payload: ReasonIn
) -> Milestone:
    """Within the contract's revision rounds; beyond them 409 `revision_limit_reached`."""
    user = request_user(request)
    milestone = services.delivery_request_revision(
        client=user, delivery_id=delivery_id, reason=payload.reason
    )
    return milestone_read(user, milestone.pk)


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
    # The type follows the (allowed) extension, never what the uploader claimed.
    response = FileResponse(stored, as_attachment=True, filename=file.name)
    response["Cache-Control"] = "private, no-store"
    return response
