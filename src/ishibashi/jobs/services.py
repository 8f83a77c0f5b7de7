"""Every write on jobs and proposals: post, publish, edit, close, expire, propose, revise.

The hire that turns a proposal into a contract is contracts.services.hiring: jobs knows no contract.

Each public function is one use case in one transaction. Rules are checked here, never in a view
or an API handler; a refusal raises an ApplicationError before anything is written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from ishibashi.accounts.models import User
from ishibashi.core import clock, limits
from ishibashi.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from ishibashi.core.text import clean_text
from ishibashi.jobs import notices
from ishibashi.jobs.models import (
    ClientJobStats,
    ContractType,
    Job,
    JobCategory,
    JobState,
    MilestoneKind,
    Proposal,
    ProposalKind,
    ProposalMessage,
    ProposalState,
    ProposedMilestone,
)

# --- inputs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobInput:
    title: str
    description: str
    category: str
    contract_type: str
    budget_min_jpy: int
    budget_max_jpy: int
    recruiting_deadline: dt.datetime
    desired_delivery_on: dt.date
    scope_deliverables: str
    scope_acceptance_criteria: str
    scope_out_of_scope: str = ""
    revision_rounds: int = 1


@dataclass(frozen=True)
class MilestoneInput:
    title: str
    kind: str
    amount_jpy: int
    due_on: dt.date


@dataclass(frozen=True)
class ProposalInput:
    cover_letter: str
    total_jpy: int
    milestones: Sequence[MilestoneInput] = field(default_factory=tuple)
    kind: str = ProposalKind.PROPOSAL


# The split pay the seed's server-migration worker wished they had asked for: research,
# night stand-by, the work itself and the completion check, each paid on its own.
SPLIT_PAY_TEMPLATE: tuple[tuple[str, str, int], ...] = (
    # (kind, Japanese title, share of the total in percent)
    (MilestoneKind.RESEARCH, "事前調査", 20),
    (MilestoneKind.STANDBY, "待機・深夜対応", 20),
    (MilestoneKind.MAIN_WORK, "実作業", 50),
    (MilestoneKind.COMPLETION_CHECK, "作業完了確認", 10),
)


def today() -> dt.date:
    """Today in Japan: due dates and delivery dates are Japanese calendar days."""
    return timezone.localdate(clock.now())


# --- checks ---------------------------------------------------------------------------------


def _yen(value: object, *, field: str, low: int, high: int) -> int:
    if type(value) is not int:
        raise InvalidInput(_("Enter a whole number of yen."), field=field)
    if value < low:
        raise InvalidInput(
            _("The amount must be at least ¥%(min)s.") % {"min": f"{low:,}"}, field=field
        )
    if value > high:
        raise InvalidInput(
            _("The amount must be at most ¥%(max)s.") % {"max": f"{high:,}"}, field=field
        )
    return value


def _choice(value: object, *, choices: Sequence[str], field: str) -> str:
    if not isinstance(value, str) or value not in choices:
        raise InvalidInput(_("Choose one of the listed options."), field=field)
    return value


def _checked_job(data: JobInput) -> dict[str, object]:
    now = clock.now()
    budget_min = _yen(
        data.budget_min_jpy,
        field="budget_min_jpy",
        low=limits.JOB_BUDGET_JPY_MIN,
        high=limits.JOB_BUDGET_JPY_MAX,
    )
    budget_max = _yen(
        data.budget_max_jpy,
        field="budget_max_jpy",
        low=limits.JOB_BUDGET_JPY_MIN,
        high=limits.JOB_BUDGET_JPY_MAX,
    )
    if budget_max < budget_min:
        raise InvalidInput(
            _("The upper end of the budget is below the lower end."), field="budget_max_jpy"
        )
    deadline = data.recruiting_deadline
    if not isinstance(deadline, dt.datetime) or timezone.is_naive(deadline):
        raise InvalidInput(_("Enter a date and time."), field="recruiting_deadline")
    if deadline <= now:
        raise InvalidInput(
            _("The recruiting deadline must be in the future."), field="recruiting_deadline"
        )
    if deadline > now + dt.timedelta(days=limits.JOB_RECRUITING_DAYS_MAX):
        raise InvalidInput(
            _("Recruit for at most %(days)d days.") % {"days": limits.JOB_RECRUITING_DAYS_MAX},
            field="recruiting_deadline",
        )
    delivery = data.desired_delivery_on
    if not isinstance(delivery, dt.date) or isinstance(delivery, dt.datetime):
        raise InvalidInput(_("Enter a date."), field="desired_delivery_on")
    if delivery < timezone.localdate(deadline):
        raise InvalidInput(
            _("The desired delivery date cannot be before the recruiting deadline."),
            field="desired_delivery_on",
        )
    if delivery > today() + dt.timedelta(days=limits.MILESTONE_DUE_DAYS_MAX):
        raise InvalidInput(
            _("The desired delivery date is too far away."), field="desired_delivery_on"
        )
    rounds = data.revision_rounds
    if type(rounds) is not int or not 0 <= rounds <= limits.REVISION_ROUNDS_MAX:
        raise InvalidInput(
            _("Revision rounds must be a whole number from 0 to %(max)d.")
            % {"max": limits.REVISION_ROUNDS_MAX},
            field="revision_rounds",
        )
    scope = limits.JOB_SCOPE_FIELD_LENGTH_MAX
    return {
        "title": clean_text(data.title, field="title", length_max=limits.JOB_TITLE_LENGTH_MAX),
        "description": clean_text(
            data.description,
            field="description",
            length_max=limits.JOB_DESCRIPTION_LENGTH_MAX,
            multiline=True,
        ),
        "category": _choice(data.category, choices=JobCategory.values, field="category"),
        "contract_type": _choice(
            data.contract_type, choices=ContractType.values, field="contract_type"
        ),
        "budget_min_jpy": budget_min,
        "budget_max_jpy": budget_max,
        "recruiting_deadline": deadline,
        "desired_delivery_on": delivery,
        "scope_deliverables": clean_text(
            data.scope_deliverables, field="scope_deliverables", length_max=scope, multiline=True
        ),
        "scope_acceptance_criteria": clean_text(
            data.scope_acceptance_criteria,
            field="scope_acceptance_criteria",
            length_max=scope,
            multiline=True,
        ),
        "scope_out_of_scope": clean_text(
            data.scope_out_of_scope,
            field="scope_out_of_scope",
            length_max=scope,
            multiline=True,
            required=False,
        ),
        "revision_rounds": rounds,
    }


def _job_for_client(*, client: User, job_id: int, lock: bool = False) -> Job:
    """The client's own job; anybody else's is "not found", so existence does not leak."""
    jobs = Job.objects.select_for_update() if lock else Job.objects.all()
    job = jobs.filter(pk=job_id).first()
    if job is None or job.client_id != client.pk:
        if job is not None and job.state != JobState.DRAFT:
            raise Forbidden(
                _("Only the client who posted this job can change it."), code="not_owner"
            )
        raise NotFound(_("No such job."))
    return job


def _stats_of(client: User) -> ClientJobStats:
    stats, _created = ClientJobStats.objects.get_or_create(client=client)
    return stats


def client_job_stats_bump(client: User, **deltas: int) -> None:
    _stats_of(client)
    ClientJobStats.objects.filter(client=client).update(
        **{name: F(name) + delta for name, delta in deltas.items()}
    )


# --- jobs -----------------------------------------------------------------------------------


@transaction.atomic
def job_create(*, client: User, data: JobInput, publish: bool = False) -> Job:
    """A new job, as a draft (下書き) or published at once."""
    if not client.is_client:
        raise InvalidInput(
            _("Only a client account can post jobs. Turn on the client role in your profile."),
            code="not_a_client",
        )
    now = clock.now()
    job = Job.objects.create(client=client, created_at=now, updated_at=now, **_checked_job(data))
    if publish:
        _publish(job, now=now)
    return job


@transaction.atomic
def job_update(*, client: User, job_id: int, data: JobInput, publish: bool = False) -> Job:
    """Edit a draft, or an open job that nobody has proposed to yet (law.md L-40).

    `publish` also publishes a draft in the same transaction (an open job stays open).
    """
    job = _job_for_client(client=client, job_id=job_id, lock=True)
    if job.state not in (JobState.DRAFT, JobState.OPEN):
        raise Conflict(
            _("This job is no longer recruiting and cannot be edited."), code="job_ended"
        )
    if job.proposal_count:
        raise Conflict(
            _(
                "Workers have already proposed on the terms shown; the job can no longer be "
                "edited. Close it and post a new one if the terms must change."
            ),
            code="job_has_proposals",
        )
    for name, value in _checked_job(data).items():
        setattr(job, name, value)
    job.updated_at = clock.now()
    job.save()
    if publish and job.state == JobState.DRAFT:
        _publish(job, now=job.updated_at)
    return job


# What the guards of job_update, proposal_create and proposal_revise allow, for pages that offer
# the action only when it can succeed. The guards stay the authority and say why not.


def job_is_editable(job: Job) -> bool:
    return job.state in (JobState.DRAFT, JobState.OPEN) and not job.proposal_count


def job_is_recruiting(job: Job) -> bool:
    return job.state == JobState.OPEN and job.recruiting_deadline > clock.now()


def proposal_thread_is_open(proposal: Proposal) -> bool:
    return proposal.state in (ProposalState.OPEN, ProposalState.HIRED)


def proposal_is_revisable(proposal: Proposal) -> bool:
    return proposal.state == ProposalState.OPEN and job_is_recruiting(proposal.job)


def _publish(job: Job, *, now: dt.datetime) -> None:
    if job.recruiting_deadline <= now:
        raise InvalidInput(
            _("The recruiting deadline has passed. Set a new one before publishing."),
            field="recruiting_deadline",
        )
    job.state = JobState.OPEN
    job.published_at = now
    job.updated_at = now
    job.save(update_fields=["state", "published_at", "updated_at"])
    client_job_stats_bump(job.client, jobs_posted=1)


@transaction.atomic
def job_publish(*, client: User, job_id: int) -> Job:
    """下書き → 募集中."""
    job = _job_for_client(client=client, job_id=job_id, lock=True)
    if job.state != JobState.DRAFT:
        raise Conflict(_("Only a draft can be published."), code="job_not_draft")
    _publish(job, now=clock.now())
    return job


def open_proposals_decline(job: Job, *, reason: str, now: dt.datetime, except_id: int = 0) -> None:
    pending = list(
        Proposal.objects.select_for_update()
        .filter(job=job, state=ProposalState.OPEN)
        .exclude(pk=except_id)
        .select_related("worker")
    )
    for proposal in pending:
        proposal.state = ProposalState.DECLINED
        proposal.decline_reason = reason
        proposal.decided_at = now
        proposal.save(update_fields=["state", "decline_reason", "decided_at"])
    notices.proposals_declined(job=job, proposals=pending)


@transaction.atomic
def job_close(*, client: User, job_id: int) -> Job:
    """募集終了: stop recruiting without hiring; counts on the client's profile."""
    job = _job_for_client(client=client, job_id=job_id, lock=True)
    if job.state == JobState.DRAFT:
        raise Conflict(
            _("A draft is not published; there is nothing to close."), code="job_not_open"
        )
    if job.state != JobState.OPEN:
        raise Conflict(_("This job is no longer recruiting."), code="job_not_open")
    now = clock.now()
    job.state = JobState.CLOSED_WITHOUT_HIRE
    job.ended_at = job.updated_at = now
    job.save(update_fields=["state", "ended_at", "updated_at"])
    open_proposals_decline(job, reason=str(_("The client closed the job.")), now=now)
    client_job_stats_bump(job.client, jobs_closed_without_hire=1)
    return job


def jobs_expire_overdue(*, batch: int = limits.SWEEP_BATCH_MAX) -> int:
    """Sweep: open jobs past their recruiting deadline become expired, one transaction each."""
    now = clock.now()
    due = list(
        Job.objects.filter(state=JobState.OPEN, recruiting_deadline__lte=now)
        .order_by("recruiting_deadline")
        .values_list("pk", flat=True)[:batch]
    )
    expired = 0
    for job_id in due:
        with transaction.atomic():
            job = Job.objects.select_for_update().filter(pk=job_id, state=JobState.OPEN).first()
            if job is None:  # hired or closed meanwhile, or another sweeper took it
                continue
            job.state = JobState.EXPIRED
            job.ended_at = job.updated_at = now
            job.save(update_fields=["state", "ended_at", "updated_at"])
            open_proposals_decline(
                job, reason=str(_("The recruiting period ended without a hire.")), now=now
            )
            client_job_stats_bump(job.client, jobs_expired_without_hire=1)
            expired += 1
    return expired


# --- proposals ------------------------------------------------------------------------------


def _checked_milestones(
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
        milestone_kind = _choice(milestone.kind, choices=allowed, field=f"{prefix}.kind")
        amount = _yen(
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
    total = _yen(data.total_jpy, field="total_jpy", low=limits.MILESTONE_AMOUNT_JPY_MIN, high=high)
    cover_letter = clean_text(
        data.cover_letter,
        field="cover_letter",
        length_max=limits.COVER_LETTER_LENGTH_MAX,
        multiline=True,
    )
    milestones = _checked_milestones(data.milestones, total_jpy=total, kind=kind)
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
def proposal_create(*, worker: User, job_id: int, data: ProposalInput) -> Proposal:
    """提案 (or a paid consultation offer, 相談料): a price and a milestone plan."""
    job = _proposable_job(worker=worker, job_id=job_id)
    kind = _choice(data.kind, choices=ProposalKind.values, field="kind")
    plan = _checked_plan(data, kind=kind)
    if Proposal.objects.filter(
        job=job, worker=worker, kind=kind, state=ProposalState.OPEN
    ).exists():
        raise Conflict(
            _("You already have an open proposal on this job. Withdraw it to send another."),
            code="proposal_exists",
        )
    try:
        with transaction.atomic():
            proposal = Proposal.objects.create(
                job=job, worker=worker, kind=kind, cover_letter=plan.cover_letter,
                total_jpy=plan.total_jpy, created_at=clock.now(),
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
    proposal.revision += 1
    proposal.save(update_fields=["total_jpy", "cover_letter", "revision"])
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
def proposal_withdraw(*, worker: User, proposal_id: int) -> Proposal:
    proposal = proposal_for_party(user=worker, proposal_id=proposal_id, as_worker=True)
    if proposal.state != ProposalState.OPEN:
        raise Conflict(_("This proposal is no longer open."), code="proposal_not_open")
    proposal.state = ProposalState.WITHDRAWN
    proposal.decided_at = clock.now()
    proposal.save(update_fields=["state", "decided_at"])
    return proposal


@transaction.atomic
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
def proposal_message_post(*, author: User, proposal_id: int, body: str) -> ProposalMessage:
    """A message in the proposal's thread; either party, while it is open or just decided."""
    proposal = proposal_for_party(user=author, proposal_id=proposal_id)
    body = clean_text(body, field="body", length_max=limits.MESSAGE_LENGTH_MAX, multiline=True)
    if not proposal_thread_is_open(proposal):
        raise Conflict(
            _("This proposal is closed; its thread is read-only."), code="proposal_not_open"
        )
    message = ProposalMessage.objects.create(
        proposal=proposal, author=author, body=body, created_at=clock.now()
    )
    notices.proposal_message_posted(message=message, proposal=proposal)
    return message


def split_pay_plan(*, total_jpy: int, due_on: dt.date) -> list[MilestoneInput]:
    """The four-part template (事前調査 / 待機・深夜対応 / 実作業 / 作業完了確認) for a total.

    Shares are floored and the remainder goes to the main work, so the parts add up exactly.
    """
    parts = [
        MilestoneInput(title=title, kind=kind, amount_jpy=total_jpy * share // 100, due_on=due_on)
        for kind, title, share in SPLIT_PAY_TEMPLATE
    ]
    remainder = total_jpy - sum(part.amount_jpy for part in parts)
    main = 2
    parts[main] = MilestoneInput(
        title=parts[main].title,
        kind=parts[main].kind,
        amount_jpy=parts[main].amount_jpy + remainder,
        due_on=due_on,
    )
    return parts


def client_job_stats_rebuild(*, client: User) -> ClientJobStats:
    """Recount a client's hiring record from the jobs; must equal the running counters."""
    jobs = Job.objects.filter(client=client)
    hired = [
        (published, ended)
        for published, ended in jobs.filter(state=JobState.HIRED).values_list(
            "published_at", "ended_at"
        )
        if published is not None and ended is not None
    ]
    seconds = sum(int((ended - published).total_seconds()) for published, ended in hired)
    stats = _stats_of(client)
    stats.jobs_posted = jobs.exclude(published_at=None).count()
    stats.hires = len(hired)
    stats.jobs_closed_without_hire = jobs.filter(state=JobState.CLOSED_WITHOUT_HIRE).count()
    stats.jobs_expired_without_hire = jobs.filter(state=JobState.EXPIRED).count()
    stats.publish_to_hire_seconds_total = seconds
    stats.consultations_sold = Proposal.objects.filter(
        job__client=client, kind=ProposalKind.CONSULTATION, state=ProposalState.HIRED
    ).count()
    stats.save()
    return stats
