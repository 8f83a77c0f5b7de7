"""Job postings (案件), proposals (提案) with their milestone plans, and pre-contract messages."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ishibashi.core import clock, limits


class JobCategory(models.TextChoices):
    WEB_DEVELOPMENT = "web_development", _("Web development")
    SERVER_INFRASTRUCTURE = "server_infrastructure", _("Server and infrastructure")
    WORDPRESS = "wordpress", _("WordPress")
    DESIGN = "design", _("Design")
    WRITING = "writing", _("Writing")
    TRANSLATION = "translation", _("Translation")
    DATA_ENTRY = "data_entry", _("Data entry")
    OTHER = "other", _("Other")


class ContractType(models.TextChoices):
    FIXED = "fixed", _("Fixed price in milestones")  # ja: 固定報酬（マイルストーン）
    MONTHLY = "monthly", _("Monthly retainer")  # ja: 月額


class JobState(models.TextChoices):
    DRAFT = "draft", _("Draft")  # ja: 下書き
    OPEN = "open", _("Recruiting")  # ja: 募集中
    HIRED = "hired", _("Hired")  # ja: 契約済み
    CLOSED_WITHOUT_HIRE = "closed_without_hire", _("Closed without hiring")  # 募集終了・選定なし
    EXPIRED = "expired", _("Expired without hiring")  # ja: 期限切れ・選定なし


class Job(models.Model):
    client = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="jobs"
    )
    title = models.CharField(max_length=limits.JOB_TITLE_LENGTH_MAX)
    description = models.TextField(max_length=limits.JOB_DESCRIPTION_LENGTH_MAX)
    category = models.CharField(max_length=32, choices=JobCategory.choices)
    contract_type = models.CharField(max_length=16, choices=ContractType.choices)
    budget_min_jpy = models.BigIntegerField()
    budget_max_jpy = models.BigIntegerField()
    recruiting_deadline = models.DateTimeField()  # 募集期限
    desired_delivery_on = models.DateField()  # 希望納期
    # The scope statement: what the seeds' WordPress client never wrote down.
    scope_deliverables = models.TextField(max_length=limits.JOB_SCOPE_FIELD_LENGTH_MAX)
    scope_acceptance_criteria = models.TextField(max_length=limits.JOB_SCOPE_FIELD_LENGTH_MAX)
    scope_out_of_scope = models.TextField(max_length=limits.JOB_SCOPE_FIELD_LENGTH_MAX, blank=True)
    revision_rounds = models.PositiveSmallIntegerField()
    state = models.CharField(max_length=24, choices=JobState.choices, default=JobState.DRAFT)
    created_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(default=clock.now)
    published_at = models.DateTimeField(null=True, blank=True)
    # When it left the open state, whichever way (hired, closed, expired).
    ended_at = models.DateTimeField(null=True, blank=True)
    # Counted as proposals arrive, so the list shows it without a query per card.
    proposal_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(
                condition=models.Q(budget_min_jpy__gt=0)
                & models.Q(budget_max_jpy__gte=models.F("budget_min_jpy")),
                name="jobs_budget_range_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(state="draft") | models.Q(published_at__isnull=False),
                name="jobs_published_has_time",
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            # The public list: open jobs, newest first.
            models.Index(fields=["state", "-published_at", "-id"], name="jobs_state_published"),
            # The expiry sweep: open jobs past their deadline.
            models.Index(fields=["state", "recruiting_deadline"], name="jobs_state_deadline"),
            # The list sorted by budget (sort=budget), highest first.
            models.Index(fields=["state", "-budget_max_jpy", "-id"], name="jobs_state_budget"),
            models.Index(fields=["client", "-created_at"], name="jobs_client_created"),
        ]

    def __str__(self) -> str:
        return f"job {self.pk} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.state == JobState.OPEN


class ProposalKind(models.TextChoices):
    PROPOSAL = "proposal", _("Proposal")  # ja: 提案
    CONSULTATION = "consultation", _("Paid consultation")  # ja: 有料相談（相談料）


class ProposalState(models.TextChoices):
    OPEN = "open", _("Under consideration")  # ja: 検討中
    WITHDRAWN = "withdrawn", _("Withdrawn")  # ja: 取り下げ
    DECLINED = "declined", _("Declined")  # ja: 見送り
    HIRED = "hired", _("Hired")  # ja: 契約


class Proposal(models.Model):
    job = models.ForeignKey(Job, on_delete=models.PROTECT, related_name="proposals")
    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="proposals"
    )
    kind = models.CharField(max_length=16, choices=ProposalKind.choices, default="proposal")
    cover_letter = models.TextField(max_length=limits.COVER_LETTER_LENGTH_MAX)
    total_jpy = models.BigIntegerField()
    state = models.CharField(
        max_length=16, choices=ProposalState.choices, default=ProposalState.OPEN
    )
    decline_reason = models.TextField(max_length=limits.DECLINE_REASON_LENGTH_MAX, blank=True)
    # Raised by each revision after negotiating (第2版, 第3版…), so a hire can name the exact plan
    # the client read and a plan changed meanwhile is not signed unseen.
    revision = models.PositiveIntegerField(default=1)
    # The message guards' result on the cover letter (ishibashi.guards), kept with the version of
    # the patterns that produced it; 0 means it was written before the guards existed.
    cover_letter_guard_categories = models.JSONField(default=list, blank=True)
    cover_letter_guard_version = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=clock.now)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            # One open proposal per worker per job; a withdrawn one may be followed by a new one.
            models.UniqueConstraint(
                fields=["job", "worker", "kind"],
                condition=models.Q(state="open"),
                name="jobs_one_open_proposal_per_worker",
            ),
            models.CheckConstraint(condition=models.Q(total_jpy__gt=0), name="jobs_total_positive"),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["job", "state"], name="jobs_proposal_job_state"),
            models.Index(fields=["worker", "-created_at"], name="jobs_proposal_worker"),
        ]

    def __str__(self) -> str:
        return f"proposal {self.pk} on job {self.job_id}"


class MilestoneKind(models.TextChoices):
    RESEARCH = "research", _("Research")  # ja: 事前調査
    STANDBY = "standby", _("Stand-by / night work")  # ja: 待機・深夜対応
    MAIN_WORK = "main_work", _("Main work")  # ja: 実作業
    COMPLETION_CHECK = "completion_check", _("Completion check")  # ja: 作業完了確認
    MONTHLY = "monthly", _("Monthly")  # ja: 月額
    CONSULTATION = "consultation", _("Consultation")  # ja: 相談
    OTHER = "other", _("Other")  # ja: その他


class ProposedMilestone(models.Model):
    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="milestones")
    position = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=limits.MILESTONE_TITLE_LENGTH_MAX)
    kind = models.CharField(max_length=20, choices=MilestoneKind.choices)
    amount_jpy = models.BigIntegerField()
    due_on = models.DateField()

    class Meta:
        ordering = ("position",)
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["proposal", "position"], name="jobs_milestone_position"
            ),
            models.CheckConstraint(
                condition=models.Q(amount_jpy__gt=0), name="jobs_milestone_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.title} ¥{self.amount_jpy:,}"


class ProposalMessage(models.Model):
    """A message in a proposal's thread, before any contract (契約前のメッセージ)."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(max_length=limits.MESSAGE_LENGTH_MAX)
    # The message guards' categories hit, computed once when the message is recorded, so every
    # page and the API show the same caution without running the detector again.
    guard_categories = models.JSONField(default=list, blank=True)
    guard_version = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ("id",)
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["proposal", "id"], name="jobs_message_thread")
        ]

    def __str__(self) -> str:
        return f"message {self.pk} on proposal {self.proposal_id}"


class ClientJobStats(models.Model):
    """A client's hiring record, counted as it happens (O(1) to read on every job card).

    The reputation issue builds the client profile on these; `client_job_stats_rebuild`
    recomputes them from the jobs and must give the same numbers.
    """

    client = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="job_stats"
    )
    jobs_posted = models.PositiveIntegerField(default=0)
    hires = models.PositiveIntegerField(default=0)
    jobs_closed_without_hire = models.PositiveIntegerField(default=0)
    jobs_expired_without_hire = models.PositiveIntegerField(default=0)
    # Sum over hired jobs of (hire time - publish time), for the mean; the median is read
    # from the jobs themselves when a profile needs it.
    publish_to_hire_seconds_total = models.BigIntegerField(default=0)
    consultations_sold = models.PositiveIntegerField(default=0)
    # Paid consultations on a job that then closed or expired without a hire (相談のみ).
    consultations_unconverted = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"job stats of {self.client_id}"
