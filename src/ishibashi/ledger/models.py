"""Accounts with cached balances, transfers (one balanced movement) and their entries."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ishibashi.core import clock, limits


class AccountKind(models.TextChoices):
    WALLET = "wallet", _("Wallet")  # ja: 残高 (a client's deposited money)
    ESCROW = "escrow", _("Escrow")  # ja: 仮払い (one per milestone)
    EARNINGS = "earnings", _("Earnings")  # ja: 売上 (a worker's released pay)
    PAYOUT_PENDING = "payout_pending", _("Payout in progress")  # ja: 出金手続き中
    PLATFORM_FEES = "platform_fees", _("Platform fees")
    WITHHOLDING_PAYABLE = "withholding_payable", _("Withholding tax payable")
    PROVIDER_CLEARING = "provider_clearing", _("Payment provider clearing")
    ADJUSTMENTS = "adjustments", _("Operator adjustments")


# People's money: these can never go below zero. The others are the platform's side of the
# books and may (provider clearing is negative by exactly what users hold).
GUARDED_KINDS = frozenset(
    {AccountKind.WALLET, AccountKind.ESCROW, AccountKind.EARNINGS, AccountKind.PAYOUT_PENDING}
)


class LedgerAccount(models.Model):
    # "wallet:user:12", "escrow:milestone:7", "platform_fees": one account per key.
    key = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=24, choices=AccountKind.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger_accounts",
    )
    reference = models.CharField(max_length=100, blank=True)
    currency = models.CharField(max_length=3, default="JPY")
    is_guarded = models.BooleanField()
    # Cached sum of this account's entries, updated under the row lock in the same transaction.
    balance_jpy = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(
                condition=models.Q(is_guarded=False) | models.Q(balance_jpy__gte=0),
                name="ledger_guarded_account_not_negative",
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["owner", "kind"])]

    def __str__(self) -> str:
        return f"{self.key} ({self.balance_jpy} {self.currency})"


class TransferReason(models.TextChoices):
    DEPOSIT = "deposit", _("Deposit")  # ja: 入金
    ESCROW_FUND = "escrow_fund", _("Escrow funding")  # ja: 仮払い
    ESCROW_RELEASE = "escrow_release", _("Payment released")  # ja: 支払い
    ESCROW_REFUND = "escrow_refund", _("Refund")  # ja: 返金
    ESCROW_SPLIT = "escrow_split", _("Split of escrow")  # ja: 分配 (dispute, kill fee)
    PAYOUT_RESERVE = "payout_reserve", _("Payout requested")  # ja: 出金申請
    PAYOUT_SETTLE = "payout_settle", _("Payout sent")  # ja: 出金完了
    PAYOUT_RETURN = "payout_return", _("Payout returned")  # ja: 出金失敗による戻し
    ADJUSTMENT = "adjustment", _("Operator adjustment")  # ja: 運営による調整


class Transfer(models.Model):
    """One balanced movement of money. Never updated or deleted; corrections are new transfers."""

    idempotency_key = models.CharField(max_length=limits.IDEMPOTENCY_KEY_LENGTH_MAX, unique=True)
    # SHA-256 of what the transfer moves, so a replay with other arguments is detected.
    fingerprint = models.CharField(max_length=64)
    reason = models.CharField(max_length=24, choices=TransferReason.choices)
    currency = models.CharField(max_length=3, default="JPY")
    # What caused it, e.g. "deposit:5", "milestone:7".
    reference = models.CharField(max_length=100, blank=True, db_index=True)
    memo = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(default=clock.now)

    def __str__(self) -> str:
        return f"transfer {self.pk} {self.reason} {self.idempotency_key}"


class Entry(models.Model):
    """One leg of a transfer: a signed amount on one account (credit +, debit -)."""

    transfer = models.ForeignKey(Transfer, on_delete=models.PROTECT, related_name="entries")
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="entries")
    amount_jpy = models.BigIntegerField()
    # The account's balance right after this entry: a running balance without a window query.
    balance_after_jpy = models.BigIntegerField()
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(condition=~models.Q(amount_jpy=0), name="ledger_entry_not_zero"),
            models.UniqueConstraint(
                fields=["transfer", "account"], name="ledger_entry_one_leg_per_account"
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["account", "-id"])]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.amount_jpy:+}"
