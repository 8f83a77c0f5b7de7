"""Payouts: earnings leave once, in full; a failed bank transfer returns them."""

import pytest
from django.db import transaction

from ishibashi.core.errors import ApplicationError
from ishibashi.ledger import services as ledger
from ishibashi.ledger.models import Transfer
from ishibashi.ledger.selectors import books_check, wallet_summary_for_user
from ishibashi.operations.sweeps import sweep_once
from ishibashi.payments.models import Payout, PayoutStatus
from ishibashi.payments.services import PayoutDestination, payout_request

BANK = PayoutDestination("みずほ銀行", "渋谷支店", "ordinary", "1234567", "タナカ ミサキ")
FAILING_BANK = PayoutDestination("みずほ銀行", "渋谷支店", "ordinary", "0000000", "タナカ ミサキ")


@pytest.fixture
def worker_with_earnings(make_user):
    """A worker paid ¥10,000 for a milestone (no fee, no withholding, for round numbers)."""
    client, worker = make_user(), make_user()
    with transaction.atomic():
        ledger.deposit_credit(
            user=client, amount_jpy=10_000, idempotency_key="d1", reference="test"
        )
        ledger.escrow_fund(
            client=client, escrow_reference="milestone:t1", amount_jpy=10_000, idempotency_key="f1"
        )
        ledger.escrow_release(
            client=client,
            worker=worker,
            escrow_reference="milestone:t1",
            amount_jpy=10_000,
            fee_rate_bps=0,
            withholding_applies=False,
            idempotency_key="r1",
        )
    return worker


def test_a_payout_reserves_earnings_then_settles_in_full(
    worker_with_earnings, time_machine, settings
):
    settings.SANDBOX_PAYOUT_DELAY_SECONDS = 60
    time_machine.move_to("2026-11-23 10:00:00+09:00", tick=False)
    worker = worker_with_earnings

    payout = payout_request(user=worker, amount_jpy=7_000, destination=BANK, idempotency_key="p1")
    summary = wallet_summary_for_user(user=worker)
    assert (summary.earnings_jpy, summary.payout_pending_jpy) == (3_000, 7_000)
    assert payout.status == PayoutStatus.REQUESTED
    assert payout.account_number_last4 == "4567"
    assert sweep_once()["payouts_settle"] == 0  # not arrived yet

    time_machine.shift(61)
    handled = sweep_once()["payouts_settle"]

    assert handled == 1
    assert Payout.objects.get(pk=payout.pk).status == PayoutStatus.PAID
    summary = wallet_summary_for_user(user=worker)
    assert (summary.earnings_jpy, summary.payout_pending_jpy) == (3_000, 0)
    settle = Transfer.objects.get(reason="payout_settle")
    assert sorted(e.amount_jpy for e in settle.entries.all()) == [-7_000, 7_000]  # no fee deducted
    assert books_check() == []


def test_a_failed_bank_transfer_returns_the_money_to_earnings(
    worker_with_earnings, time_machine, settings
):
    settings.SANDBOX_PAYOUT_DELAY_SECONDS = 60
    time_machine.move_to("2026-11-23 10:00:00+09:00", tick=False)
    worker = worker_with_earnings
    payout = payout_request(
        user=worker, amount_jpy=10_000, destination=FAILING_BANK, idempotency_key="p1"
    )

    time_machine.shift(61)
    sweep_once()
    sweep_once()

    stored = Payout.objects.get(pk=payout.pk)
    assert stored.status == PayoutStatus.FAILED
    assert stored.failure_reason == "account_not_found"
    summary = wallet_summary_for_user(user=worker)
    assert (summary.earnings_jpy, summary.payout_pending_jpy) == (10_000, 0)
    assert Transfer.objects.filter(reason="payout_return").count() == 1
    assert books_check() == []


def test_a_retried_payout_request_pays_once(worker_with_earnings):
    worker = worker_with_earnings

    first = payout_request(user=worker, amount_jpy=4_000, destination=BANK, idempotency_key="p1")
    again = payout_request(user=worker, amount_jpy=4_000, destination=BANK, idempotency_key="p1")

    assert again.pk == first.pk
    assert Payout.objects.count() == 1
    assert wallet_summary_for_user(user=worker).earnings_jpy == 6_000


def test_a_payout_above_earnings_is_refused_and_writes_nothing(worker_with_earnings):
    worker = worker_with_earnings
    transfers_before = Transfer.objects.count()

    with pytest.raises(ApplicationError) as refusal:
        payout_request(user=worker, amount_jpy=10_001, destination=BANK, idempotency_key="p1")

    assert refusal.value.code == "exceeds_balance"
    assert Payout.objects.count() == 0
    assert Transfer.objects.count() == transfers_before
    assert wallet_summary_for_user(user=worker).earnings_jpy == 10_000


@pytest.mark.parametrize(
    ("_case", "amount", "destination", "field"),
    [
        ("zero", 0, BANK, "amount_jpy"),
        ("float", 10.5, BANK, "amount_jpy"),
        (
            "short account number",
            1000,
            PayoutDestination("銀行", "支店", "ordinary", "123", "タナカ"),
            "account_number",
        ),
        (
            "unknown account type",
            1000,
            PayoutDestination("銀行", "支店", "savings", "1234567", "タナカ"),
            "account_type",
        ),
        (
            "blank holder",
            1000,
            PayoutDestination("銀行", "支店", "ordinary", "1234567", " "),
            "account_holder",
        ),
    ],
)
def test_bad_payouts_are_refused(worker_with_earnings, _case, amount, destination, field):
    with pytest.raises(ApplicationError) as refusal:
        payout_request(
            user=worker_with_earnings,
            amount_jpy=amount,
            destination=destination,
            idempotency_key="p1",
        )

    assert refusal.value.field == field
    assert Payout.objects.count() == 0
