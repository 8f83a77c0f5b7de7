"""Reads: a client's reliability profile and a worker's track record, in a fixed number of
queries whatever their history (the counters are kept by jobs and contracts)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, F, Q

from ishibashi.accounts.models import User
from ishibashi.contracts import timing
from ishibashi.contracts.models import (
    ClientContractStats,
    Contract,
    ContractEvent,
    ContractState,
    Milestone,
)
from ishibashi.contracts.services.stats import STAT_FIELDS
from ishibashi.contracts.states import Action
from ishibashi.core.errors import NotFound
from ishibashi.jobs.models import ClientJobStats
from ishibashi.jobs.services.stats import JOB_STAT_FIELDS
from ishibashi.reputation.rules import (
    ClientSignals,
    Profile,
    RatingSummary,
    TrackRecord,
    WorkerSignals,
    client_profile,
    median_of,
    worker_track_record,
)
from ishibashi.reviews.selectors import rating_summaries

# Ids beyond a 64-bit integer cannot name a row; SQLite would refuse to even compare them.
ID_MAX = 2**63 - 1


def _real_ids(ids: list[int]) -> list[int]:
    return sorted({pk for pk in ids if 1 <= pk <= ID_MAX})


def rating_of(*, user_id: int, role: str) -> RatingSummary | None:
    """The one place the reviews app's rating comes in: published reviews only (one row)."""
    return ratings_of(user_ids=[user_id], role=role)[user_id]


def ratings_of(*, user_ids: list[int], role: str) -> dict[int, RatingSummary]:
    """`rating_of` for many people in one query (a list of clients draws them together)."""
    return {
        pk: RatingSummary(count=summary.count, average=summary.average)
        for pk, summary in rating_summaries(user_ids, role).items()
    }


def _signals(
    user_id: int,
    verified: bool,
    jobs: dict[str, Any],
    contracts: dict[str, Any],
    rating: RatingSummary | None,
) -> ClientSignals:
    def histogram(metric: str) -> list[int]:
        return [contracts[name] for name in timing.bucket_fields(metric)]

    return ClientSignals(
        client_id=user_id,
        identity_verified=verified,
        payment_verified=contracts["escrows_funded"] > 0,
        jobs_posted=jobs["jobs_posted"],
        hires=jobs["hires"],
        jobs_closed_without_hire=jobs["jobs_closed_without_hire"],
        jobs_expired_without_hire=jobs["jobs_expired_without_hire"],
        consultations_sold=jobs["consultations_sold"],
        consultations_unconverted=jobs["consultations_unconverted"],
        contracts_completed=contracts["contracts_completed"],
        contracts_cancelled=contracts["contracts_cancelled"],
        auto_approvals=contracts["auto_approvals"],
        legal_deadline_releases=contracts["legal_deadline_releases"],
        funding_requests_unanswered=contracts["funding_requests_unanswered"],
        silences_during_work=contracts["client_reply_silences"],
        cancellations_after_funding=contracts["cancellations_after_funding"],
        disputes=contracts["disputes"],
        disputes_for_worker=contracts["disputes_for_worker"],
        disputes_split=contracts["disputes_split"],
        disputes_for_client=contracts["disputes_for_client"],
        escrow_before_work_flags=contracts["escrow_before_work_flags"],
        median_fund=median_of(histogram("fund")),
        median_inspect=median_of(histogram("inspect")),
        median_reply=median_of(histogram("reply")),
        rating=rating,
    )


def client_profiles(*, client_ids: list[int], with_rating: bool = True) -> dict[int, Profile]:
    """Profiles of many clients in four queries (users, hiring record, payer record, ratings).

    Unknown or inactive ids are left out. The job list asks without ratings: a card shows the
    level and its top reason, which never come from the rating.
    """
    ids = _real_ids(client_ids)
    users = dict(
        User.objects.filter(pk__in=ids, is_active=True).values_list("pk", "identity_verified_at")
    )
    jobs = {
        row["client_id"]: row
        for row in ClientJobStats.objects.filter(client_id__in=users).values(
            "client_id", *JOB_STAT_FIELDS
        )
    }
    contracts = {
        row["client_id"]: row
        for row in ClientContractStats.objects.filter(client_id__in=users).values(
            "client_id", *STAT_FIELDS
        )
    }
    no_jobs = dict.fromkeys(JOB_STAT_FIELDS, 0)
    no_contracts = dict.fromkeys(STAT_FIELDS, 0)
    ratings = ratings_of(user_ids=list(users), role="client") if with_rating else {}
    return {
        pk: client_profile(
            _signals(
                pk,
                verified_at is not None,
                jobs.get(pk, no_jobs),
                contracts.get(pk, no_contracts),
                ratings.get(pk),
            )
        )
        for pk, verified_at in users.items()
    }


def client_profile_get(*, client_id: int) -> Profile:
    """A client's profile; public (visitors and members alike, as on Lancers)."""
    found = client_profiles(client_ids=[client_id])
    if client_id not in found:
        raise NotFound(_no_such_user())
    return found[client_id]


def _no_such_user() -> str:
    from django.utils.translation import gettext

    return gettext("No such user.")


def worker_track_record_get(*, worker_id: int) -> TrackRecord:
    """A worker's track record in four aggregate queries, whatever their history; public."""
    if not _real_ids([worker_id]):
        raise NotFound(_no_such_user())
    user = User.objects.filter(pk=worker_id, is_active=True).values("identity_verified_at").first()
    if user is None:
        raise NotFound(_no_such_user())
    contracts = Contract.objects.filter(worker_id=worker_id).aggregate(
        completed=Count("pk", filter=Q(state=ContractState.COMPLETED)),
        cancelled=Count("pk", filter=Q(state=ContractState.CANCELLED)),
    )
    milestones = Milestone.objects.filter(
        contract__worker_id=worker_id, first_delivered_at__isnull=False
    ).aggregate(
        delivered=Count("pk"),
        # The due date is a calendar day in Japan; delivered that day is on time.
        on_time=Count("pk", filter=Q(first_delivered_at__date__lte=F("due_on"))),
    )
    events = ContractEvent.objects.filter(contract__worker_id=worker_id).aggregate(
        revisions=Count("pk", filter=Q(action=Action.REQUEST_REVISION)),
        withdrawals=Count("pk", filter=Q(action=Action.WITHDRAW)),
        disputes=Count("pk", filter=Q(action=Action.DISPUTE)),
    )
    return worker_track_record(
        WorkerSignals(
            worker_id=worker_id,
            identity_verified=user["identity_verified_at"] is not None,
            contracts_completed=contracts["completed"],
            contracts_cancelled=contracts["cancelled"],
            milestones_delivered=milestones["delivered"],
            delivered_on_time=milestones["on_time"],
            revision_requests=events["revisions"],
            withdrawals=events["withdrawals"],
            disputes=events["disputes"],
            rating=rating_of(user_id=worker_id, role="worker"),
        )
    )
