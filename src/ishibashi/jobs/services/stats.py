"""The client's hiring record: counters bumped in the same transaction, and a recount."""

from __future__ import annotations

from django.db.models import F

from ishibashi.accounts.models import User
from ishibashi.jobs.models import (
    ClientJobStats,
    Job,
    JobState,
    Proposal,
    ProposalKind,
    ProposalState,
)


def _stats_of(client: User) -> ClientJobStats:
    stats, _created = ClientJobStats.objects.get_or_create(client=client)
    return stats


def client_job_stats_bump(client: User, **deltas: int) -> None:
    _stats_of(client)
    ClientJobStats.objects.filter(client=client).update(
        **{name: F(name) + delta for name, delta in deltas.items()}
    )


def consultations_hired(job: Job) -> int:
    """Paid consultations bought on this job: when it ends without a hire, none led anywhere."""
    return Proposal.objects.filter(
        job=job, kind=ProposalKind.CONSULTATION, state=ProposalState.HIRED
    ).count()


JOB_STAT_FIELDS = (
    "jobs_posted",
    "hires",
    "jobs_closed_without_hire",
    "jobs_expired_without_hire",
    "publish_to_hire_seconds_total",
    "consultations_sold",
    "consultations_unconverted",
)


def client_job_stats_recount(*, client: User) -> dict[str, int]:
    """A client's hiring record counted from the jobs; must equal the running counters."""
    jobs = Job.objects.filter(client=client)
    hired = [
        (published, ended)
        for published, ended in jobs.filter(state=JobState.HIRED).values_list(
            "published_at", "ended_at"
        )
        if published is not None and ended is not None
    ]
    consultations = Proposal.objects.filter(
        job__client=client, kind=ProposalKind.CONSULTATION, state=ProposalState.HIRED
    )
    return {
        "jobs_posted": jobs.exclude(published_at=None).count(),
        "hires": len(hired),
        "jobs_closed_without_hire": jobs.filter(state=JobState.CLOSED_WITHOUT_HIRE).count(),
        "jobs_expired_without_hire": jobs.filter(state=JobState.EXPIRED).count(),
        "publish_to_hire_seconds_total": sum(
            int((ended - published).total_seconds()) for published, ended in hired
        ),
        "consultations_sold": consultations.count(),
        "consultations_unconverted": consultations.filter(
            job__state__in=(JobState.CLOSED_WITHOUT_HIRE, JobState.EXPIRED)
        ).count(),
    }


def client_job_stats_stored(*, client: User) -> dict[str, int]:
    row = ClientJobStats.objects.filter(client=client).values(*JOB_STAT_FIELDS).first()
    return dict.fromkeys(JOB_STAT_FIELDS, 0) if row is None else dict(row)


def client_job_stats_rebuild(*, client: User) -> ClientJobStats:
    """Write the recount over a client's hiring record."""
    stats = _stats_of(client)
    for name, value in client_job_stats_recount(client=client).items():
        setattr(stats, name, value)
    stats.save()
    return stats
