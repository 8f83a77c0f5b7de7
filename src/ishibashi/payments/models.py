"""Deposits (入金) and payouts (出金) as the platform sees them, and provider events received."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ishibashi.core import clock, limits


class PaymentMethod(models.TextChoices):
    CARD = "card", _("Credit card")  # ja: クレジットカード
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")  # ja: 銀行振込


class DepositStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for the payment")  # ja: 入金待ち
    SUCCEEDED = "succeeded", _("Deposited")  # ja: 入金済み
    FAILED = "failed", _("Failed")  # ja: 失敗


class Deposit(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="deposits"
    )
    amount_jpy = models.BigIntegerField()
    method = models.CharField(max_length=16, choices=PaymentMethod.choices)
    status = models.CharField(
        max_length=16, choices=DepositStatus.choices, default=DepositStatus.PENDING
    )
    provider = models.CharField(max_length=32)
    provider_reference = models.CharField(max_length=100, unique=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    # 振込コード: the code a bank transfer must carry so the money finds its deposit.
    transfer_code = models.CharField(max_length=16, blank=True)
    idempotency_key = models.CharField(max_length=limits.IDEMPOTENCY_KEY_LENGTH_MAX)
    failure_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=clock.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["user", "idempotency_key"], name="deposit_idempotency_per_user"
            ),
            models.CheckConstraint(
                condition=models.Q(amount_jpy__gt=0), name="deposit_amount_positive"
            ),
        ]
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"deposit {self.pk} ¥{self.amount_jpy} {self.status}"


class PayoutStatus(models.TextChoices):
    REQUESTED = "requested", _("In progress")  # ja: 振込手続き中
    PAID = "paid", _("Paid")  # ja: 振込完了
    FAILED = "failed", _("Failed, returned to earnings")  # ja: 失敗（売上に戻しました）


class BankAccountType(models.TextChoices):
    ORDINARY = "ordinary", _("Ordinary (普通)")
    CHECKING = "checking", _("Checking (当座)")


class Payout(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payouts"
    )
    amount_jpy = models.BigIntegerField()
    status = models.CharField(
        max_length=16, choices=PayoutStatus.choices, default=PayoutStatus.REQUESTED
    )
    provider = models.CharField(max_length=32)
    provider_reference = models.CharField(max_length=100, unique=True)
    # Set once the provider accepted the payout; until then the sweep (re)sends it.
    is_sent = models.BooleanField(default=False)
    bank_name = models.CharField(max_length=60)
    branch_name = models.CharField(max_length=60)
    account_type = models.CharField(max_length=16, choices=BankAccountType.choices)
    # Only the last digits are kept; the full number goes to the provider and nowhere else.
    account_number_last4 = models.CharField(max_length=4)
    account_holder = models.CharField(max_length=60)
    idempotency_key = models.CharField(max_length=limits.IDEMPOTENCY_KEY_LENGTH_MAX)
    failure_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=clock.now)
    expected_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["user", "idempotency_key"], name="payout_idempotency_per_user"
            ),
            models.CheckConstraint(
                condition=models.Q(amount_jpy__gt=0), name="payout_amount_positive"
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["status", "expected_at"])]
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"payout {self.pk} ¥{self.amount_jpy} {self.status}"


class ProviderEvent(models.Model):
    """A confirmation received from a provider; its id makes a redelivery a no-op."""

    provider = models.CharField(max_length=32)
    event_id = models.CharField(max_length=100)
    kind = models.CharField(max_length=40)
    reference = models.CharField(max_length=100)
    received_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="provider_event_once"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.kind} {self.event_id}"


class SandboxOperation(models.Model):
    """The sandbox provider's own records: what a real provider would keep on its side."""

    reference = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=16)  # charge, bank_transfer, payout
    amount_jpy = models.BigIntegerField()
    outcome = models.CharField(max_length=16)  # succeeded, failed, pending
    failure_reason = models.CharField(max_length=200, blank=True)
    settle_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now)

    def __str__(self) -> str:
        return f"sandbox {self.kind} {self.reference} {self.outcome}"
