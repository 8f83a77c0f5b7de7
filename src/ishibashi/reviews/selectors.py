"""Reads for reviews: nobody but its author ever sees a review before it is published."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from ishibashi.accounts.models import User
from ishibashi.contracts.models import Contract, ContractEvent, ContractState
from ishibashi.contracts.states import MILESTONE_HOLDS_ESCROW
from ishibashi.core import clock, limits
from ishibashi.core.errors import NotFound
from ishibashi.core.pagination import page_of
from ishibashi.reviews.models import (
    ALL_SUB_SCORES,
    SUB_SCORE_LABELS,
    SUB_SCORES,
    FactKind,
    Review,
    ReviewRole,
    ReviewStats,
    ReviewWindow,
)

# A contract has ended for reviews when it reached one of these; a dispute ends with the
# operator's ruling, after which the contract completes or is cancelled like any other.
ENDED_STATES = (ContractState.COMPLETED, ContractState.CANCELLED)


def _average(total: int, count: int) -> float | None:
    if not count:
        return None
    # Half up, as people round: 4.25 shows as 4.3, not the float's 4.2.
    return float((Decimal(total) / Decimal(count)).quantize(Decimal("0.1"), ROUND_HALF_UP))


@dataclass(frozen=True)
class RatingSummary:
    """A person's published reviews in one role: how many, the overall and sub-score averages.

    Averages are to one decimal and None while there is no review; a sub-score that is not
    asked of the role (say, `quality` of a client) is None too.
    """

    role: str
    count: int
    average: float | None
    communication: float | None = None
    clarity: float | None = None
    payment_speed: float | None = None
    quality: float | None = None
    timeliness: float | None = None

    @property
    def sub_scores(self) -> list[tuple[str, str, float | None]]:
        """(name, label, average) of the role's sub-scores, in the form's order."""
        return [
            (name, str(SUB_SCORE_LABELS[name]), getattr(self, name))
            for name in SUB_SCORES[self.role]
        ]


def rating_summary(user_id: int, role: str) -> RatingSummary:
    """The counters of `user_id`'s published reviews as `role` ("client" or "worker"); one query."""
    return rating_summaries([user_id], role)[user_id]


def rating_summaries(user_ids: list[int], role: str) -> dict[int, RatingSummary]:
    """`rating_summary` for many people in one query; everyone asked for has an entry."""
    role = ReviewRole(role)
    found = {
        stats.user_id: stats
        for stats in ReviewStats.objects.filter(user_id__in=user_ids, role=role)
    }
    return {user_id: _summary_of(found.get(user_id), role) for user_id in user_ids}


def _summary_of(stats: ReviewStats | None, role: ReviewRole) -> RatingSummary:
    if stats is None or not stats.count:
        return RatingSummary(role=role, count=0, average=None)
    averages = {
        name: _average(getattr(stats, f"{name}_total"), stats.count) for name in SUB_SCORES[role]
    }
    return RatingSummary(
        role=role,
        count=stats.count,
        average=_average(stats.overall_total, stats.count),
        **averages,
    )


def review_window_closes_at(contract: Contract) -> dt.datetime | None:
    """When the contract's 14 days for reviews end; None while it has not ended."""
    if contract.state not in ENDED_STATES or contract.ended_at is None:
        return None
    return contract.ended_at + limits.REVIEW_WINDOW


def reviewee_role_of(contract: Contract, author: User) -> ReviewRole | None:
    """The role of the person `author` reviews on this contract; None for a non-party."""
    if author.pk == contract.client_id:
        return ReviewRole.WORKER
    if author.pk == contract.worker_id:
        return ReviewRole.CLIENT
    return None


# --- facts and labels, from the contract's events ---------------------------------------------


def client_facts(*, contract: Contract) -> list[dict[str, Any]]:
    """What the contract's events show about its client, as [{"kind", "count"}].

    Counted from the hash-chained event log, so the reviewer cannot type, omit or soften them.
    A cancellation counts when the client made it while a milestone held escrow; a monthly
    contract ending at the end of its notice period (no actor) or a worker agreeing to end it
    early is not the client's cancellation after funding.
    """
    counts = dict.fromkeys(FactKind, 0)
    milestone_states: dict[int, str] = {}
    events = ContractEvent.objects.filter(contract=contract).order_by("sequence")
    for milestone_id, action, to_state, actor_id in events.values_list(
        "milestone_id", "action", "to_state", "actor_id"
    ):
        if action == "auto_approve":
            counts[FactKind.AUTO_APPROVED] += 1
        elif action == "expire_funding":
            counts[FactKind.FUNDING_EXPIRED] += 1
        elif action == "client_silence_expired":
            counts[FactKind.CLIENT_SILENT] += 1
        elif (
            action == "cancellation"
            and actor_id == contract.client_id
            and any(state in MILESTONE_HOLDS_ESCROW for state in milestone_states.values())
        ):
            counts[FactKind.CANCELLED_AFTER_FUNDING] += 1
        if milestone_id is not None and to_state:
            milestone_states[milestone_id] = to_state
    return [{"kind": kind.value, "count": count} for kind, count in counts.items() if count]


def worker_opened_dispute(*, contract: Contract) -> bool:
    """Whether the worker opened a dispute (トラブル) on this contract at any point."""
    return ContractEvent.objects.filter(
        contract=contract, action="dispute", payload__opened_by="worker"
    ).exists()


# --- what a viewer sees ---------------------------------------------------------------------


class Status:
    """A viewer's review status on a contract, as the page and the API name it."""

    NOT_ENDED = "not_ended"  # the contract is still running
    OPEN = "open"  # you may write yours now
    WAITING = "waiting"  # yours is in; it is published with the other's or at the deadline
    PUBLISHED = "published"  # the window closed; what was written is public
    CLOSED = "closed"  # the window closed without your review
    NOT_A_PARTY = "not_a_party"  # an operator: sees what is published, writes nothing


@dataclass(frozen=True)
class ContractReviews:
    contract: Contract
    status: str
    closes_at: dt.datetime | None
    mine: Review | None
    published: list[Review]
    reviewee_role: ReviewRole | None

    @property
    def can_review(self) -> bool:
        return self.status == Status.OPEN


def _reviews() -> QuerySet[Review]:
    return Review.objects.select_related("author", "reviewee")


def contract_reviews_for_viewer(*, viewer: User, contract_id: int) -> ContractReviews:
    """The viewer's own review (published or not) and the published ones, with the status.

    The parties and operators see the contract; only the author ever sees an unpublished
    review, and nothing here tells the other party whether one exists.
    """
    contract = Contract.objects.select_related("client", "worker").filter(pk=contract_id).first()
    if contract is None or not (contract.is_party(viewer.pk) or viewer.is_staff):
        raise NotFound(_("No such contract."))
    closes_at = review_window_closes_at(contract)
    role = reviewee_role_of(contract, viewer)
    if closes_at is None:
        # A running contract has no reviews: the contract page pays one query for this panel.
        status = Status.NOT_A_PARTY if role is None else Status.NOT_ENDED
        return ContractReviews(contract, status, None, None, [], role)
    window = ReviewWindow.objects.filter(contract=contract).first()
    visible = list(
        _reviews()
        .filter(contract=contract)
        .filter(Q(published_at__isnull=False) | Q(author=viewer))
        .order_by("id")
    )
    mine = next((r for r in visible if r.author_id == viewer.pk), None)
    published = [r for r in visible if r.published_at is not None]
    closed = window is not None and window.closed_at is not None
    if role is None:
        status = Status.NOT_A_PARTY
    elif mine is not None:
        status = Status.PUBLISHED if mine.published_at is not None else Status.WAITING
    elif closed or clock.now() >= closes_at:
        status = Status.CLOSED
    else:
        status = Status.OPEN
    return ContractReviews(
        contract=contract,
        status=status,
        closes_at=closes_at,
        mine=mine,
        published=published,
        reviewee_role=role,
    )


def reviews_published_for_user(
    *, user_id: int, page: int, role: str | None = None
) -> tuple[list[Review], bool]:
    """One page of the reviews published about `user_id`, newest first, and whether more follow."""
    rows = _reviews().filter(reviewee_id=user_id, published_at__isnull=False)
    if role:
        rows = rows.filter(reviewee_role=ReviewRole(role))
    return page_of(rows.order_by("-published_at", "-id"), page)


def reviews_newest_for_user(*, user_id: int) -> list[Review]:
    rows = _reviews().filter(reviewee_id=user_id, published_at__isnull=False)
    return list(rows.order_by("-published_at", "-id")[: limits.REVIEWS_ON_PROFILE])


@dataclass(frozen=True)
class ReviewPrompt:
    contract: Contract
    closes_at: dt.datetime


def review_prompts_for_user(*, user: User) -> list[ReviewPrompt]:
    """Ended contracts whose review by `user` is still due, the soonest deadline first."""
    now = clock.now()
    contracts = (
        Contract.objects.filter(Q(client=user) | Q(worker=user))
        .filter(
            state__in=ENDED_STATES,
            ended_at__isnull=False,
            ended_at__gt=now - limits.REVIEW_WINDOW,
        )
        .exclude(reviews__author=user)
        .exclude(review_window__closed_at__isnull=False)
        .order_by("ended_at", "pk")[: limits.REVIEW_PROMPTS_MAX]
    )
    return [
        ReviewPrompt(contract=c, closes_at=c.ended_at + limits.REVIEW_WINDOW)
        for c in contracts
        if c.ended_at is not None
    ]


def review_stats_expected() -> dict[tuple[int, str], dict[str, int]]:
    """The counters recomputed from the published reviews: {(user id, role): {field: value}}."""
    expected: dict[tuple[int, str], dict[str, int]] = {}
    rows = Review.objects.filter(published_at__isnull=False).values_list(
        "reviewee_id", "reviewee_role", "overall", *ALL_SUB_SCORES
    )
    for reviewee_id, role, overall, *subs in rows:
        totals = expected.setdefault((reviewee_id, role), _zero_totals())
        totals["count"] += 1
        totals["overall_total"] += overall
        for name, value in zip(ALL_SUB_SCORES, subs, strict=True):
            totals[f"{name}_total"] += value or 0
    return expected


def _zero_totals() -> dict[str, int]:
    return {"count": 0, "overall_total": 0, **{f"{n}_total": 0 for n in ALL_SUB_SCORES}}
