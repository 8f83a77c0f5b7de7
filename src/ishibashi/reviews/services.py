"""Review use cases: submit, publish (with the second review or by the sweep), reply, rebuild.

Every writer of a contract's reviews locks its ReviewWindow row first, so a second review, the
publishing sweep and a second copy of the same request queue on one row: the reviews are
published exactly once, in one transaction, with their counters.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef
from django.utils.translation import gettext_lazy as _

from ishibashi.accounts.models import User
from ishibashi.contracts.models import Contract
from ishibashi.core import clock, limits
from ishibashi.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from ishibashi.core.text import clean_text
from ishibashi.notifications.notices import notices_batched
from ishibashi.reviews import notices
from ishibashi.reviews.models import (
    ALL_SUB_SCORES,
    SUB_SCORES,
    Review,
    ReviewRole,
    ReviewStats,
    ReviewWindow,
)
from ishibashi.reviews.selectors import (
    ENDED_STATES,
    client_facts,
    review_stats_expected,
    reviewee_role_of,
    worker_opened_dispute,
)


@dataclass(frozen=True)
class ReviewInput:
    """What the reviewer chooses: the overall score, the text and the role's three sub-scores
    (communication, clarity, payment_speed of a client; quality, timeliness, communication of a
    worker). A sub-score the role does not have must be left out."""

    overall: object
    text: str
    communication: object = None
    clarity: object = None
    payment_speed: object = None
    quality: object = None
    timeliness: object = None


def _score(value: object, *, field: str) -> int:
    # A JSON true is not 1 and "5" is not 5: only a whole number from 1 to 5 is a score.
    if type(value) is not int or not (limits.REVIEW_SCORE_MIN <= value <= limits.REVIEW_SCORE_MAX):
        raise InvalidInput(
            _("Choose a score from %(min)d to %(max)d.")
            % {"min": limits.REVIEW_SCORE_MIN, "max": limits.REVIEW_SCORE_MAX},
            field=field,
        )
    return value


def _clean(data: ReviewInput, role: ReviewRole) -> dict[str, object]:
    fields: dict[str, object] = {"overall": _score(data.overall, field="overall")}
    for name in ALL_SUB_SCORES:
        value = getattr(data, name)
        if name in SUB_SCORES[role]:
            fields[name] = _score(value, field=name)
        elif value is not None:
            raise InvalidInput(_("This score is not asked in this review."), field=name)
    text = clean_text(
        data.text, field="text", multiline=True, length_max=limits.REVIEW_TEXT_LENGTH_MAX
    )
    if len(text) < limits.REVIEW_TEXT_LENGTH_MIN:
        raise InvalidInput(
            _("Write at least %(min)d characters.") % {"min": limits.REVIEW_TEXT_LENGTH_MIN},
            field="text",
        )
    fields["text"] = text
    return fields


def _window_lock(contract: Contract) -> ReviewWindow:
    """The contract's review window, made if missing, locked (every review writer's first lock)."""
    assert contract.ended_at is not None
    # ignore_conflicts: two first reviews at once both insert; one row stays, neither fails.
    ReviewWindow.objects.bulk_create(
        [
            ReviewWindow(
                contract=contract,
                ended_at=contract.ended_at,
                closes_at=contract.ended_at + limits.REVIEW_WINDOW,
            )
        ],
        ignore_conflicts=True,
    )
    return ReviewWindow.objects.select_for_update().get(contract=contract)


def review_submit(*, author: User, contract_id: int, data: ReviewInput) -> Review:
    """評価: a party reviews the other once, within 14 days of the contract's end.

    The review stays visible to its author alone. When the other party's review is already in,
    both are published now, in this transaction; otherwise the sweep publishes it when the 14
    days are over. A review of a client carries the facts of the contract's events; a client's
    review of a worker who had opened a dispute is labelled so.
    """
    with transaction.atomic(), notices_batched():
        now = clock.now()
        contract = (
            Contract.objects.select_related("client", "worker").filter(pk=contract_id).first()
        )
        if contract is None or not (contract.is_party(author.pk) or author.is_staff):
            raise NotFound(_("No such contract."))
        role = reviewee_role_of(contract, author)
        if role is None:
            raise Forbidden(
                _("Only the two parties of a contract review each other."), code="not_a_party"
            )
        fields = _clean(data, role)
        if contract.state not in ENDED_STATES or contract.ended_at is None:
            raise Conflict(
                _("You can review once the contract has ended."), code="contract_not_ended"
            )
        window = _window_lock(contract)
        if Review.objects.filter(window=window, author=author).exists():
            raise Conflict(_("You have already reviewed this contract."), code="already_reviewed")
        if window.closed_at is not None or now >= window.closes_at:
            raise Conflict(
                _("The 14 days for reviews of this contract are over."),
                code="review_window_closed",
            )
        try:
            with transaction.atomic():
                review = Review.objects.create(
                    contract=contract,
                    window=window,
                    author=author,
                    reviewee_id=contract.worker_id
                    if role is ReviewRole.WORKER
                    else contract.client_id,
                    reviewee_role=role,
                    facts=client_facts(contract=contract) if role is ReviewRole.CLIENT else [],
                    after_worker_dispute=role is ReviewRole.WORKER
                    and worker_opened_dispute(contract=contract),
                    created_at=now,
                    **fields,
                )
        except IntegrityError:
            # The window's lock makes this unreachable; the constraint is the backstop, and a
            # refusal in words beats a server error.
            raise Conflict(
                _("You have already reviewed this contract."), code="already_reviewed"
            ) from None
        if Review.objects.filter(window=window).exclude(pk=review.pk).exists():
            _windows_publish([window], now=now)
            review.published_at = now
        return review


def _windows_publish(windows: list[ReviewWindow], *, now: dt.datetime) -> None:
    """Close the (locked) windows and publish every review in them, with the counters and the
    notices, in the caller's transaction."""
    window_ids = [w.pk for w in windows]
    reviews = list(
        Review.objects.filter(window_id__in=window_ids, published_at__isnull=True).order_by("pk")
    )
    ReviewWindow.objects.filter(pk__in=window_ids).update(closed_at=now)
    for window in windows:
        window.closed_at = now
    if not reviews:
        return
    Review.objects.filter(pk__in=[r.pk for r in reviews]).update(published_at=now)
    _stats_add(reviews)
    told = {r.contract_id for r in reviews}
    for contract in Contract.objects.filter(pk__in=told).select_related("client", "worker"):
        notices.reviews_published(contract=contract)


def _stats_add(reviews: list[Review]) -> None:
    """Add the reviews to their reviewees' counters, in (user, role) order: two publishers
    sharing people lock the rows in the same order and never wait on each other in a circle."""
    deltas: dict[tuple[int, str], Counter[str]] = {}
    for review in reviews:
        delta = deltas.setdefault((review.reviewee_id, review.reviewee_role), Counter())
        delta["count"] += 1
        delta["overall_total"] += review.overall
        for name in SUB_SCORES[review.reviewee_role]:
            delta[f"{name}_total"] += getattr(review, name)
    ReviewStats.objects.bulk_create(
        [ReviewStats(user_id=user_id, role=role) for user_id, role in sorted(deltas)],
        ignore_conflicts=True,
    )
    for (user_id, role), delta in sorted(deltas.items()):
        ReviewStats.objects.filter(user_id=user_id, role=role).update(
            **{name: F(name) + value for name, value in delta.items()}
        )


def reviews_publish_due(*, batch: int = limits.SWEEP_BATCH_MAX) -> int:
    """Sweep: windows whose 14 days are over close, and their lone reviews are published.

    The due windows are claimed with FOR UPDATE SKIP LOCKED on PostgreSQL, so many sweepers take
    disjoint batches, and a window a submitter holds is left for the next round. A closed window
    is never due again: a replay, a second sweeper or a crash after the commit publishes
    nothing twice. Returns how many windows it closed.
    """
    now = clock.now()
    with transaction.atomic(), notices_batched():
        windows = list(
            ReviewWindow.objects.select_for_update(skip_locked=True)
            .filter(closed_at__isnull=True, closes_at__lte=now)
            .order_by("closes_at", "pk")[:batch]
        )
        if windows:
            _windows_publish(windows, now=now)
        return len(windows)


def reviews_prompt_due(*, batch: int = limits.SWEEP_BATCH_MAX) -> int:
    """Sweep: open the review window of each newly ended contract and tell both parties.

    A party who has already written their review (possible when the first review came before
    this sweep) is not asked again. Returns how many windows it prompted.
    """
    now = clock.now()
    with transaction.atomic(), notices_batched():
        unopened = (
            Contract.objects.filter(
                state__in=ENDED_STATES,
                ended_at__isnull=False,
                ended_at__gt=now - limits.REVIEW_WINDOW,
                ended_at__lte=now,
            )
            .filter(~Exists(ReviewWindow.objects.filter(contract=OuterRef("pk"))))
            .order_by("ended_at")
            .values_list("pk", "ended_at")[:batch]
        )
        ReviewWindow.objects.bulk_create(
            [
                ReviewWindow(contract_id=pk, ended_at=ended, closes_at=ended + limits.REVIEW_WINDOW)
                for pk, ended in unopened
                if ended is not None
            ],
            ignore_conflicts=True,
        )
        windows = list(
            ReviewWindow.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(prompted_at__isnull=True, closed_at__isnull=True)
            .select_related("contract__client", "contract__worker")
            .order_by("ended_at", "pk")[:batch]
        )
        if not windows:
            return 0
        ReviewWindow.objects.filter(pk__in=[w.pk for w in windows]).update(prompted_at=now)
        written = set(
            Review.objects.filter(window__in=windows).values_list("window_id", "author_id")
        )
        for window in windows:
            contract = window.contract
            for party in (contract.client, contract.worker):
                if (window.pk, party.pk) not in written and now < window.closes_at:
                    notices.review_due(contract=contract, user=party, closes_at=window.closes_at)
        return len(windows)


def review_reply(*, reviewee: User, review_id: int, text: str) -> Review:
    """The reviewed person answers a published review once; the answer is never edited."""
    text = clean_text(text, field="text", multiline=True, length_max=limits.REVIEW_REPLY_LENGTH_MAX)
    with transaction.atomic():
        review = Review.objects.select_for_update().filter(pk=review_id).first()
        # An unpublished review does not exist for anyone but its author, who cannot reply.
        if review is None or review.published_at is None:
            raise NotFound(_("No such review."))
        if review.reviewee_id != reviewee.pk:
            raise Forbidden(
                _("Only the person reviewed can reply to a review."), code="not_your_review"
            )
        if review.replied_at is not None:
            raise Conflict(_("You have already replied to this review."), code="already_replied")
        review.reply_text = text
        review.replied_at = clock.now()
        review.save(update_fields=["reply_text", "replied_at"])
        return review


@dataclass(frozen=True)
class StatsMismatch:
    user_id: int
    role: str
    field: str
    stored: int
    expected: int


def review_stats_rebuild(*, fix: bool = False) -> list[StatsMismatch]:
    """Recompute every counter from the published reviews; the differences found (none when the
    counters hold). With `fix`, the counters are set to the recomputed values."""
    with transaction.atomic():
        expected = review_stats_expected()
        rows = ReviewStats.objects.select_for_update().order_by("user_id", "role")
        stored = {(row.user_id, row.role): row for row in rows}
        mismatches: list[StatsMismatch] = []
        for key in sorted(set(expected) | set(stored)):
            want = expected.get(key) or dict.fromkeys(
                ("count", "overall_total", *(f"{n}_total" for n in ALL_SUB_SCORES)), 0
            )
            row = stored.get(key)
            for name, value in want.items():
                have = getattr(row, name) if row is not None else 0
                if have != value:
                    mismatches.append(StatsMismatch(key[0], key[1], name, have, value))
            if fix and row is None:
                ReviewStats.objects.create(user_id=key[0], role=key[1], **want)
            elif fix and row is not None:
                ReviewStats.objects.filter(pk=row.pk).update(**want)
        return mismatches
