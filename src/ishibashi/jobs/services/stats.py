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
