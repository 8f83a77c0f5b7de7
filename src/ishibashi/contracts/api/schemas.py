"""What the contracts API answers and accepts: contracts, milestones, deliveries, changes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.urls import reverse
from ninja import Field, Schema

from ishibashi.contracts import selectors
from ishibashi.contracts.api.base import viewer
from ishibashi.contracts.models import (
    ChangeRequest,
    Contract,
    ContractFlag,
    ContractMessage,
    ContractTerms,
    Delivery,
    DeliveryFile,
    Milestone,
)
from ishibashi.contracts.selectors import RunningClock
from ishibashi.core import clock
from ishibashi.core.schemas import BodyIn, PersonOut, WholeNumber
from ishibashi.guards.schemas import GuardsOut, guards_of


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
            viewer=viewer(context), contract=milestone.contract, milestone=milestone
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
        versions = selectors.terms_all(contract=contract)
        return selectors.terms_current_of(versions, contract=contract)

    @staticmethod
    def resolve_terms_versions(contract: Contract) -> list[ContractTerms]:
        return selectors.terms_all(contract=contract)

    @staticmethod
    def resolve_milestones(contract: Contract) -> list[Milestone]:
        return list(contract.milestones.all())

    @staticmethod
    def resolve_actions(contract: Contract, context: Any) -> list[str]:
        return selectors.contract_actions(viewer=viewer(context), contract=contract)


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
        viewer=viewer(context), contract=milestone.contract, milestone=milestone, file=file
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


class MilestoneEditIn(BodyIn):
    id: int
    title: str | None = None
    amount_jpy: WholeNumber | None = None
    due_on: date | None = None


class MilestoneAddIn(BodyIn):
    title: str
    kind: str
    amount_jpy: WholeNumber
    due_on: date


class ChangeProposeIn(BodyIn):
    message: str
    scope: str | None = Field(None, description="The new work content, replacing the agreed one.")
    milestones: list[MilestoneEditIn] = Field(default_factory=list)
    add: list[MilestoneAddIn] = Field(default_factory=list)
    remove: list[int] = Field(default_factory=list)
    kill_fee_percent: WholeNumber | None = None


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


class ReasonIn(BodyIn):
    reason: str


class NoteIn(BodyIn):
    note: str


class OptionalNoteIn(BodyIn):
    note: str = ""


EMPTY_NOTE = OptionalNoteIn()


class DisputeResolveIn(BodyIn):
    worker_amount_jpy: WholeNumber = Field(description="The worker's share; the rest goes back.")
    note: str


class FlagIn(BodyIn):
    kind: str = Field(description="asked_before_escrow")
    note: str = ""
    message_id: int | None = Field(
        None, description="The client's message in the thread the report is about, if any."
    )


class FlagOut(Schema):
    id: int
    contract_id: int
    kind: str
    kind_label: str
    note: str
    message_id: int | None
    created_at: datetime

    @staticmethod
    def resolve_kind_label(flag: ContractFlag) -> str:
        return str(flag.get_kind_display())


class ContractMessageIn(BodyIn):
    body: str


class ContractMessageOut(Schema):
    id: int
    author: PersonOut
    body: str
    guards: GuardsOut
    created_at: datetime

    @staticmethod
    def resolve_guards(message: ContractMessage) -> dict[str, Any]:
        return guards_of(message.guard_categories, message.guard_version)


class ContractMessageThreadOut(Schema):
    items: list[ContractMessageOut]
    next_after: int | None


class MessageQuery(Schema):
    after: int = Field(0, ge=0, description="Only messages with a larger id (for polling).")
