"""Deposits: the wallet is credited once, only when the provider confirms."""

import pytest
from django.db import transaction

from ishibashi.core.errors import ApplicationError
from ishibashi.ledger.models import Transfer
from ishibashi.ledger.selectors import books_check, wallet_summary_for_user
from ishibashi.operations.sweeps import sweep_once
from ishibashi.payments.models import Deposit, DepositStatus
from ishibashi.payments.providers import (
    SANDBOX_CARD_DECLINED,
    SANDBOX_CARD_SUCCEEDS,
    SANDBOX_CARD_TIMES_OUT,
)
from ishibashi.payments.services import (
    deposit_confirm,
    deposit_start,
    sandbox_bank_transfer_arrive,
)


def wallet_of(user):
    return wallet_summary_for_user(user=user).wallet_jpy


def test_a_card_deposit_credits_the_wallet(make_user):
    client = make_user()

    deposit = deposit_start(
        user=client,
        amount_jpy=50_000,
        method="card",
        card_number=SANDBOX_CARD_SUCCEEDS,
        idempotency_key="k1",
    )

    assert deposit.status == DepositStatus.SUCCEEDED
    assert deposit.card_last4 == "4242"
    assert wallet_of(client) == 50_000
    assert books_check() == []


def test_a_retried_deposit_moves_money_once(make_user):
    client = make_user()

    first = deposit_start(
        user=client,
        amount_jpy=50_000,
        method="card",
        card_number=SANDBOX_CARD_SUCCEEDS,
        idempotency_key="k1",
    )
    again = deposit_start(
        user=client,
        amount_jpy=50_000,
        method="card",
        card_number=SANDBOX_CARD_SUCCEEDS,
        idempotency_key="k1",
    )

    assert again.pk == first.pk
    assert Deposit.objects.count() == 1
    assert Transfer.objects.filter(reason="deposit").count() == 1
    assert wallet_of(client) == 50_000


def test_the_same_key_for_another_deposit_is_refused(make_user):
    client = make_user()
    deposit_start(
        user=client,
        amount_jpy=50_000,
        method="card",
        card_number=SANDBOX_CARD_SUCCEEDS,
        idempotency_key="k1",
    )

    with pytest.raises(ApplicationError) as refusal:
        deposit_start(
            user=client,
            amount_jpy=60_000,
            method="card",
            card_number=SANDBOX_CARD_SUCCEEDS,
            idempotency_key="k1",
        )

    assert refusal.value.code == "idempotency_key_reused"
    assert wallet_of(client) == 50_000


def test_a_declined_card_credits_nothing(make_user):
    client = make_user()

    deposit = deposit_start(
        user=client,
        amount_jpy=50_000,
        method="card",
        card_number=SANDBOX_CARD_DECLINED,
        idempotency_key="k1",
    )

    assert deposit.status == DepositStatus.FAILED
    assert deposit.failure_reason == "card_declined"
    assert wallet_of(client) == 0
    assert Transfer.objects.count() == 0


def test_a_timed_out_charge_stays_pending_until_the_sweep_reconciles_it_once(make_user):
    client = make_user()
    deposit = deposit_start(
        user=client,
        amount_jpy=20_000,
        method="card",
        card_number=SANDBOX_CARD_TIMES_OUT,
        idempotency_key="k1",
    )
    assert deposit.status == DepositStatus.PENDING
    assert wallet_of(client) == 0

    first_round = sweep_once()
    second_round = sweep_once()

    assert first_round["deposits_reconcile"] == 1
    assert second_round["deposits_reconcile"] == 0
    assert Deposit.objects.get(pk=deposit.pk).status == DepositStatus.SUCCEEDED
    assert wallet_of(client) == 20_000


def test_a_bank_transfer_waits_for_the_money_and_a_redelivered_confirmation_is_harmless(make_user):
    client = make_user()
    deposit = deposit_start(
        user=client, amount_jpy=30_000, method="bank_transfer", idempotency_key="k1"
    )
    assert deposit.status == DepositStatus.PENDING
    assert len(deposit.transfer_code) == 8
    assert wallet_of(client) == 0

    sandbox_bank_transfer_arrive(user=client, deposit_id=deposit.pk)
    deposit_confirm(
        provider="sandbox",
        event_id=f"arrival:{deposit.provider_reference}",
        provider_reference=deposit.provider_reference,
    )
    deposit_confirm(
        provider="sandbox", event_id="another-event", provider_reference=deposit.provider_reference
    )

    assert wallet_of(client) == 30_000
    assert Transfer.objects.filter(reason="deposit").count() == 1
    assert books_check() == []


@pytest.mark.parametrize(
    ("_case", "amount", "method", "card", "field"),
    [
        ("zero", 0, "card", SANDBOX_CARD_SUCCEEDS, "amount_jpy"),
        ("negative", -100, "card", SANDBOX_CARD_SUCCEEDS, "amount_jpy"),
        ("below minimum", 99, "card", SANDBOX_CARD_SUCCEEDS, "amount_jpy"),
        ("above maximum", 10_000_001, "card", SANDBOX_CARD_SUCCEEDS, "amount_jpy"),
        ("float", 1000.5, "card", SANDBOX_CARD_SUCCEEDS, "amount_jpy"),
        ("bool", True, "card", SANDBOX_CARD_SUCCEEDS, "amount_jpy"),
        ("unknown method", 1000, "cash", "", "method"),
        ("card fails Luhn", 1000, "card", "4242424242424241", "card_number"),
        ("card with letters", 1000, "card", "4242abcd", "card_number"),
    ],
)
def test_bad_deposits_are_refused_and_write_nothing(make_user, _case, amount, method, card, field):
    client = make_user()

    with pytest.raises(ApplicationError) as refusal:
        deposit_start(
            user=client, amount_jpy=amount, method=method, card_number=card, idempotency_key="k1"
        )

    assert refusal.value.field == field
    assert Deposit.objects.count() == 0
    assert Transfer.objects.count() == 0


def test_nobody_can_simulate_arrival_of_someone_elses_transfer(make_user):
    owner, stranger = make_user(), make_user()
    deposit = deposit_start(
        user=owner, amount_jpy=30_000, method="bank_transfer", idempotency_key="k1"
    )

    with pytest.raises(ApplicationError) as refusal:
        sandbox_bank_transfer_arrive(user=stranger, deposit_id=deposit.pk)

    assert refusal.value.code == "not_found"
    assert wallet_of(owner) == 0


def test_a_confirmation_for_an_unknown_deposit_is_not_found(db):
    with pytest.raises(ApplicationError) as refusal, transaction.atomic():
        deposit_confirm(provider="sandbox", event_id="e1", provider_reference="dep_nope")

    assert refusal.value.code == "not_found"
