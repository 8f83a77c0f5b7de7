"""How a client's signals become smoothed rates, reasons in words and one level (no database).

Every rate of bad events is the mean of a Beta posterior: with `k` events in `n` trials and a
Beta(a, b) prior, the smoothed rate is (k + a) / (n + a + b). A small history is pulled towards
the prior's mean, so one bad contract out of two does not read as 50 %, and none out of two not
as 0 %. The level is the worst severity among the reasons; each reason names its numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from django.conf import settings
from django.utils.translation import gettext as _

from ishibashi.contracts import timing

# Bad events per ended contract: Beta(1, 9), a prior mean of 10 %.
CONTRACT_PRIOR = (1, 9)
# Jobs ended without a hire per ended job: Beta(1, 3), a prior mean of 25 %.
JOB_PRIOR = (1, 3)
# Late deliveries per delivered milestone (workers): Beta(1, 9).
DELIVERY_PRIOR = (1, 9)
# Thresholds on the smoothed rate: at or above CAUTION is 注意, at or above WARNING is 要注意.
CONTRACT_CAUTION, CONTRACT_WARNING = 0.10, 0.16
JOB_CAUTION, JOB_WARNING = 0.40, 0.60
DELIVERY_CAUTION, DELIVERY_WARNING = 0.20, 0.35
# Fewer ended contracts than this: 実績不足, never 安心.
HISTORY_MIN = 3

HELP_PATH = "/help/reliability/"


class Severity(IntEnum):
    """Ordered: the level is the highest severity among the reasons."""

    GOOD = 0
    INFO = 1
    NOT_ENOUGH = 2
    CAUTION = 3
    WARNING = 4


class Level(IntEnum):
    RELIABLE = 0
    NOT_ENOUGH = 2
    CAUTION = 3
    WARNING = 4

    @property
    def code(self) -> str:
        return {0: "reliable", 2: "not_enough_history", 3: "caution", 4: "warning"}[self.value]

    @property
    def label(self) -> str:
        return {
            0: _("Reliable"),
            2: _("Not enough history"),
            3: _("Caution"),
            4: _("Warning"),
        }[self.value]


@dataclass(frozen=True)
class RatingSummary:
    """What reviews.selectors.rating_summary(user_id, role) gives (wired in at merge)."""

    count: int
    average: float | None


@dataclass(frozen=True)
class Median:
    """A median read from the log-scale buckets: it lies in [lower, upper)."""

    count: int
    bucket: int
    lower_seconds: int
    upper_seconds: int | None


@dataclass(frozen=True)
class Rate:
    events: int
    trials: int
    prior_a: int
    prior_b: int

    @property
    def smoothed(self) -> float:
        # The events are counted per milestone; a rate per contract cannot pass 100 %.
        k = min(self.events, self.trials)
        return (k + self.prior_a) / (self.trials + self.prior_a + self.prior_b)


@dataclass(frozen=True)
class Reason:
    code: str
    severity: Severity
    text: str
    anchor: str
    rate: Rate | None = None

    @property
    def help_url(self) -> str:
        return f"{HELP_PATH}#{self.anchor}"


@dataclass(frozen=True)
class ClientSignals:
    client_id: int
    identity_verified: bool
    payment_verified: bool
    jobs_posted: int
    hires: int
    jobs_closed_without_hire: int
    jobs_expired_without_hire: int
    consultations_sold: int
    consultations_unconverted: int
    contracts_completed: int
    contracts_cancelled: int
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
    median_fund: Median | None
    median_inspect: Median | None
    median_reply: Median | None
    rating: RatingSummary | None = None

    @property
    def contracts_ended(self) -> int:
        return self.contracts_completed + self.contracts_cancelled

    @property
    def jobs_ended(self) -> int:
        return self.hires + self.jobs_closed_without_hire + self.jobs_expired_without_hire

    @property
    def hire_rate(self) -> float | None:
        return self.hires / self.jobs_ended if self.jobs_ended else None


@dataclass(frozen=True)
class Profile:
    signals: ClientSignals
    level: Level
    reasons: list[Reason] = field(default_factory=list)

    @property
    def top_reason(self) -> Reason | None:
        return self.reasons[0] if self.reasons else None


def median_of(counts: list[int]) -> Median | None:
    """The median of a histogram of timing.BUCKETS counters (None: no observation)."""
    total = sum(counts)
    if total == 0:
        return None
    edges = timing.bucket_edges()
    middle = (total + 1) // 2  # the lower median when the count is even
    seen = 0
    for bucket, count in enumerate(counts):
        seen += count
        if seen >= middle:
            upper = edges[bucket + 1] if bucket + 1 < len(edges) else None
            return Median(total, bucket, edges[bucket], upper)
    raise AssertionError("unreachable: the counts sum to total")


def duration_words(seconds: int) -> str:
    if seconds < 3600:
        return _("%(n)s minutes") % {"n": seconds // 60}
    if seconds < 48 * 3600:
        return _("%(n)s hours") % {"n": seconds // 3600}
    return _("%(n)s days") % {"n": seconds // 86400}


def median_words(median: Median | None) -> str:
    if median is None:
        return _("No data yet")
    if median.upper_seconds is None:
        return _("%(low)s or more") % {"low": duration_words(median.lower_seconds)}
    if median.lower_seconds == 0:
        return _("under %(high)s") % {"high": duration_words(median.upper_seconds)}
    return _("%(low)s to %(high)s") % {
        "low": duration_words(median.lower_seconds),
        "high": duration_words(median.upper_seconds),
    }


def rating_words(rating: RatingSummary | None) -> str:
    if rating is None or rating.count == 0 or rating.average is None:
        return _("No ratings yet")
    return _("Average rating %(average).1f (%(count)s ratings)") % {
        "average": rating.average,
        "count": rating.count,
    }


def _severity(rate: Rate, caution: float, warning: float) -> Severity:
    if rate.events == 0:
        return Severity.GOOD
    if rate.smoothed >= warning:
        return Severity.WARNING
    if rate.smoothed >= caution:
        return Severity.CAUTION
    return Severity.INFO


def _contract_reasons(s: ClientSignals) -> list[Reason]:
    n = s.contracts_ended
    numbers = {"n": n}
    table = [
        (
            "auto_approvals",
            s.auto_approvals,
            "auto-approvals",
            _("In %(k)s of %(n)s past contracts the client did not inspect the delivery and it "
              "was approved automatically."),
        ),
        (
            "legal_deadline_releases",
            s.legal_deadline_releases,
            "legal-releases",
            _("In %(k)s of %(n)s past contracts the pay was released only by the legal "
              "60-day deadline."),
        ),
        (
            "funding_requests_unanswered",
            s.funding_requests_unanswered,
            "unanswered-funding",
            _("In %(k)s of %(n)s past contracts the client let an escrow request expire "
              "unanswered."),
        ),
        (
            "silences_during_work",
            s.silences_during_work,
            "silence",
            _("In %(k)s of %(n)s past contracts the client did not reply to the worker for "
              "%(days)s days during the work."),
        ),
        (
            "cancellations_after_funding",
            s.cancellations_after_funding,
            "cancellations",
            _("In %(k)s of %(n)s past contracts the client cancelled after paying into escrow."),
        ),
        (
            "disputes_worker_paid",
            s.disputes_for_worker + s.disputes_split,
            "disputes",
            _("In %(k)s of %(n)s past contracts a dispute ended with the operator paying the "
              "worker in full or in part."),
        ),
        (
            "escrow_before_work_flags",
            s.escrow_before_work_flags,
            "flags",
            _("In %(k)s of %(n)s past contracts a worker reported being asked to start before "
              "escrow."),
        ),
    ]  # fmt: skip
    reasons = []
    for code, k, anchor, sentence in table:
        if k == 0:
            continue
        rate = Rate(k, n, *CONTRACT_PRIOR)
        severity = _severity(rate, CONTRACT_CAUTION, CONTRACT_WARNING)
        text = sentence % {**numbers, "k": k, "days": settings.CLIENT_REPLY_DAYS}
        reasons.append(Reason(code, severity, text, anchor, rate))
    if s.disputes and not (s.disputes_for_worker + s.disputes_split):
        reasons.append(
            Reason(
                "disputes",
                Severity.INFO,
                _("%(k)s disputes; none ended with the worker being paid.") % {"k": s.disputes},
                "disputes",
            )
        )
    return reasons


def _job_reasons(s: ClientSignals) -> list[Reason]:
    reasons = []
    unhired = s.jobs_closed_without_hire + s.jobs_expired_without_hire
    if unhired:
        rate = Rate(unhired, s.jobs_ended, *JOB_PRIOR)
        reasons.append(
            Reason(
                "jobs_without_hire",
                _severity(rate, JOB_CAUTION, JOB_WARNING),
                _("%(k)s of %(n)s jobs that ended closed or expired without hiring anyone.")
                % {"k": unhired, "n": s.jobs_ended},
                "no-hire",
                rate,
            )
        )
    if s.consultations_unconverted:
        reasons.append(
            Reason(
                "consultations_unconverted",
                Severity.INFO,
                _("%(k)s paid consultations did not lead to a contract.")
                % {"k": s.consultations_unconverted},
                "consultations",
            )
        )
    return reasons


def _standing_reasons(s: ClientSignals) -> list[Reason]:
    return [
        Reason("identity_verified", Severity.GOOD, _("Identity verified."), "identity")
        if s.identity_verified
        else Reason("identity_unverified", Severity.INFO, _("Identity not verified."), "identity"),
        Reason(
            "payment_verified",
            Severity.GOOD,
            _("Payment verified: the client has paid into escrow before."),
            "payment",
        )
        if s.payment_verified
        else Reason(
            "payment_unverified",
            Severity.INFO,
            _("The client has not paid into escrow yet."),
            "payment",
        ),
    ]


def client_profile(signals: ClientSignals) -> Profile:
    """The level and its reasons, the worst first; the level is the worst reason's."""
    reasons = _contract_reasons(signals) + _job_reasons(signals)
    n = signals.contracts_ended
    if n < HISTORY_MIN:
        reasons.append(
            Reason(
                "not_enough_history",
                Severity.NOT_ENOUGH,
                _("Only %(n)s contracts have ended: not enough history to judge.") % {"n": n},
                "history",
            )
        )
    worst = max((r.severity for r in reasons), default=Severity.GOOD)
    if worst >= Severity.NOT_ENOUGH:
        level = Level(worst)
    else:
        level = Level.RELIABLE
        reasons.append(
            Reason(
                "no_warning_signs",
                Severity.GOOD,
                _("No warning signs in %(n)s ended contracts.") % {"n": n},
                "level",
            )
        )
    reasons += _standing_reasons(signals)
    # Worst first; among equals the higher smoothed rate first.
    reasons.sort(key=lambda r: (-r.severity, -(r.rate.smoothed if r.rate else 0.0)))
    return Profile(signals=signals, level=level, reasons=reasons)


# --- workers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkerSignals:
    worker_id: int
    identity_verified: bool
    contracts_completed: int
    contracts_cancelled: int
    milestones_delivered: int
    delivered_on_time: int
    revision_requests: int
    withdrawals: int
    disputes: int
    rating: RatingSummary | None = None

    @property
    def on_time_rate(self) -> float | None:
        if not self.milestones_delivered:
            return None
        return self.delivered_on_time / self.milestones_delivered

    @property
    def revisions_per_milestone(self) -> float | None:
        if not self.milestones_delivered:
            return None
        return self.revision_requests / self.milestones_delivered


@dataclass(frozen=True)
class TrackRecord:
    signals: WorkerSignals
    level: Level
    reasons: list[Reason]


def worker_track_record(s: WorkerSignals) -> TrackRecord:
    reasons: list[Reason] = []
    if s.milestones_delivered:
        late = s.milestones_delivered - s.delivered_on_time
        rate = Rate(late, s.milestones_delivered, *DELIVERY_PRIOR)
        severity = _severity(rate, DELIVERY_CAUTION, DELIVERY_WARNING)
        reasons.append(
            Reason(
                "on_time",
                max(severity, Severity.INFO) if late else Severity.GOOD,
                _("%(k)s of %(n)s delivered milestones were delivered by their due date.")
                % {"k": s.delivered_on_time, "n": s.milestones_delivered},
                "worker",
                rate,
            )
        )
        reasons.append(
            Reason(
                "revisions",
                Severity.INFO,
                _("%(r)s revision requests over %(n)s delivered milestones.")
                % {"r": s.revision_requests, "n": s.milestones_delivered},
                "worker",
            )
        )
    if s.withdrawals:
        reasons.append(
            Reason(
                "withdrawals",
                Severity.CAUTION if s.withdrawals * 5 >= max(1, s.contracts_completed) else
                Severity.INFO,
                _("Gave up started work %(k)s times.") % {"k": s.withdrawals},
                "worker",
            )
        )  # fmt: skip
    if s.disputes:
        reasons.append(
            Reason(
                "disputes",
                Severity.INFO,
                _("%(k)s disputes on their contracts.") % {"k": s.disputes},
                "worker",
            )
        )
    if s.contracts_completed < HISTORY_MIN:
        reasons.append(
            Reason(
                "not_enough_history",
                Severity.NOT_ENOUGH,
                _("Only %(n)s contracts completed: not enough history to judge.")
                % {"n": s.contracts_completed},
                "worker",
            )
        )
    else:
        reasons.append(
            Reason(
                "completed",
                Severity.GOOD,
                _("%(n)s contracts completed.") % {"n": s.contracts_completed},
                "worker",
            )
        )
    worst = max((r.severity for r in reasons), default=Severity.GOOD)
    level = Level(worst) if worst >= Severity.NOT_ENOUGH else Level.RELIABLE
    reasons.sort(key=lambda r: -r.severity)
    return TrackRecord(signals=s, level=level, reasons=reasons)
