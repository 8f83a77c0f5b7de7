"""Proposals (提案): send, revise (the counter-offer), withdraw, decline, and their thread."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from ishibashi.accounts.models import User
from ishibashi.accounts.selectors import check_email_verified, check_new_account_rate
from ishibashi.core import clock, limits
from ishibashi.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from ishibashi.core.text import clean_text
from ishibashi.guards import detect
from ishibashi.jobs import notices
from ishibashi.jobs.models import (
    Job,
    JobState,
    MilestoneKind,
    Proposal,
    ProposalKind,
    ProposalMessage,
    ProposalState,
    ProposedMilestone,
)
from ishibashi.jobs.services.inputs import (
    MilestoneInput,
    ProposalInput,
    checked_choice,
    checked_yen,
    today,
)
from ishibashi.jobs.services.posting import job_is_recruiting
from ishibashi.notifications.notices import notices_batched


def proposal_thread_is_open(proposal: Proposal) -> bool:
    return proposal.state in (ProposalState.OPEN, ProposalState.HIRED)


def proposal_is_revisable(proposal: Proposal) -> bool:
    return proposal.state == ProposalState.OPEN and job_is_recruiting(proposal.job)


def checked_milestones(
    milestones: Sequence[MilestoneInput], *, total_jpy: int, kind: str
) -> list[MilestoneInput]:
    if not milestones:
        raise InvalidInput(_("Add at least one milestone."), field="milestones")
    if len(milestones) > limits.PROPOSAL_MILESTONES_MAX:
        raise InvalidInput(
            _("At most %(max)d milestones.") % {"max": limits.PROPOSAL_MILESTONES_MAX},
            field="milestones",
        )
    if kind == ProposalKind.CONSULTATION and len(milestones) != 1:
        raise InvalidInput(_("A paid consultation is a single milestone."), field="milestones")
    first_day = today() + dt.timedelta(days=1)
    last_day = today() + dt.timedelta(days=limits.MILESTONE_DUE_DAYS_MAX)
    checked = []
    for index, milestone in enumerate(milestones):
        prefix = f"milestones[{index}]"
        title = clean_text(
            milestone.title, field=f"{prefix}.title", length_max=limits.MILESTONE_TITLE_LENGTH_MAX
        )
        allowed: list[str] = (
            [MilestoneKind.CONSULTATION.value]
            if kind == ProposalKind.CONSULTATION
            else [value for value in MilestoneKind.values if value != MilestoneKind.CONSULTATION]
        )
        milestone_kind = checked_choice(milestone.kind, choices=allowed, field=f"{prefix}.kind")
        amount = checked_yen(
            milestone.amount_jpy,
            field=f"{prefix}.amount_jpy",
            low=limits.MILESTONE_AMOUNT_JPY_MIN,
            high=limits.MILESTONE_AMOUNT_JPY_MAX,
        )
        due = milestone.due_on
        if not isinstance(due, dt.date) or isinstance(due, dt.datetime):
            raise InvalidInput(_("Enter a date."), field=f"{prefix}.due_on")
        if due < first_day:
            raise InvalidInput(_("A due date must be after today."), field=f"{prefix}.due_on")
        if due > last_day:
            raise InvalidInput(_("This due date is too far away."), field=f"{prefix}.due_on")
        checked.append(
            MilestoneInput(title=title, kind=milestone_kind, amount_jpy=amount, due_on=due)
        )
    if sum(milestone.amount_jpy for milestone in checked) != total_jpy:
        raise InvalidInput(
            _("The milestones add up to ¥%(sum)s, not the total of ¥%(total)s.")
            % {
                "sum": f"{sum(m.amount_jpy for m in checked):,}",
                "total": f"{total_jpy:,}",
            },
            field="total_jpy",
        )
    return checked


def _proposable_job(*, worker: User, job_id: int) -> Job:
    job = Job.objects.select_for_update().filter(pk=job_id).first()
    if job is None or job.state == JobState.DRAFT:
        raise NotFound(_("No such job."))
    if not worker.is_worker:
        raise InvalidInput(
            _("Only a worker account can propose. Turn on the worker role in your profile."),
            code="not_a_worker",
        )
    if job.client_id == worker.pk:
        raise InvalidInput(_("You cannot propose on your own job."), code="own_job")
    if not job_is_recruiting(job):
        raise Conflict(_("This job is no longer recruiting."), code="job_not_open")
    return job


@dataclass(frozen=True)
class _CheckedPlan:
    total_jpy: int
    cover_letter: str
    milestones: list[MilestoneInput]


def _checked_plan(data: ProposalInput, *, kind: str) -> _CheckedPlan:
    """The price, cover letter and milestones of a proposal or of a revision, checked alike."""
    high = (
        limits.CONSULTATION_AMOUNT_JPY_MAX
        if kind == ProposalKind.CONSULTATION
        else limits.MILESTONE_AMOUNT_JPY_MAX * limits.PROPOSAL_MILESTONES_MAX
    )
    total = checked_yen(
        data.total_jpy, field="total_jpy", low=limits.MILESTONE_AMOUNT_JPY_MIN, high=high
    )
    cover_letter = clean_text(
        data.cover_letter,
        field="cover_letter",
        length_max=limits.COVER_LETTER_LENGTH_MAX,
        multiline=True,
    )
    milestones = checked_milestones(data.milestones, total_jpy=total, kind=kind)
    return _CheckedPlan(total_jpy=total, cover_letter=cover_letter, milestones=milestones)


def _milestones_save(proposal: Proposal, milestones: Sequence[MilestoneInput]) -> None:
    ProposedMilestone.objects.bulk_create(
        ProposedMilestone(
            proposal=proposal,
            position=position,
            title=m.title,
            kind=m.kind,
            amount_jpy=m.amount_jpy,
            due_on=m.due_on,
        )
        for position, m in enumerate(milestones, start=1)
    )


@transaction.atomic
@notices_batched()
def proposal_create(*, worker: User, job_id: int, data: ProposalInput) -> Proposal:
    """提案 (or a paid consultation offer, 相談料): a price and a milestone plan.

    Needs a confirmed e-mail address; a new account sends a bounded number an hour.
    """
    check_email_verified(worker)
    # The worker's row, locked: two proposals sent at once cannot both pass the count.
    list(User.objects.select_for_update().filter(pk=worker.pk).values_list("pk", flat=True))
    check_new_account_rate(
        worker,
        recent=Proposal.objects.filter(worker=worker),
        limit=limits.NEW_ACCOUNT_PROPOSALS_PER_HOUR,
        kind="proposals",
    )
    job = _proposable_job(worker=worker, job_id=job_id)
    kind = checked_choice(data.kind, choices=ProposalKind.values, field="kind")
    plan = _checked_plan(data, kind=kind)
    if Proposal.objects.filter(
        job=job, worker=worker, kind=kind, state=ProposalState.OPEN
    ).exists():
        raise Conflict(
            _("You already have an open proposal on this job. Withdraw it to send another."),
            code="proposal_exists",
        )
    # Checked, never refused: the client sees a caution on what was found (docs/guards.md).
    guard = detect(plan.cover_letter)
    try:
        with transaction.atomic(), notices_batched():
            proposal = Proposal.objects.create(
                job=job, worker=worker, kind=kind, cover_letter=plan.cover_letter,
                total_jpy=plan.total_jpy, created_at=clock.now(),
                cover_letter_guard_categories=guard.categories,
                cover_letter_guard_version=guard.version,
            )  # fmt: skip
    except IntegrityError:  # the same worker's double submit, racing past the check above
        raise Conflict(
            _("You already have an open proposal on this job. Withdraw it to send another."),
            code="proposal_exists",
        ) from None
    _milestones_save(proposal, plan.milestones)
    Job.objects.filter(pk=job.pk).update(proposal_count=F("proposal_count") + 1)
    notices.proposal_received(proposal=proposal)
    return proposal


def proposal_for_party(
    *,
    user: User,
    proposal_id: int,
    as_worker: bool = False,
    as_client: bool = False,
    lock: bool = True,
) -> Proposal:
    proposals = Proposal.objects.select_for_update() if lock else Proposal.objects.all()
    proposal = (
        proposals.select_related("job", "worker", "job__client").filter(pk=proposal_id).first()
    )
    if proposal is None:
        raise NotFound(_("No such proposal."))
    is_worker = proposal.worker_id == user.pk
    is_client = proposal.job.client_id == user.pk
    if not (is_worker or is_client):
        raise NotFound(_("No such proposal."))
    if as_worker and not is_worker:
        raise Forbidden(_("Only the worker who sent this proposal can do that."), code="not_owner")
    if as_client and not is_client:
        raise Forbidden(_("Only the client of this job can do that."), code="not_owner")
    return proposal


@transaction.atomic
@notices_batched()
def proposal_revise(*, worker: User, proposal_id: int, data: ProposalInput) -> Proposal:
    """The worker's revised plan after negotiating in the thread (the counter-offer).

    Price, milestones and cover letter are replaced together and the revision goes up by one;
    a message in the thread keeps the history visible, and a hire naming the old revision is
    refused. The kind stays: a consultation does not turn into a full proposal, or back.
    """
    # Job first, then the proposal: the order the hire, job_close and the sweep lock them in.
    seen = proposal_for_party(user=worker, proposal_id=proposal_id, as_worker=True, lock=False)
    _proposable_job(worker=worker, job_id=seen.job_id)
    proposal = proposal_for_party(user=worker, proposal_id=proposal_id, as_worker=True)
    if proposal.state != ProposalState.OPEN:
        raise Conflict(_("This proposal is no longer open."), code="proposal_not_open")
    if data.kind != proposal.kind:
        raise InvalidInput(
            _("The kind of a proposal cannot be changed. Withdraw it and send a new one."),
            field="kind",
        )
    plan = _checked_plan(data, kind=proposal.kind)
    proposal.milestones.all().delete()
    _milestones_save(proposal, plan.milestones)
    proposal.total_jpy = plan.total_jpy
    proposal.cover_letter = plan.cover_letter
    guard = detect(plan.cover_letter)
    proposal.cover_letter_guard_categories = guard.categories
    proposal.cover_letter_guard_version = guard.version
    proposal.revision += 1
    proposal.save(
        update_fields=[
            "total_jpy",
            "cover_letter",
            "cover_letter_guard_categories",
            "cover_letter_guard_version",
            "revision",
        ]
    )
    # Written in the client's language: the message is there for them to notice the change.
    with translation.override(proposal.job.client.preferred_language):
        body = _("The proposal was revised to version %(revision)d. New total: ¥%(total)s.") % {
            "revision": proposal.revision,
            "total": f"{proposal.total_jpy:,}",
        }
    ProposalMessage.objects.create(
        proposal=proposal, author=worker, body=body, created_at=clock.now()
    )
    notices.proposal_revised(proposal=proposal)
    return proposal


@transaction.atomic
@notices_batched()
def proposal_withdraw(*, worker: User, proposal_id: int) -> Proposal:
    proposal = proposal_for_party(user=worker, proposal_id=proposal_id, as_worker=True)
    if proposal.state != ProposalState.OPEN:
        raise Conflict(_("This proposal is no longer open."), code="proposal_not_open")
    proposal.state = ProposalState.WITHDRAWN
    proposal.decided_at = clock.now()
    proposal.save(update_fields=["state", "decided_at"])
    return proposal


@transaction.atomic
@notices_batched()
def proposal_decline(*, client: User, proposal_id: int, reason: str = "") -> Proposal:
    """見送り: the client passes on a proposal, with an optional reason the worker sees."""
    proposal = proposal_for_party(user=client, proposal_id=proposal_id, as_client=True)
    reason = clean_text(
        reason,
        field="reason",
        length_max=limits.DECLINE_REASON_LENGTH_MAX,
        multiline=True,
        required=False,
    )
    if proposal.state != ProposalState.OPEN:
        raise Conflict(_("This proposal is no longer open."), code="proposal_not_open")
    proposal.state = ProposalState.DECLINED
    proposal.decline_reason = reason
    proposal.decided_at = clock.now()
    proposal.save(update_fields=["state", "decline_reason", "decided_at"])
    notices.proposals_declined(job=proposal.job, proposals=[proposal])
    return proposal


@transaction.atomic
@notices_batched()
def proposal_message_post(*, author: User, proposal_id: int, body: str) -> ProposalMessage:
    """A message in the proposal's thread; either party, while it is open or just decided.

    A new account sends a bounded number of messages an hour. The message guards' result is
    stored with it; a hit is never a refusal (product spec, "Messages and guards")."""
    proposal = proposal_for_party(user=author, proposal_id=proposal_id)
    check_new_account_rate(
        author,
        recent=ProposalMessage.objects.filter(author=author),
        limit=limits.NEW_ACCOUNT_MESSAGES_PER_HOUR,
        kind="messages",
    )
    body = clean_text(body, field="body", length_max=limits.MESSAGE_LENGTH_MAX, multiline=True)
    if not proposal_thread_is_open(proposal):
        raise Conflict(
            _("This proposal is closed; its thread is read-only."), code="proposal_not_open"
        )
    # Checked, never refused or edited: the reader sees a caution on what was found.
    guard = detect(body)
    message = ProposalMessage.objects.create(
        proposal=proposal,
        author=author,
        body=body,
        guard_categories=guard.categories,
        guard_version=guard.version,
        created_at=clock.now(),
    )
    notices.proposal_message_posted(message=message, proposal=proposal)
    return message
