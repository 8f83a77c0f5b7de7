"""The payment-provider interface and the built-in sandbox (for the demo and tests).

A real provider (a licensed 資金移動業者 or bank, law.md L-70) implements PaymentProvider and is
chosen with ISHIBASHI_PAYMENT_PROVIDER. Calls to a provider are made outside any database
transaction, so a slow provider never holds a lock; results are recorded afterwards.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from ishibashi.core import clock

logger = logging.getLogger(__name__)

ChargeStatus = Literal["succeeded", "pending", "failed"]
PayoutState = Literal["in_flight", "paid", "failed"]


class ProviderTimeout(Exception):
    """The provider did not answer in time: the outcome is unknown until it is reconciled."""


class ProviderRefused(Exception):
    """The provider refused the request outright (e.g. a malformed bank account)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ChargeResult:
    status: ChargeStatus
    failure_reason: str = ""


@dataclass(frozen=True)
class BankAccount:
    bank_name: str
    branch_name: str
    account_type: str
    account_number: str
    account_holder: str


class PaymentProvider(Protocol):
    name: str

    def charge_card(self, *, reference: str, amount_jpy: int, card_number: str) -> ChargeResult: ...

    def open_bank_transfer(self, *, reference: str, amount_jpy: int) -> ChargeResult: ...

    def charge_status(self, *, reference: str) -> ChargeResult: ...

    def send_payout(
        self, *, reference: str, amount_jpy: int, bank_account: BankAccount
    ) -> datetime:
        """Accept a payout (idempotent on reference); returns when it is expected to arrive."""
        ...

    def payout_status(self, *, reference: str) -> tuple[PayoutState, str]: ...


# Test cards, as card networks' sandboxes use them.
SANDBOX_CARD_SUCCEEDS = "4242424242424242"
SANDBOX_CARD_DECLINED = "4000000000000002"
SANDBOX_CARD_TIMES_OUT = "4000000000000119"  # charged, but the answer is lost: reconciled later
SANDBOX_FAILING_ACCOUNT_NUMBER = "0000000"  # a payout to it fails after the delay


class SandboxProvider:
    """Deterministic fake provider keeping its own records in SandboxOperation."""

    name = "sandbox"

    def _record(
        self,
        *,
        reference: str,
        kind: str,
        amount_jpy: int,
        outcome: str,
        failure_reason: str = "",
        settle_at: datetime | None = None,
    ) -> None:
        from ishibashi.payments.models import SandboxOperation

        SandboxOperation.objects.get_or_create(
            reference=reference,
            defaults={
                "kind": kind,
                "amount_jpy": amount_jpy,
                "outcome": outcome,
                "failure_reason": failure_reason,
                "settle_at": settle_at,
            },
        )

    def charge_card(self, *, reference: str, amount_jpy: int, card_number: str) -> ChargeResult:
        if card_number == SANDBOX_CARD_DECLINED:
            self._record(
                reference=reference,
                kind="charge",
                amount_jpy=amount_jpy,
                outcome="failed",
                failure_reason="card_declined",
            )
            return ChargeResult("failed", "card_declined")
        self._record(reference=reference, kind="charge", amount_jpy=amount_jpy, outcome="succeeded")
        if card_number == SANDBOX_CARD_TIMES_OUT:
            raise ProviderTimeout(reference)
        return ChargeResult("succeeded")

    def open_bank_transfer(self, *, reference: str, amount_jpy: int) -> ChargeResult:
        self._record(
            reference=reference, kind="bank_transfer", amount_jpy=amount_jpy, outcome="pending"
        )
        return ChargeResult("pending")

    def charge_status(self, *, reference: str) -> ChargeResult:
        from ishibashi.payments.models import SandboxOperation

        operation = SandboxOperation.objects.filter(reference=reference).first()
        if operation is None:
            return ChargeResult("failed", "unknown_charge")
        status: ChargeStatus = operation.outcome  # type: ignore[assignment]
        return ChargeResult(status, operation.failure_reason)

    def simulate_bank_transfer_arrival(self, *, reference: str) -> None:
        from ishibashi.payments.models import SandboxOperation

        SandboxOperation.objects.filter(reference=reference, kind="bank_transfer").update(
            outcome="succeeded"
        )

    def send_payout(
        self, *, reference: str, amount_jpy: int, bank_account: BankAccount
    ) -> datetime:
        settle_at = clock.now() + timedelta(seconds=settings.SANDBOX_PAYOUT_DELAY_SECONDS)
        fails = bank_account.account_number == SANDBOX_FAILING_ACCOUNT_NUMBER
        self._record(
            reference=reference,
            kind="payout",
            amount_jpy=amount_jpy,
            outcome="failed" if fails else "succeeded",
            failure_reason="account_not_found" if fails else "",
            settle_at=settle_at,
        )
        return settle_at

    def payout_status(self, *, reference: str) -> tuple[PayoutState, str]:
        from ishibashi.payments.models import SandboxOperation

        operation = SandboxOperation.objects.filter(reference=reference, kind="payout").first()
        if operation is None:
            return "failed", "unknown_payout"
        if operation.settle_at and operation.settle_at > clock.now():
            return "in_flight", ""
        return (
            ("paid", "")
            if operation.outcome == "succeeded"
            else ("failed", operation.failure_reason)
        )


def sandbox_refused_here() -> bool:
    """The sandbox moves no real money: never in production unless the operator overrides."""
    return bool(settings.IS_PRODUCTION and not settings.ALLOW_SANDBOX_PAYMENTS_IN_PRODUCTION)


def get_provider() -> PaymentProvider:
    name = settings.PAYMENT_PROVIDER
    if name == "sandbox":
        if sandbox_refused_here():
            raise ImproperlyConfigured(
                "The sandbox payment provider is refused in production. Configure a real provider, "
                "or set ISHIBASHI_ALLOW_SANDBOX_PAYMENTS_IN_PRODUCTION=1 to override (law.md L-70)."
            )
        return SandboxProvider()
    raise ImproperlyConfigured(f"Unknown payment provider {name!r}")
