"""Deposits and payouts: the provider is called between two short transactions, never inside one.

A deposit credits the wallet only when the provider confirms it; a payout takes the money out
of earnings at once and gives it back if the bank transfer fails. Each step is idempotent, so a
retried request, a redelivered confirmation or a crash between two steps moves nothing twice.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from ishibashi.accounts.models import User
from ishibashi.accounts.selectors import check_email_verified
from ishibashi.core import clock, limits
from ishibashi.core.errors import Conflict, InvalidInput, NotFound
from ishibashi.core.idempotency import idempotency_key_checked
from ishibashi.core.text import clean_text
from ishibashi.ledger import services as ledger
from ishibashi.payments.models import (
    BankAccountType,
    Deposit,
    DepositStatus,
    PaymentMethod,
    Payout,
    PayoutStatus,
    ProviderEvent,
)
from ishibashi.payments.providers import (
    BankAccount,
    ChargeResult,
    ProviderRefused,
    ProviderTimeout,
    SandboxProvider,
    get_provider,
)

logger = logging.getLogger(__name__)

FAILURE_MESSAGES = {
    "card_declined": _("The card was declined. Try another card or a bank transfer."),
    "account_not_found": _("The bank could not find the account. Check the account details."),
}


def _check_amount(amount_jpy: object, *, minimum: int, maximum: int) -> int:
    if type(amount_jpy) is not int:
        raise InvalidInput(_("Enter the amount in whole yen."), field="amount_jpy")
    if not minimum <= amount_jpy <= maximum:
        raise InvalidInput(
            _("The amount must be between ¥%(min)s and ¥%(max)s.")
            % {"min": f"{minimum:,}", "max": f"{maximum:,}"},
            field="amount_jpy",
        )
    return amount_jpy


def _luhn_valid(number: str) -> bool:
    total = 0
    for index, digit in enumerate(reversed(number)):
        value = int(digit)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _clean_card_number(card_number: str) -> str:
    digits = card_number.replace(" ", "").replace("-", "")
    if not (
        digits.isascii() and digits.isdigit() and 12 <= len(digits) <= 19 and _luhn_valid(digits)
    ):
        raise InvalidInput(_("Enter a valid card number."), field="card_number")
    return digits


# --- deposits -------------------------------------------------------------------------------


def deposit_start(
    *, user: User, amount_jpy: int, method: str, idempotency_key: str, card_number: str = ""
) -> Deposit:
    """Start a deposit (入金). A card is charged now; a bank transfer waits for the money.

    A retry with the same key returns the first deposit; with other details it is refused.
    Needs a confirmed e-mail address (403 `email_unverified`).
    """
    check_email_verified(user)
    idempotency_key = idempotency_key_checked(idempotency_key)
    amount_jpy = _check_amount(
        amount_jpy, minimum=limits.DEPOSIT_AMOUNT_JPY_MIN, maximum=limits.DEPOSIT_AMOUNT_JPY_MAX
    )
    if method not in PaymentMethod.values:
        raise InvalidInput(_("Choose a card or a bank transfer."), field="method")
    digits = _clean_card_number(card_number) if method == PaymentMethod.CARD else ""
    provider = get_provider()

    deposit = _deposit_create(
        user=user,
        amount_jpy=amount_jpy,
        method=method,
        provider_name=provider.name,
        idempotency_key=idempotency_key,
        card_last4=digits[-4:],
    )
    if deposit.status != DepositStatus.PENDING or (
        deposit.transfer_code and method == PaymentMethod.BANK_TRANSFER
    ):
        return deposit  # a replay of a request that already ran
    try:
        if method == PaymentMethod.CARD:
            result = provider.charge_card(
                reference=deposit.provider_reference, amount_jpy=amount_jpy, card_number=digits
            )
        else:
            result = provider.open_bank_transfer(
                reference=deposit.provider_reference, amount_jpy=amount_jpy
            )
    except ProviderTimeout:
        logger.warning(
            "deposit %s: provider timed out; left pending for reconciliation", deposit.pk
        )
        return deposit
    return _deposit_apply_result(deposit_id=deposit.pk, result=result)


T = TypeVar("T", Deposit, Payout)


def _create_once(
    model: type[T], *, user: User, idempotency_key: str, **fields: Any
) -> tuple[T, bool]:
    """The user's row for this key: made now (True), or the one a first request made (False).

    A savepoint around the insert: when a concurrent request with the key commits first, the
    insert fails on the unique key and that request's row is the answer, not a server error.
    """
    existing = model.objects.filter(user=user, idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            return model.objects.create(user=user, idempotency_key=idempotency_key, **fields), True
    except IntegrityError:
        return model.objects.get(user=user, idempotency_key=idempotency_key), False


@transaction.atomic
def _deposit_create(
    *,
    user: User,
    amount_jpy: int,
    method: str,
    provider_name: str,
    idempotency_key: str,
    card_last4: str,
) -> Deposit:
    existing, created = _create_once(
        Deposit,
        user=user,
        idempotency_key=idempotency_key,
        amount_jpy=amount_jpy,
        method=method,
        provider=provider_name,
        provider_reference=f"dep_{secrets.token_hex(12)}",
        card_last4=card_last4,
    )
    if created:
        return existing
    if (existing.amount_jpy, existing.method, existing.card_last4) != (
        amount_jpy,
        method,
        card_last4,
    ):
        raise Conflict(
            _("This Idempotency-Key was already used for a different deposit."),
            code="idempotency_key_reused",
            field="idempotency_key",
        )
    return existing


@transaction.atomic
def _deposit_apply_result(*, deposit_id: int, result: ChargeResult) -> Deposit:
    deposit = Deposit.objects.select_for_update().get(pk=deposit_id)
    if deposit.status != DepositStatus.PENDING:
        return deposit
    if result.status == "succeeded":
        return _deposit_succeed(deposit)
    if result.status == "failed":
        deposit.status = DepositStatus.FAILED
        deposit.failure_reason = result.failure_reason
        deposit.completed_at = clock.now()
        deposit.save(update_fields=["status", "failure_reason", "completed_at"])
        return deposit
    if deposit.method == PaymentMethod.BANK_TRANSFER and not deposit.transfer_code:
        deposit.transfer_code = f"{deposit.pk % 10_000:04d}{secrets.randbelow(10_000):04d}"
        deposit.save(update_fields=["transfer_code"])
    return deposit


def _deposit_succeed(deposit: Deposit) -> Deposit:
    """Credit the wallet; the caller holds the deposit's row lock."""
    ledger.deposit_credit(
        user=deposit.user,
        amount_jpy=deposit.amount_jpy,
        idempotency_key=f"deposit:{deposit.pk}",
        reference=f"deposit:{deposit.pk}",
    )
    deposit.status = DepositStatus.SUCCEEDED
    deposit.completed_at = clock.now()
    deposit.save(update_fields=["status", "completed_at"])
    return deposit


@transaction.atomic
def deposit_confirm(*, provider: str, event_id: str, provider_reference: str) -> Deposit:
    """A provider's confirmation (webhook). Redelivery of the same event is a no-op."""
    deposit = (
        Deposit.objects.select_for_update().filter(provider_reference=provider_reference).first()
    )
    if deposit is None:
        raise NotFound(_("No such deposit."))
    try:
        with transaction.atomic():
            ProviderEvent.objects.create(
                provider=provider,
                event_id=event_id,
                kind="charge.succeeded",
                reference=provider_reference,
            )
    except IntegrityError:
        return deposit
    if deposit.status == DepositStatus.FAILED:
        # Money arrived for a deposit marked failed: credit it rather than lose it, and say so.
        logger.error("deposit %s: confirmation after failure; crediting", deposit.pk)
        deposit.status = DepositStatus.PENDING
    if deposit.status == DepositStatus.PENDING:
        return _deposit_succeed(deposit)
    return deposit


def deposit_reconcile_pending(*, limit: int = limits.SWEEP_BATCH_MAX) -> int:
    """Ask the provider about card charges whose answer was lost; settle the ones it knows."""
    provider = get_provider()
    handled = 0
    pending = Deposit.objects.filter(
        status=DepositStatus.PENDING, method=PaymentMethod.CARD
    ).order_by("id")
    for deposit_id, reference in pending.values_list("id", "provider_reference")[:limit]:
        try:
            result = provider.charge_status(reference=reference)
        except ProviderTimeout:
            continue
        if result.status != "pending":
            _deposit_apply_result(deposit_id=deposit_id, result=result)
            handled += 1
    return handled


def sandbox_bank_transfer_arrive(*, user: User, deposit_id: int) -> Deposit:
    """Sandbox only: pretend the client's bank transfer arrived, as the bank's notice would."""
    provider = get_provider()
    if not isinstance(provider, SandboxProvider):
        raise NotFound(_("Not found."))
    deposit = Deposit.objects.filter(
        pk=deposit_id, user=user, method=PaymentMethod.BANK_TRANSFER
    ).first()
    if deposit is None:
        raise NotFound(_("No such deposit."))
    provider.simulate_bank_transfer_arrival(reference=deposit.provider_reference)
    return deposit_confirm(
        provider=provider.name,
        event_id=f"arrival:{deposit.provider_reference}",
        provider_reference=deposit.provider_reference,
    )


def deposit_get_for_user(*, user: User, deposit_id: int) -> Deposit:
    deposit = Deposit.objects.filter(pk=deposit_id, user=user).first()
    if deposit is None:
        raise NotFound(_("No such deposit."))
    return deposit


# --- payouts --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PayoutDestination:
    bank_name: str
    branch_name: str
    account_type: str
    account_number: str
    account_holder: str


def _clean_destination(destination: PayoutDestination) -> PayoutDestination:
    bank = clean_text(destination.bank_name, field="bank_name", length_max=60)
    branch = clean_text(destination.branch_name, field="branch_name", length_max=60)
    holder = clean_text(destination.account_holder, field="account_holder", length_max=60)
    if destination.account_type not in BankAccountType.values:
        raise InvalidInput(_("Choose ordinary or checking."), field="account_type")
    number = destination.account_number.strip()
    if not (number.isascii() and number.isdigit() and len(number) == 7):
        raise InvalidInput(
            _("A Japanese bank account number has 7 digits."), field="account_number"
        )
    return PayoutDestination(bank, branch, destination.account_type, number, holder)


def payout_request(
    *, user: User, amount_jpy: int, destination: PayoutDestination, idempotency_key: str
) -> Payout:
    """出金: earnings go aside at once (so they cannot be spent twice), then the bank is asked.

    The whole requested amount reaches the worker: no transfer fee is deducted (law.md L-31).
    Needs a confirmed e-mail address (403 `email_unverified`).
    """
    check_email_verified(user)
    idempotency_key = idempotency_key_checked(idempotency_key)
    amount_jpy = _check_amount(
        amount_jpy, minimum=limits.PAYOUT_AMOUNT_JPY_MIN, maximum=limits.PAYOUT_AMOUNT_JPY_MAX
    )
    destination = _clean_destination(destination)
    payout = _payout_reserve(
        user=user, amount_jpy=amount_jpy, destination=destination, idempotency_key=idempotency_key
    )
    if not payout.is_sent and payout.status == PayoutStatus.REQUESTED:
        payout_send(payout_id=payout.pk, account_number=destination.account_number)
        payout.refresh_from_db()
    return payout


@transaction.atomic
def _payout_reserve(
    *, user: User, amount_jpy: int, destination: PayoutDestination, idempotency_key: str
) -> Payout:
    payout, created = _create_once(
        Payout,
        user=user,
        idempotency_key=idempotency_key,
        amount_jpy=amount_jpy,
        provider=get_provider().name,
        provider_reference=f"pay_{secrets.token_hex(12)}",
        bank_name=destination.bank_name,
        branch_name=destination.branch_name,
        account_type=destination.account_type,
        account_number_last4=destination.account_number[-4:],
        account_holder=destination.account_holder,
    )
    if not created:
        same = (payout.amount_jpy, payout.account_number_last4) == (
            amount_jpy,
            destination.account_number[-4:],
        )
        if not same:
            raise Conflict(
                _("This Idempotency-Key was already used for a different payout."),
                code="idempotency_key_reused",
                field="idempotency_key",
            )
        return payout
    # Raises InsufficientFunds when earnings are short; the payout row rolls back with it.
    ledger.payout_reserve(
        user=user,
        amount_jpy=amount_jpy,
        idempotency_key=f"payout:{payout.pk}:reserve",
        reference=f"payout:{payout.pk}",
    )
    return payout


def payout_send(*, payout_id: int, account_number: str) -> None:
    payout = Payout.objects.get(pk=payout_id)
    bank_account = BankAccount(
        payout.bank_name,
        payout.branch_name,
        payout.account_type,
        account_number,
        payout.account_holder,
    )
    try:
        expected_at = get_provider().send_payout(
            reference=payout.provider_reference,
            amount_jpy=payout.amount_jpy,
            bank_account=bank_account,
        )
    except ProviderTimeout:
        logger.warning("payout %s: provider timed out; the sweep will ask again", payout_id)
        return
    except ProviderRefused as refusal:
        _payout_finish(payout_id=payout_id, paid=False, failure_reason=refusal.reason)
        return
    Payout.objects.filter(pk=payout_id, is_sent=False).update(is_sent=True, expected_at=expected_at)


@transaction.atomic
def _payout_finish(*, payout_id: int, paid: bool, failure_reason: str = "") -> Payout:
    payout = Payout.objects.select_for_update().get(pk=payout_id)
    if payout.status != PayoutStatus.REQUESTED:
        return payout
    common: dict[str, Any] = {
        "user": payout.user,
        "amount_jpy": payout.amount_jpy,
        "reference": f"payout:{payout.pk}",
    }
    if paid:
        ledger.payout_settle(idempotency_key=f"payout:{payout.pk}:settle", **common)
        payout.status = PayoutStatus.PAID
    else:
        ledger.payout_return(idempotency_key=f"payout:{payout.pk}:return", **common)
        payout.status = PayoutStatus.FAILED
        payout.failure_reason = failure_reason
    payout.completed_at = clock.now()
    payout.save(update_fields=["status", "failure_reason", "completed_at"])
    return payout


def payout_settle_due(*, limit: int = limits.SWEEP_BATCH_MAX) -> int:
    """Sweep: ask the provider about payouts in flight; settle or return each one it decided."""
    provider = get_provider()
    handled = 0
    in_flight = Payout.objects.filter(status=PayoutStatus.REQUESTED, is_sent=True).order_by(
        "expected_at", "id"
    )
    for payout_id, reference in in_flight.values_list("id", "provider_reference")[:limit]:
        try:
            state, reason = provider.payout_status(reference=reference)
        except ProviderTimeout:
            continue
        if state != "in_flight":
            _payout_finish(payout_id=payout_id, paid=state == "paid", failure_reason=reason)
            handled += 1
    return handled


def payout_failure_message(payout: Payout) -> str:
    return str(FAILURE_MESSAGES.get(payout.failure_reason, payout.failure_reason))


def deposit_failure_message(deposit: Deposit) -> str:
    return str(FAILURE_MESSAGES.get(deposit.failure_reason, deposit.failure_reason))
