"""Reviews (評価): one per party per ended contract, hidden until both are in or 14 days pass."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ishibashi.core import clock, limits


class ReviewRole(models.TextChoices):
    """The role of the person reviewed: a worker reviews the client, the client the worker."""

    CLIENT = "client", _("As a client (発注者として)")
    WORKER = "worker", _("As a worker (受注者として)")


class FactKind(models.TextChoices):
    """What the contract's events show about the client, computed, never typed by the reviewer."""

    AUTO_APPROVED = (
        "auto_approved",
        _("Approved automatically: no answer within the inspection period"),
    )  # ja: 検収期限内に応答がなく自動承認
    FUNDING_EXPIRED = (
        "funding_expired",
        _("Escrow was not funded by its deadline"),
    )  # ja: 仮払い期限内に仮払いがなく終了
    CLIENT_SILENT = (
        "client_silent",
        _("No reply from the client within the reply period"),
    )  # ja: 返信期限内に発注者の返信なし
    CANCELLED_AFTER_FUNDING = (
        "cancelled_after_funding",
        _("Cancelled by the client after escrow was funded"),
    )  # ja: 仮払い後に発注者がキャンセル


# One sub-score triple per role reviewed (product spec: a client is rated on communication,
# clarity of requests and speed of inspection and payment; a worker on quality, timeliness and
# communication). The order is the order of the form and of the profile.
SUB_SCORES: dict[str, tuple[str, ...]] = {
    ReviewRole.CLIENT: ("communication", "clarity", "payment_speed"),
    ReviewRole.WORKER: ("quality", "timeliness", "communication"),
}
SUB_SCORE_LABELS = {
    "communication": _("Communication"),  # ja: コミュニケーション
    "clarity": _("Clarity of requests"),  # ja: 依頼内容の明確さ
    "payment_speed": _("Speed of inspection and payment"),  # ja: 検収・支払いの早さ
    "quality": _("Quality of work"),  # ja: 成果物の品質
    "timeliness": _("Timeliness"),  # ja: 納期の遵守
}
ALL_SUB_SCORES = ("communication", "clarity", "payment_speed", "quality", "timeliness")
# Shown on a client's review of a worker who had opened a dispute on the contract: the reader
# can weigh a low score written after the worker asked the operator for help.
AFTER_WORKER_DISPUTE = "after_worker_dispute"
AFTER_WORKER_DISPUTE_LABEL = _(
    "Posted after the worker opened a dispute"
)  # ja: ワーカーがトラブル相談を開始した後に投稿された評価


class ReviewWindow(models.Model):
    """A contract's 14 days for reviews, and the row every review writer of it locks.

    Created by the sweep that tells the parties a review is due (or by the first review, if
    that comes sooner). `closed_at` is the publication: set when the second review arrives or
    by the sweep once `closes_at` has passed, in the transaction that publishes the reviews.
    """

    contract = models.OneToOneField(
        "contracts.Contract", on_delete=models.PROTECT, related_name="review_window"
    )
    ended_at = models.DateTimeField()
    closes_at = models.DateTimeField()
    prompted_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes: ClassVar[list[models.Index]] = [
            # The publishing sweep reads only windows still open, by when they close.
            models.Index(
                fields=["closes_at"],
                condition=models.Q(closed_at__isnull=True),
                name="reviews_window_open",
            ),
            models.Index(
                fields=["ended_at"],
                condition=models.Q(prompted_at__isnull=True, closed_at__isnull=True),
                name="reviews_window_unprompted",
            ),
        ]

    def __str__(self) -> str:
        return f"review window of contract {self.contract_id}"


class Review(models.Model):
    """One party's review of the other. Never edited: not before publication (decision 0010),
    and never after; only the reviewee's reply is added, once."""

    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.PROTECT, related_name="reviews"
    )
    window = models.ForeignKey(ReviewWindow, on_delete=models.PROTECT, related_name="reviews")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reviewee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reviewee_role = models.CharField(max_length=8, choices=ReviewRole.choices)
    overall = models.PositiveSmallIntegerField()
    communication = models.PositiveSmallIntegerField()
    clarity = models.PositiveSmallIntegerField(null=True, blank=True)
    payment_speed = models.PositiveSmallIntegerField(null=True, blank=True)
    quality = models.PositiveSmallIntegerField(null=True, blank=True)
    timeliness = models.PositiveSmallIntegerField(null=True, blank=True)
    text = models.TextField(max_length=limits.REVIEW_TEXT_LENGTH_MAX)
    # [{"kind": FactKind, "count": n}], computed from the contract's events at submission: the
    # contract has ended, so its events no longer change and neither do these.
    facts = models.JSONField(default=list, blank=True)
    # A client's review of a worker who had opened a dispute on this contract.
    after_worker_dispute = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=clock.now)
    published_at = models.DateTimeField(null=True, blank=True)
    reply_text = models.TextField(max_length=limits.REVIEW_REPLY_LENGTH_MAX, blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            # Once per party per contract, whatever two requests racing each other do.
            models.UniqueConstraint(fields=["contract", "author"], name="reviews_once_per_party"),
            *(
                models.CheckConstraint(
                    condition=models.Q(**{f"{name}__gte": limits.REVIEW_SCORE_MIN})
                    & models.Q(**{f"{name}__lte": limits.REVIEW_SCORE_MAX}),
                    name=f"reviews_{name}_range",
                )
                for name in ("overall", *ALL_SUB_SCORES)
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(
                        reviewee_role=ReviewRole.CLIENT,
                        clarity__isnull=False,
                        payment_speed__isnull=False,
                        quality__isnull=True,
                        timeliness__isnull=True,
                    )
                    | models.Q(
                        reviewee_role=ReviewRole.WORKER,
                        clarity__isnull=True,
                        payment_speed__isnull=True,
                        quality__isnull=False,
                        timeliness__isnull=False,
                    )
                ),
                name="reviews_sub_scores_of_role",
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            # A profile's published reviews, newest first.
            models.Index(
                fields=["reviewee", "reviewee_role", "-published_at", "-id"],
                condition=models.Q(published_at__isnull=False),
                name="reviews_published_of_user",
            ),
        ]

    def __str__(self) -> str:
        return f"review {self.pk} of contract {self.contract_id}"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    @property
    def sub_scores(self) -> list[tuple[str, str, int]]:
        """(name, label, score) in the role's order."""
        return [
            (name, str(SUB_SCORE_LABELS[name]), getattr(self, name))
            for name in SUB_SCORES[self.reviewee_role]
        ]

    @property
    def label_rows(self) -> list[tuple[str, str]]:
        """(kind, label) of each label on the review."""
        if not self.after_worker_dispute:
            return []
        return [(AFTER_WORKER_DISPUTE, str(AFTER_WORKER_DISPUTE_LABEL))]

    @property
    def fact_rows(self) -> list[tuple[str, str, int]]:
        """(kind, label, count) of each fact stored on the review."""
        return [
            (fact["kind"], str(FactKind(fact["kind"]).label), int(fact["count"]))
            for fact in self.facts
        ]


class ReviewStats(models.Model):
    """A person's published reviews in one role, counted in the publication's transaction.

    O(1) to read (rating_summary); `review_stats_rebuild` recomputes them from the published
    reviews and must give the same numbers.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="review_stats"
    )
    role = models.CharField(max_length=8, choices=ReviewRole.choices)
    count = models.PositiveIntegerField(default=0)
    overall_total = models.PositiveIntegerField(default=0)
    communication_total = models.PositiveIntegerField(default=0)
    clarity_total = models.PositiveIntegerField(default=0)
    payment_speed_total = models.PositiveIntegerField(default=0)
    quality_total = models.PositiveIntegerField(default=0)
    timeliness_total = models.PositiveIntegerField(default=0)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["user", "role"], name="reviews_stats_per_role")
        ]

    def __str__(self) -> str:
        return f"review stats of {self.user_id} as {self.role}"
