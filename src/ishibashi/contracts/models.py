"""Contracts: parties, the agreed terms in versions, milestones, and a hash-chained event log."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from ishibashi.core import clock, limits
from ishibashi.jobs.models import ContractType, MilestoneKind


class ContractState(models.TextChoices):
    ACTIVE = "active", _("Active")  # ja: 契約中
    COMPLETED = "completed", _("Completed")  # ja: 完了
    CANCELLED = "cancelled", _("Cancelled")  # ja: キャンセル
    IN_DISPUTE = "in_dispute", _("In dispute")  # ja: トラブル対応中


class Contract(models.Model):
    job = models.ForeignKey("jobs.Job", on_delete=models.PROTECT, related_name="contracts")
    proposal = models.OneToOneField(
        "jobs.Proposal", on_delete=models.PROTECT, related_name="contract"
    )
    client = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="contracts_as_client"
    )
    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="contracts_as_worker"
    )
    title = models.CharField(max_length=limits.JOB_TITLE_LENGTH_MAX)
    contract_type = models.CharField(max_length=16, choices=ContractType.choices)
    is_consultation = models.BooleanField(default=False)
    state = models.CharField(
        max_length=16, choices=ContractState.choices, default=ContractState.ACTIVE
    )
    terms_version = models.PositiveIntegerField(default=1)
    # Snapshotted at hire (issue #3): later changes to the settings never touch a signed contract.
    fee_rate_bps = models.PositiveIntegerField()
    withholding_applies = models.BooleanField()
    inspection_days = models.PositiveSmallIntegerField()
    revision_rounds = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            # A job is hired once; paid consultations on the same job are separate contracts.
            models.UniqueConstraint(
                fields=["job"],
                condition=models.Q(is_consultation=False),
                name="contracts_one_hire_per_job",
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["client", "-created_at"], name="contracts_client"),
            models.Index(fields=["worker", "-created_at"], name="contracts_worker"),
        ]

    def __str__(self) -> str:
        return f"contract {self.pk} {self.title}"

    def is_party(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in (self.client_id, self.worker_id)


class ContractTerms(models.Model):
    """One agreed version of the terms; version 1 is the hire. Never updated.

    `snapshot` holds everything the Freelance Act art. 3 requires to be stated (law.md L-10),
    so the disclosure document can be produced from it alone; `snapshot_sha256` proves it
    was not altered afterwards.
    """

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="terms")
    version = models.PositiveIntegerField()
    snapshot = models.JSONField()
    snapshot_sha256 = models.CharField(max_length=64)
    agreed_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["contract", "version"], name="contracts_terms_version")
        ]

    def __str__(self) -> str:
        return f"terms v{self.version} of contract {self.contract_id}"


class MilestoneState(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("milestone state", "Not yet requested")  # ja: 未依頼
    AWAITING_FUNDING = (
        "awaiting_funding",
        pgettext_lazy("milestone state", "Awaiting escrow"),
    )  # ja: 仮払い待ち
    FUNDED = "funded", pgettext_lazy("milestone state", "Escrow funded")  # ja: 仮払い済み
    IN_PROGRESS = "in_progress", pgettext_lazy("milestone state", "In progress")  # ja: 作業中
    DELIVERED = "delivered", pgettext_lazy("milestone state", "Delivered")  # ja: 納品済み・検収待ち
    REVISION_REQUESTED = (
        "revision_requested",
        pgettext_lazy("milestone state", "Revision requested"),
    )  # ja: 修正依頼
    APPROVED = "approved", pgettext_lazy("milestone state", "Approved")  # ja: 検収完了
    RELEASED = "released", pgettext_lazy("milestone state", "Paid")  # ja: 支払い済み
    CANCELLED = "cancelled", pgettext_lazy("milestone state", "Cancelled")  # ja: キャンセル
    REFUNDED = "refunded", pgettext_lazy("milestone state", "Refunded")  # ja: 返金済み
    DISPUTED = "disputed", pgettext_lazy("milestone state", "In dispute")  # ja: トラブル対応中
    RESOLVED = "resolved", pgettext_lazy("milestone state", "Resolved")  # ja: 解決済み


class Milestone(models.Model):
    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="milestones")
    position = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=limits.MILESTONE_TITLE_LENGTH_MAX)
    kind = models.CharField(max_length=20, choices=MilestoneKind.choices)
    amount_jpy = models.BigIntegerField()
    due_on = models.DateField()
    state = models.CharField(
        max_length=24, choices=MilestoneState.choices, default=MilestoneState.DRAFT
    )
    # When the client was asked to fund it (the funding clock starts here).
    funding_requested_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ("position",)
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["contract", "position"], name="contracts_milestone_position"
            ),
            models.CheckConstraint(
                condition=models.Q(amount_jpy__gt=0), name="contracts_milestone_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"milestone {self.pk} ({self.state})"

    @property
    def escrow_reference(self) -> str:
        """The ledger's escrow account for this milestone (decision 0003)."""
        return f"milestone:{self.pk}"


class ContractEvent(models.Model):
    """Append-only history of a contract; each event carries the hash of the one before it."""

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="events")
    sequence = models.PositiveIntegerField()
    milestone = models.ForeignKey(
        Milestone, null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=40)
    from_state = models.CharField(max_length=24, blank=True)
    to_state = models.CharField(max_length=24, blank=True)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=clock.now)
    previous_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ("contract", "sequence")
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["contract", "sequence"], name="contracts_event_sequence"
            )
        ]

    def __str__(self) -> str:
        return f"event {self.sequence} of contract {self.contract_id}: {self.action}"
