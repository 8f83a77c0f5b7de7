"""Contracts: parties, the agreed terms in versions, milestones, and a hash-chained event log."""

from __future__ import annotations

import uuid
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
    # キャンセル料: the share of a started milestone paid to the worker when the client cancels.
    kill_fee_percent = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=clock.now)
    # Monthly retainers: each month's milestone is created and its funding requested ahead of
    # the month; the client's termination takes effect 30 days after notice (law.md L-41).
    period_amount_jpy = models.BigIntegerField(null=True, blank=True)
    next_period_starts_on = models.DateField(null=True, blank=True)
    termination_requested_at = models.DateTimeField(null=True, blank=True)
    termination_effective_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

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
            # The monthly sweeps read only contracts with a date set.
            models.Index(
                fields=["next_period_starts_on"],
                condition=models.Q(next_period_starts_on__isnull=False),
                name="contracts_next_period",
            ),
            models.Index(
                fields=["termination_effective_at"],
                condition=models.Q(termination_effective_at__isnull=False),
                name="contracts_termination_due",
            ),
            # Apps above read contracts by when they ended (the reviews' prompt sweep).
            models.Index(
                fields=["ended_at"],
                condition=models.Q(ended_at__isnull=False),
                name="contracts_ended",
            ),
        ]

    def __str__(self) -> str:
        return f"contract {self.pk} {self.title}"

    @property
    def is_monthly(self) -> bool:
        return self.contract_type == ContractType.MONTHLY

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


class ClockKind(models.TextChoices):
    FUNDING = "funding", _("Escrow (仮払い) deadline")  # ja: 仮払い期限
    INSPECTION = "inspection", _("Inspection (検収) deadline")  # ja: 検収期限
    CLIENT_REPLY = "client_reply", _("Reply deadline")  # ja: 返信期限
    CANCELLATION_ANSWER = (
        "cancellation_answer",
        _("Answer to the cancellation"),
    )  # ja: キャンセルへの回答期限


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
    # Milestones added by a change request carry the terms version that added them.
    added_in_terms_version = models.PositiveIntegerField(default=1)

    funded_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # 受領日 (law.md L-22): the first delivery fixes the legal payment deadline for good.
    first_delivered_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    revisions_used = models.PositiveSmallIntegerField(default=0)
    # Freelance Act art. 4: released by the start of day 60 after the first delivery (L-20, L-26).
    legal_release_due_at = models.DateTimeField(null=True, blank=True)
    # A client's cancellation of started work waits for the worker's answer (or its deadline).
    cancellation_requested_at = models.DateTimeField(null=True, blank=True)
    # The client's reply clock ran out while the work was in progress: the worker may now
    # deliver the work so far or cancel with the kill fee.
    client_silence_expired_at = models.DateTimeField(null=True, blank=True)
    # Only an operator freezes a dispute; until then the legal deadline still releases.
    dispute_frozen = models.BooleanField(default=False)
    # The clock that is running on somebody's wait (see contracts.clocks), with its reminders.
    clock = models.CharField(max_length=24, choices=ClockKind.choices, blank=True)
    clock_started_at = models.DateTimeField(null=True, blank=True)
    clock_deadline_at = models.DateTimeField(null=True, blank=True)
    reminders_sent = models.PositiveSmallIntegerField(default=0)
    # The next moment the sweeper must look at this milestone: a reminder, a deadline or the
    # legal release. One indexed column keeps a sweep's cost proportional to what is due.
    action_due_at = models.DateTimeField(null=True, blank=True)
    # A sweeper's claim on a batch; an expired lease (a crashed worker) is claimed again.
    sweep_lease_until = models.DateTimeField(null=True, blank=True)

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
        indexes: ClassVar[list[models.Index]] = [
            models.Index(
                fields=["action_due_at"],
                condition=models.Q(action_due_at__isnull=False),
                name="contracts_milestone_due",
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


class Delivery(models.Model):
    """納品: one version of a milestone's delivered work — a message, files, or a short report."""

    milestone = models.ForeignKey(Milestone, on_delete=models.PROTECT, related_name="deliveries")
    version = models.PositiveIntegerField()
    message = models.TextField()
    # A stand-by or research milestone is delivered as done with a report and no file.
    is_report = models.BooleanField(default=False)
    # Work in progress delivered after the client fell silent during the work.
    is_partial = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ("milestone", "version")
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["milestone", "version"], name="contracts_delivery_version"
            )
        ]

    def __str__(self) -> str:
        return f"delivery v{self.version} of milestone {self.milestone_id}"


class FileVisibility(models.TextChoices):
    PREVIEW = "preview", _("Preview (visible at once)")  # ja: プレビュー（すぐに閲覧可）
    FULL = "full", _("Full (after approval)")  # ja: 完成品（検収後にダウンロード可）


def delivery_upload_to(instance: DeliveryFile, filename: str) -> str:
    # The stored name never reuses the uploader's, so it cannot collide or traverse.
    return f"deliveries/{instance.delivery.milestone_id}/{uuid.uuid4().hex}"


class DeliveryFile(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.PROTECT, related_name="files")
    file = models.FileField(upload_to=delivery_upload_to, max_length=200)
    name = models.CharField(max_length=limits.DELIVERY_FILE_NAME_LENGTH_MAX)
    size_bytes = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=100)
    sha256 = models.CharField(max_length=64)
    visibility = models.CharField(max_length=8, choices=FileVisibility.choices)

    class Meta:
        ordering = ("delivery", "id")

    def __str__(self) -> str:
        return f"{self.name} ({self.visibility})"


class ChangeState(models.TextChoices):
    PROPOSED = "proposed", _("Awaiting answer")  # ja: 回答待ち
    ACCEPTED = "accepted", _("Accepted")  # ja: 承諾済み
    DECLINED = "declined", pgettext_lazy("change state", "Declined")  # ja: 辞退
    EXPIRED = "expired", _("Expired")  # ja: 期限切れ
    WITHDRAWN = "withdrawn", pgettext_lazy("change state", "Withdrawn")  # ja: 取り下げ


class ChangeRequest(models.Model):
    """変更依頼: one party's proposed change to the terms; it takes effect only when accepted.

    `changes` holds the proposal as data: {"scope": str|None, "milestones": [{"id", "title",
    "amount_jpy", "due_on"}], "add": [{"title", "kind", "amount_jpy", "due_on"}],
    "remove": [id], "kill_fee_percent": int|None}.
    """

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="changes")
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    message = models.TextField()
    changes = models.JSONField()
    # What the change does to the contract's total, and whether it brings a due date forward.
    price_delta_jpy = models.BigIntegerField()
    shortens_due_date = models.BooleanField(default=False)
    based_on_terms_version = models.PositiveIntegerField()
    state = models.CharField(
        max_length=12, choices=ChangeState.choices, default=ChangeState.PROPOSED
    )
    created_at = models.DateTimeField(default=clock.now)
    expires_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    answer_note = models.TextField(blank=True)
    resulting_terms_version = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        indexes: ClassVar[list[models.Index]] = [
            models.Index(
                fields=["expires_at"],
                condition=models.Q(state="proposed"),
                name="contracts_change_open",
            ),
            models.Index(fields=["contract", "-created_at"], name="contracts_change_contract"),
        ]

    def __str__(self) -> str:
        return f"change {self.pk} on contract {self.contract_id} ({self.state})"


class FlagKind(models.TextChoices):
    ASKED_BEFORE_ESCROW = (
        "asked_before_escrow",
        _("Asked to start work before escrow"),
    )  # ja: 仮払い前の作業を求められた


class ContractFlag(models.Model):
    """A worker's report about the client, counted on the client's profile."""

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="flags")
    kind = models.CharField(max_length=32, choices=FlagKind.choices)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(blank=True)
    # The client's message the report was made from (the caution banner's button), if any.
    message = models.ForeignKey(
        "ContractMessage", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            # One flag of a kind per contract: the profile counts contracts, not clicks.
            models.UniqueConstraint(fields=["contract", "kind"], name="contracts_flag_once")
        ]

    def __str__(self) -> str:
        return f"{self.kind} on contract {self.contract_id}"


class ContractMessage(models.Model):
    """The contract's thread; a worker's unanswered message starts the client's reply clock."""

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    # The message guards' categories hit, computed once when the message is recorded, so every
    # page and the API show the same caution without running the detector again.
    guard_categories = models.JSONField(default=list, blank=True)
    guard_version = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ("contract", "id")
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["contract", "id"], name="contracts_message_thread")
        ]

    def __str__(self) -> str:
        return f"message {self.pk} on contract {self.contract_id}"


class ClientContractStats(models.Model):
    """A client's record as a payer, counted in the same transaction as each event.

    The reliability profile reads these; `client_contract_stats_rebuild` recomputes them from
    the contract events and must give the same numbers.
    """

    client = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contract_stats"
    )
    contracts_completed = models.PositiveIntegerField(default=0)
    auto_approvals = models.PositiveIntegerField(default=0)
    legal_deadline_releases = models.PositiveIntegerField(default=0)
    funding_requests_unanswered = models.PositiveIntegerField(default=0)
    cancellations_after_funding = models.PositiveIntegerField(default=0)
    escrow_before_work_flags = models.PositiveIntegerField(default=0)
    disputes = models.PositiveIntegerField(default=0)
    # Sums for the means; medians are read from the events when a profile needs them.
    fundings = models.PositiveIntegerField(default=0)
    funding_seconds_total = models.BigIntegerField(default=0)
    inspections = models.PositiveIntegerField(default=0)
    inspection_seconds_total = models.BigIntegerField(default=0)
    contracts_cancelled = models.PositiveIntegerField(default=0)
    # Every escrow the client paid in, asked for or not: 支払い確認済み from the first.
    escrows_funded = models.PositiveIntegerField(default=0)
    # Silence during work: a worker's message unanswered for CLIENT_REPLY_DAYS while work ran.
    client_reply_silences = models.PositiveIntegerField(default=0)
    # Disputes an operator ruled on, by where the escrow went.
    disputes_for_worker = models.PositiveIntegerField(default=0)
    disputes_split = models.PositiveIntegerField(default=0)
    disputes_for_client = models.PositiveIntegerField(default=0)
    # funding request → escrow funded: one counter per bucket of contracts.timing
    fund_b00 = models.PositiveIntegerField(default=0)
    fund_b01 = models.PositiveIntegerField(default=0)
    fund_b02 = models.PositiveIntegerField(default=0)
    fund_b03 = models.PositiveIntegerField(default=0)
    fund_b04 = models.PositiveIntegerField(default=0)
    fund_b05 = models.PositiveIntegerField(default=0)
    fund_b06 = models.PositiveIntegerField(default=0)
    fund_b07 = models.PositiveIntegerField(default=0)
    fund_b08 = models.PositiveIntegerField(default=0)
    fund_b09 = models.PositiveIntegerField(default=0)
    fund_b10 = models.PositiveIntegerField(default=0)
    fund_b11 = models.PositiveIntegerField(default=0)
    # delivery → approval: one counter per bucket of contracts.timing
    inspect_b00 = models.PositiveIntegerField(default=0)
    inspect_b01 = models.PositiveIntegerField(default=0)
    inspect_b02 = models.PositiveIntegerField(default=0)
    inspect_b03 = models.PositiveIntegerField(default=0)
    inspect_b04 = models.PositiveIntegerField(default=0)
    inspect_b05 = models.PositiveIntegerField(default=0)
    inspect_b06 = models.PositiveIntegerField(default=0)
    inspect_b07 = models.PositiveIntegerField(default=0)
    inspect_b08 = models.PositiveIntegerField(default=0)
    inspect_b09 = models.PositiveIntegerField(default=0)
    inspect_b10 = models.PositiveIntegerField(default=0)
    inspect_b11 = models.PositiveIntegerField(default=0)
    # worker's message → the client's next message: one counter per bucket of contracts.timing
    reply_b00 = models.PositiveIntegerField(default=0)
    reply_b01 = models.PositiveIntegerField(default=0)
    reply_b02 = models.PositiveIntegerField(default=0)
    reply_b03 = models.PositiveIntegerField(default=0)
    reply_b04 = models.PositiveIntegerField(default=0)
    reply_b05 = models.PositiveIntegerField(default=0)
    reply_b06 = models.PositiveIntegerField(default=0)
    reply_b07 = models.PositiveIntegerField(default=0)
    reply_b08 = models.PositiveIntegerField(default=0)
    reply_b09 = models.PositiveIntegerField(default=0)
    reply_b10 = models.PositiveIntegerField(default=0)
    reply_b11 = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"contract stats of {self.client_id}"
