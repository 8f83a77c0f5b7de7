"""Reliability API: a client's profile and a worker's track record, public like the pages."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja import Router, Schema

from ishibashi.core.schemas import ErrorOut
from ishibashi.reputation import rules, selectors

clients_router = Router(tags=["reputation"])
workers_router = Router(tags=["reputation"])

ERRORS = {404: ErrorOut}


class ReasonOut(Schema):
    code: str
    severity: str  # good | info | not_enough | caution | warning
    text: str
    help_url: str
    events: int | None = None
    trials: int | None = None
    prior_a: int | None = None
    prior_b: int | None = None
    smoothed_rate: float | None = None


class MedianOut(Schema):
    count: int
    bucket: int
    lower_seconds: int
    upper_seconds: int | None
    text: str


class RatingOut(Schema):
    count: int
    average: float | None
    text: str


class ClientSignalsOut(Schema):
    identity_verified: bool
    payment_verified: bool
    jobs_posted: int
    hires: int
    hire_rate: float | None
    jobs_closed_without_hire: int
    jobs_expired_without_hire: int
    consultations_sold: int
    consultations_unconverted: int
    contracts_completed: int
    contracts_cancelled: int
    contracts_ended: int
    auto_approvals: int
    legal_deadline_releases: int
    funding_requests_unanswered: int
    silences_during_work: int
    cancellations_after_funding: int
    disputes: int
    disputes_for_worker: int
    disputes_split: int
    disputes_for_client: int
    escrow_before_work_flags: int
    median_time_to_fund: MedianOut | None
    median_time_to_inspect: MedianOut | None
    median_reply_time: MedianOut | None
    rating: RatingOut


class SmoothingOut(Schema):
    contract_prior: list[int]
    job_prior: list[int]
    contract_caution: float
    contract_warning: float
    job_caution: float
    job_warning: float
    history_min: int
    client_reply_days: int


class ReliabilityOut(Schema):
    client_id: int
    level: str  # reliable | caution | warning | not_enough_history
    level_label: str
    reasons: list[ReasonOut]
    signals: ClientSignalsOut
    smoothing: SmoothingOut


class WorkerSignalsOut(Schema):
    identity_verified: bool
    contracts_completed: int
    contracts_cancelled: int
    milestones_delivered: int
    delivered_on_time: int
    on_time_rate: float | None
    revision_requests: int
    revisions_per_milestone: float | None
    withdrawals: int
    disputes: int
    rating: RatingOut


class TrackRecordOut(Schema):
    worker_id: int
    level: str
    level_label: str
    reasons: list[ReasonOut]
    signals: WorkerSignalsOut


def _reason(reason: rules.Reason) -> dict[str, Any]:
    out: dict[str, Any] = {
        "code": reason.code,
        "severity": reason.severity.name.lower(),
        "text": reason.text,
        "help_url": reason.help_url,
    }
    if reason.rate is not None:
        out.update(
            events=reason.rate.events,
            trials=reason.rate.trials,
            prior_a=reason.rate.prior_a,
            prior_b=reason.rate.prior_b,
            smoothed_rate=round(reason.rate.smoothed, 4),
        )
    return out


def _median(median: rules.Median | None) -> dict[str, Any] | None:
    if median is None:
        return None
    return {
        "count": median.count,
        "bucket": median.bucket,
        "lower_seconds": median.lower_seconds,
        "upper_seconds": median.upper_seconds,
        "text": rules.median_words(median),
    }


def _rating(rating: rules.RatingSummary | None) -> dict[str, Any]:
    return {
        "count": 0 if rating is None else rating.count,
        "average": None if rating is None else rating.average,
        "text": rules.rating_words(rating),
    }


@clients_router.get(
    "/{client_id}/reliability",
    response={200: ReliabilityOut, **ERRORS},
    summary="A client's reliability profile (発注者の安心度), public",
)
def client_reliability_endpoint(request: HttpRequest, client_id: int) -> dict[str, Any]:
    profile = selectors.client_profile_get(client_id=client_id)
    s = profile.signals
    return {
        "client_id": client_id,
        "level": profile.level.code,
        "level_label": str(profile.level.label),
        "reasons": [_reason(r) for r in profile.reasons],
        "signals": {
            "identity_verified": s.identity_verified,
            "payment_verified": s.payment_verified,
            "jobs_posted": s.jobs_posted,
            "hires": s.hires,
            "hire_rate": s.hire_rate,
            "jobs_closed_without_hire": s.jobs_closed_without_hire,
            "jobs_expired_without_hire": s.jobs_expired_without_hire,
            "consultations_sold": s.consultations_sold,
            "consultations_unconverted": s.consultations_unconverted,
            "contracts_completed": s.contracts_completed,
            "contracts_cancelled": s.contracts_cancelled,
            "contracts_ended": s.contracts_ended,
            "auto_approvals": s.auto_approvals,
            "legal_deadline_releases": s.legal_deadline_releases,
            "funding_requests_unanswered": s.funding_requests_unanswered,
            "silences_during_work": s.silences_during_work,
            "cancellations_after_funding": s.cancellations_after_funding,
            "disputes": s.disputes,
            "disputes_for_worker": s.disputes_for_worker,
            "disputes_split": s.disputes_split,
            "disputes_for_client": s.disputes_for_client,
            "escrow_before_work_flags": s.escrow_before_work_flags,
            "median_time_to_fund": _median(s.median_fund),
            "median_time_to_inspect": _median(s.median_inspect),
            "median_reply_time": _median(s.median_reply),
            "rating": _rating(s.rating),
        },
        "smoothing": {
            "contract_prior": list(rules.CONTRACT_PRIOR),
            "job_prior": list(rules.JOB_PRIOR),
            "contract_caution": rules.CONTRACT_CAUTION,
            "contract_warning": rules.CONTRACT_WARNING,
            "job_caution": rules.JOB_CAUTION,
            "job_warning": rules.JOB_WARNING,
            "history_min": rules.HISTORY_MIN,
            "client_reply_days": settings.CLIENT_REPLY_DAYS,
        },
    }


@workers_router.get(
    "/{worker_id}/track-record",
    response={200: TrackRecordOut, **ERRORS},
    summary="A worker's track record (実績), public",
)
def worker_track_record_endpoint(request: HttpRequest, worker_id: int) -> dict[str, Any]:
    record = selectors.worker_track_record_get(worker_id=worker_id)
    s = record.signals
    return {
        "worker_id": worker_id,
        "level": record.level.code,
        "level_label": str(record.level.label),
        "reasons": [_reason(r) for r in record.reasons],
        "signals": {
            "identity_verified": s.identity_verified,
            "contracts_completed": s.contracts_completed,
            "contracts_cancelled": s.contracts_cancelled,
            "milestones_delivered": s.milestones_delivered,
            "delivered_on_time": s.delivered_on_time,
            "on_time_rate": s.on_time_rate,
            "revision_requests": s.revision_requests,
            "revisions_per_milestone": s.revisions_per_milestone,
            "withdrawals": s.withdrawals,
            "disputes": s.disputes,
            "rating": _rating(s.rating),
        },
    }
