"""Jobs and proposals API: post and browse jobs, propose, talk and revise (the hire: contracts)."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema, Status

from ishibashi.accounts.auth import request_user, user_auth
from ishibashi.accounts.models import User
from ishibashi.core import limits
from ishibashi.core.client_address import client_ip
from ishibashi.core.errors import InvalidInput
from ishibashi.core.pagination import page_of
from ishibashi.core.schemas import ERRORS_WITH_FORBIDDEN as ERRORS
from ishibashi.core.schemas import (
    BodyIn,
    ClientReliabilitySummaryOut,
    ErrorOut,
    PageQuery,
    PersonOut,
    WholeNumber,
)
from ishibashi.core.slots import slot_data_many
from ishibashi.core.text import snippet
from ishibashi.guards.schemas import GuardsOut, guards_of
from ishibashi.jobs import selectors, services
from ishibashi.jobs.models import Job, Proposal, ProposalMessage, ProposedMilestone
from ishibashi.jobs.selectors import JobFilters, JobSort

jobs_router = Router(tags=["jobs"], auth=user_auth)
proposals_router = Router(tags=["proposals"], auth=user_auth)

# A recruiting deadline typed without an offset means Japanese time: that is the calendar the
# client and the workers read it in, whatever the server's clock says.
JAPAN = ZoneInfo("Asia/Tokyo")


def _anonymous_allowed(request: HttpRequest) -> bool | None:
    """Lets a visitor without credentials read a public endpoint; a wrong token is still refused."""
    return None if request.headers.get("Authorization") else True


optional_user_auth = [*user_auth, _anonymous_allowed]


def viewer_of(request: HttpRequest) -> User | None:
    user = getattr(request, "auth", None)
    return user if isinstance(user, User) else None


def in_japan_if_naive(moment: datetime) -> datetime:
    return timezone.make_aware(moment, JAPAN) if timezone.is_naive(moment) else moment


# --- schemas --------------------------------------------------------------------------------


class ClientSummaryOut(Schema):
    """The client's reliability summary on every job card (the reputation issue extends it)."""

    id: int
    display_name: str
    identity_verified: bool
    jobs_posted: int
    hires: int
    jobs_closed_without_hire: int
    jobs_expired_without_hire: int


def client_summary(client: User) -> dict[str, Any]:
    stats = selectors.client_stats(client)
    return {
        "id": client.pk,
        "display_name": client.display_name,
        "identity_verified": client.identity_verified_at is not None,
        "jobs_posted": stats.jobs_posted,
        "hires": stats.hires,
        "jobs_closed_without_hire": stats.jobs_closed_without_hire,
        "jobs_expired_without_hire": stats.jobs_expired_without_hire,
    }


class JobCardOut(Schema):
    id: int
    title: str
    description: str
    category: str
    category_label: str
    contract_type: str
    contract_type_label: str
    budget_min_jpy: int
    budget_max_jpy: int
    recruiting_deadline: datetime
    desired_delivery_on: date
    state: str
    state_label: str
    published_at: datetime | None
    proposal_count: int
    client: ClientSummaryOut
    # The description's first 100 characters, whitespace collapsed, "…" when cut.
    snippet: str
    # Calendar days to the recruiting deadline in Asia/Tokyo (0 on its last day, negative once
    # past) and the card's words for it: 「あと3日」 / "3 days left", 「本日締切」 / "Closes today".
    days_left: int
    deadline_label: str

    @staticmethod
    def resolve_snippet(job: Job) -> str:
        return snippet(job.description)

    @staticmethod
    def resolve_days_left(job: Job) -> int:
        return selectors.days_left(job.recruiting_deadline)

    @staticmethod
    def resolve_deadline_label(job: Job) -> str:
        return selectors.deadline_label(job.recruiting_deadline)

    @staticmethod
    def resolve_category_label(job: Job) -> str:
        return str(job.get_category_display())

    @staticmethod
    def resolve_contract_type_label(job: Job) -> str:
        return str(job.get_contract_type_display())

    @staticmethod
    def resolve_state_label(job: Job) -> str:
        return str(job.get_state_display())

    @staticmethod
    def resolve_client(job: Job) -> dict[str, Any]:
        return client_summary(job.client)

    # Filled by the reputation app above (core.slots); null when nothing fills it. A list
    # attaches every card's summary in one batch first (`_attach_reliability`).
    client_reliability: ClientReliabilitySummaryOut | None = None

    @staticmethod
    def resolve_client_reliability(job: Job, context: Any) -> dict[str, Any] | None:
        if hasattr(job, "client_reliability_summary"):
            return job.client_reliability_summary  # type: ignore[no-any-return]
        request = context["request"]
        return slot_data_many("client_reliability", request, [job.client_id])[job.client_id]


def _attach_reliability(request: HttpRequest, jobs: list[Job]) -> list[Job]:
    """Every card's client summary in one batch, not one read per card."""
    summaries = slot_data_many("client_reliability", request, [job.client_id for job in jobs])
    for job in jobs:
        job.client_reliability_summary = summaries[job.client_id]  # type: ignore[attr-defined]
    return jobs


class JobOut(JobCardOut):
    scope_deliverables: str
    scope_acceptance_criteria: str
    scope_out_of_scope: str
    revision_rounds: int
    created_at: datetime
    updated_at: datetime
    ended_at: datetime | None


class JobPageOut(Schema):
    items: list[JobCardOut]
    page: int
    has_next: bool
    # Matching jobs, at most 1,000; with count_more, at least that many (see docs/api.md).
    count: int
    count_more: bool


class JobQuery(Schema):
    q: str = ""
    category: str = ""
    contract_type: str = ""
    budget_min_jpy: int | None = None
    budget_max_jpy: int | None = None
    page: int = 1
    sort: str = Field(JobSort.NEW, description="new (default), budget or deadline")


class JobIn(BodyIn):
    title: str
    description: str
    category: str
    contract_type: str
    budget_min_jpy: WholeNumber
    budget_max_jpy: WholeNumber
    recruiting_deadline: datetime = Field(
        description="ISO 8601; without an offset it is read as Japan time (Asia/Tokyo)."
    )
    desired_delivery_on: date
    scope_deliverables: str
    scope_acceptance_criteria: str
    scope_out_of_scope: str = ""
    revision_rounds: int = 1
    publish: bool = False


class JobPatchIn(BodyIn):
    title: str | None = None
    description: str | None = None
    category: str | None = None
    contract_type: str | None = None
    budget_min_jpy: WholeNumber | None = None
    budget_max_jpy: WholeNumber | None = None
    recruiting_deadline: datetime | None = None
    desired_delivery_on: date | None = None
    scope_deliverables: str | None = None
    scope_acceptance_criteria: str | None = None
    scope_out_of_scope: str | None = None
    revision_rounds: int | None = None


class MilestoneIn(BodyIn):
    title: str
    kind: str
    amount_jpy: WholeNumber
    due_on: date


class ProposalReviseIn(BodyIn):
    cover_letter: str
    total_jpy: WholeNumber
    milestones: list[MilestoneIn]


class ProposalIn(ProposalReviseIn):
    kind: str = "proposal"


class ProposedMilestoneOut(Schema):
    position: int
    title: str
    kind: str
    kind_label: str
    amount_jpy: int
    due_on: date

    @staticmethod
    def resolve_kind_label(milestone: ProposedMilestone) -> str:
        return str(milestone.get_kind_display())


class ProposalOut(Schema):
    id: int
    job_id: int
    job_title: str
    worker: PersonOut
    kind: str
    kind_label: str
    cover_letter: str
    total_jpy: int
    milestones: list[ProposedMilestoneOut]
    state: str
    state_label: str
    revision: int = Field(description="1 as sent; raised by each revision (第2版, 第3版…).")
    decline_reason: str
    warnings: list[str]
    cover_letter_guards: GuardsOut
    created_at: datetime
    decided_at: datetime | None

    @staticmethod
    def resolve_cover_letter_guards(proposal: Proposal) -> dict[str, Any]:
        return guards_of(
            proposal.cover_letter_guard_categories, proposal.cover_letter_guard_version
        )

    @staticmethod
    def resolve_job_title(proposal: Proposal) -> str:
        return proposal.job.title

    @staticmethod
    def resolve_kind_label(proposal: Proposal) -> str:
        return str(proposal.get_kind_display())

    @staticmethod
    def resolve_state_label(proposal: Proposal) -> str:
        return str(proposal.get_state_display())

    @staticmethod
    def resolve_milestones(proposal: Proposal) -> list[ProposedMilestone]:
        return list(proposal.milestones.all())

    @staticmethod
    def resolve_warnings(proposal: Proposal) -> list[str]:
        return selectors.proposal_warnings(proposal)


class ProposalPageOut(Schema):
    items: list[ProposalOut]
    page: int
    has_next: bool


class DeclineIn(BodyIn):
    reason: str = ""


# Both bodies are optional: a bare POST declines without a reason or hires on the defaults.
EMPTY_DECLINE = DeclineIn()


class MessageIn(BodyIn):
    body: str


class MessageOut(Schema):
    id: int
    author: PersonOut
    body: str
    guards: GuardsOut
    created_at: datetime

    @staticmethod
    def resolve_guards(message: ProposalMessage) -> dict[str, Any]:
        return guards_of(message.guard_categories, message.guard_version)


class MessageThreadOut(Schema):
    reminder: str
    items: list[MessageOut]
    next_after: int | None


class MessageQuery(Schema):
    after: int = Field(0, ge=0, description="Only messages with a larger id (for polling).")


# --- shaping helpers ------------------------------------------------------------------------


def job_input_from(payload: Schema, *, base: Job | None = None) -> services.JobInput:
    """A full JobInput: the fields sent, over the job's current values when patching."""
    sent = payload.dict(exclude_unset=True) if base is not None else payload.dict()
    names = [field.name for field in dataclasses.fields(services.JobInput)]
    values = {name: getattr(base, name) for name in names} if base is not None else {}
    for name in names:
        if name not in sent:
            continue
        if sent[name] is None:
            raise InvalidInput(_("This field cannot be empty."), field=name)
        values[name] = sent[name]
    values["recruiting_deadline"] = in_japan_if_naive(values["recruiting_deadline"])
    return services.JobInput(**values)


def proposal_input_from(payload: ProposalReviseIn, *, kind: str) -> services.ProposalInput:
    return services.ProposalInput(
        cover_letter=payload.cover_letter,
        total_jpy=payload.total_jpy,
        milestones=[services.MilestoneInput(**m.dict()) for m in payload.milestones],
        kind=kind,
    )


def job_read(viewer: User | None, job_id: int) -> Job:
    return selectors.job_get_for_viewer(viewer=viewer, job_id=job_id)


def proposal_read(viewer: User, proposal_id: int) -> Proposal:
    return selectors.proposal_get_for_viewer(viewer=viewer, proposal_id=proposal_id)


# --- jobs -----------------------------------------------------------------------------------


@jobs_router.get(
    "",
    auth=optional_user_auth,
    response={200: JobPageOut, **ERRORS, 503: ErrorOut},
    summary="Search open jobs (public)",
)
def job_list_endpoint(request: HttpRequest, query: Query[JobQuery]) -> dict[str, object]:
    """Open jobs, sorted by `sort` (new, budget, deadline), with their `count`. `q` matches
    substrings of the title and description, width-folded (５００ = 500); it needs a
    term of two characters or more with a letter or digit (422 `search_terms_too_short`). A
    search with `q` is limited per client address without credentials and per user with them
    (429 `search_rate_limited`, Retry-After); a search that cannot finish in time answers 503
    `search_timeout` (Retry-After) or 422 `search_too_broad`: add a word or a filter."""
    found = services.job_search_throttled(
        viewer=viewer_of(request),
        client_address=client_ip(request),
        filters=JobFilters(**query.dict()),
    )
    jobs = _attach_reliability(request, list(found.jobs))
    return {
        "items": jobs,
        "page": found.page,
        "has_next": found.has_next,
        "count": found.count,
        "count_more": found.count_more,
    }


@jobs_router.post("", response={201: JobOut, **ERRORS}, summary="Post a job (draft or published)")
def job_create_endpoint(request: HttpRequest, payload: JobIn) -> Status[Job]:
    user = request_user(request)
    job = services.job_create(client=user, data=job_input_from(payload), publish=payload.publish)
    return Status(201, job_read(user, job.pk))


@jobs_router.get(
    "/{job_id}",
    auth=optional_user_auth,
    response={200: JobOut, **ERRORS},
    summary="One job (public once published; a draft only for its client)",
)
def job_endpoint(request: HttpRequest, job_id: int) -> Job:
    return job_read(viewer_of(request), job_id)


@jobs_router.patch(
    "/{job_id}", response={200: JobOut, **ERRORS}, summary="Edit a job (only the fields sent)"
)
def job_update_endpoint(request: HttpRequest, job_id: int, payload: JobPatchIn) -> Job:
    """Allowed while the job is a draft, or open with no proposal yet."""
    user = request_user(request)
    current = job_read(user, job_id)
    services.job_update(client=user, job_id=job_id, data=job_input_from(payload, base=current))
    return job_read(user, job_id)


@jobs_router.post("/{job_id}/publish", response={200: JobOut, **ERRORS}, summary="Publish a draft")
def job_publish_endpoint(request: HttpRequest, job_id: int) -> Job:
    user = request_user(request)
    services.job_publish(client=user, job_id=job_id)
    return job_read(user, job_id)


@jobs_router.post(
    "/{job_id}/close", response={200: JobOut, **ERRORS}, summary="Stop recruiting without hiring"
)
def job_close_endpoint(request: HttpRequest, job_id: int) -> Job:
    """Open proposals are declined with a notice; counts as closed without hire."""
    user = request_user(request)
    services.job_close(client=user, job_id=job_id)
    return job_read(user, job_id)


@jobs_router.get(
    "/{job_id}/proposals",
    response={200: ProposalPageOut, **ERRORS},
    summary="Proposals on a job (the client sees all; a worker only their own)",
)
def job_proposals_endpoint(
    request: HttpRequest, job_id: int, query: Query[PageQuery]
) -> dict[str, object]:
    user = request_user(request)
    job = job_read(user, job_id)
    proposals, has_next = page_of(selectors.proposals_for_job(viewer=user, job=job), query.page)
    return {"items": proposals, "page": query.page, "has_next": has_next}


@jobs_router.post(
    "/{job_id}/proposals",
    response={201: ProposalOut, **ERRORS},
    summary="Propose (提案) or offer a paid consultation (相談料)",
)
def proposal_create_endpoint(
    request: HttpRequest, job_id: int, payload: ProposalIn
) -> Status[Proposal]:
    user = request_user(request)
    data = proposal_input_from(payload, kind=payload.kind)
    proposal = services.proposal_create(worker=user, job_id=job_id, data=data)
    return Status(201, proposal_read(user, proposal.pk))


# --- proposals ------------------------------------------------------------------------------


@proposals_router.get(
    "/{proposal_id}", response={200: ProposalOut, **ERRORS}, summary="One proposal"
)
def proposal_endpoint(request: HttpRequest, proposal_id: int) -> Proposal:
    return proposal_read(request_user(request), proposal_id)


@proposals_router.post(
    "/{proposal_id}/withdraw", response={200: ProposalOut, **ERRORS}, summary="Withdraw (worker)"
)
def proposal_withdraw_endpoint(request: HttpRequest, proposal_id: int) -> Proposal:
    user = request_user(request)
    services.proposal_withdraw(worker=user, proposal_id=proposal_id)
    return proposal_read(user, proposal_id)


@proposals_router.post(
    "/{proposal_id}/revise",
    response={200: ProposalOut, **ERRORS},
    summary="Revise an open proposal after negotiating (worker)",
)
def proposal_revise_endpoint(
    request: HttpRequest, proposal_id: int, payload: ProposalReviseIn
) -> Proposal:
    """Replaces the price, milestones and cover letter; `revision` goes up by one.

    The kind stays as sent. The thread records the revision and the client is told; a hire
    naming the old `expected_revision` is then refused.
    """
    user = request_user(request)
    current = proposal_read(user, proposal_id)
    data = proposal_input_from(payload, kind=current.kind)
    services.proposal_revise(worker=user, proposal_id=proposal_id, data=data)
    return proposal_read(user, proposal_id)


@proposals_router.post(
    "/{proposal_id}/decline", response={200: ProposalOut, **ERRORS}, summary="Decline (client)"
)
def proposal_decline_endpoint(
    request: HttpRequest, proposal_id: int, payload: DeclineIn = EMPTY_DECLINE
) -> Proposal:
    """見送り; the worker is told, with the reason if one is given."""
    user = request_user(request)
    services.proposal_decline(client=user, proposal_id=proposal_id, reason=payload.reason)
    return proposal_read(user, proposal_id)


@proposals_router.get(
    "/{proposal_id}/messages",
    response={200: MessageThreadOut, **ERRORS},
    summary="The pre-contract thread, oldest first",
)
def proposal_messages_endpoint(
    request: HttpRequest, proposal_id: int, query: Query[MessageQuery]
) -> dict[str, object]:
    proposal = proposal_read(request_user(request), proposal_id)
    messages = list(
        selectors.proposal_messages(proposal=proposal).filter(pk__gt=query.after)[
            : limits.PAGE_SIZE_MAX
        ]
    )
    full = len(messages) == limits.PAGE_SIZE_MAX
    return {
        "reminder": str(selectors.THREAD_REMINDER),
        "items": messages,
        "next_after": messages[-1].pk if full else None,
    }


@proposals_router.post(
    "/{proposal_id}/messages",
    response={201: MessageOut, **ERRORS},
    summary="Write in the pre-contract thread",
)
def proposal_message_post_endpoint(
    request: HttpRequest, proposal_id: int, payload: MessageIn
) -> Status[ProposalMessage]:
    """The message guards' result comes back in `guards`; a hit is never refused (warn before
    sending with POST /messages/check)."""
    message = services.proposal_message_post(
        author=request_user(request), proposal_id=proposal_id, body=payload.body
    )
    return Status(201, message)
