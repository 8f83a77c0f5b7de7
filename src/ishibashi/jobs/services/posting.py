"""Jobs (案件): post, edit while nobody has proposed, publish, close, and expire."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from ishibashi.accounts.models import User
from ishibashi.accounts.selectors import check_email_verified
from ishibashi.core import clock, limits
from ishibashi.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from ishibashi.jobs import notices
from ishibashi.jobs.models import (
    Job,
    JobState,
    Proposal,
    ProposalState,
)
from ishibashi.jobs.services.inputs import JobInput, checked_job
from ishibashi.jobs.services.stats import client_job_stats_bump, consultations_hired
from ishibashi.notifications.notices import notices_batched


def job_for_client(*, client: User, job_id: int, lock: bool = False) -> Job:
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


@transaction.atomic
@notices_batched()
def job_create(*, client: User, data: JobInput, publish: bool = False) -> Job:
    """A new job, as a draft (下書き) or published at once. Needs a confirmed e-mail address."""
    check_email_verified(client)
    if not client.is_client:
        raise InvalidInput(
            _("Only a client account can post jobs. Turn on the client role in your profile."),
            code="not_a_client",
        )
    now = clock.now()
    job = Job.objects.create(client=client, created_at=now, updated_at=now, **checked_job(data))
    if publish:
        _publish(job, now=now)
    return job


@transaction.atomic
@notices_batched()
def job_update(*, client: User, job_id: int, data: JobInput, publish: bool = False) -> Job:
    """Edit a draft, or an open job that nobody has proposed to yet (law.md L-40).

    `publish` also publishes a draft in the same transaction (an open job stays open).
    """
    if publish:
        check_email_verified(client)
    job = job_for_client(client=client, job_id=job_id, lock=True)
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
    for name, value in checked_job(data).items():
        setattr(job, name, value)
    job.updated_at = clock.now()
    job.save()
    if publish and job.state == JobState.DRAFT:
        _publish(job, now=job.updated_at)
    return job


def job_is_editable(job: Job) -> bool:
    return job.state in (JobState.DRAFT, JobState.OPEN) and not job.proposal_count


def job_is_recruiting(job: Job) -> bool:
    return job.state == JobState.OPEN and job.recruiting_deadline > clock.now()


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
@notices_batched()
def job_publish(*, client: User, job_id: int) -> Job:
    """下書き → 募集中."""
    check_email_verified(client)
    job = job_for_client(client=client, job_id=job_id, lock=True)
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
@notices_batched()
def job_close(*, client: User, job_id: int) -> Job:
    """募集終了: stop recruiting without hiring; counts on the client's profile."""
    job = job_for_client(client=client, job_id=job_id, lock=True)
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
    client_job_stats_bump(
        job.client, jobs_closed_without_hire=1, consultations_unconverted=consultations_hired(job)
    )
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
        with transaction.atomic(), notices_batched():
            job = Job.objects.select_for_update().filter(pk=job_id, state=JobState.OPEN).first()
            if job is None:  # hired or closed meanwhile, or another sweeper took it
                continue
            job.state = JobState.EXPIRED
            job.ended_at = job.updated_at = now
            job.save(update_fields=["state", "ended_at", "updated_at"])
            open_proposals_decline(
                job, reason=str(_("The recruiting period ended without a hire.")), now=now
            )
            client_job_stats_bump(
                job.client,
                jobs_expired_without_hire=1,
                consultations_unconverted=consultations_hired(job),
            )
            expired += 1
    return expired
