"""Payment races: one Idempotency-Key sent by many requests at once moves money once, and every
request gets the first request's payout (not a database error)."""

import pytest
from django.db import transaction

from ishibashi.ledger import services as ledger
from ishibashi.ledger.selectors import books_check, wallet_summary_for_user
from ishibashi.payments.models import Payout
from ishibashi.payments.services import PayoutDestination, payout_request
from tests.concurrency.racing import race

pytestmark = pytest.mark.django_db(transaction=True)

BANK = PayoutDestination("みずほ銀行", "渋谷支店", "ordinary", "1234567", "タナカ ミサキ")


@pytest.fixture(autouse=True)
def _cheap_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_six_payouts_with_one_key_at_once_pay_out_once_and_answer_alike(make_user):
    client, worker = make_user(), make_user()
    with transaction.atomic():
        ledger.deposit_credit(user=client, amount_jpy=10_000, idempotency_key="d1", reference="t")
        ledger.escrow_fund(
            client=client, escrow_reference="milestone:t1", amount_jpy=10_000, idempotency_key="f1"
        )
        ledger.escrow_release(
            client=client, worker=worker, escrow_reference="milestone:t1", amount_jpy=10_000,
            fee_rate_bps=0, withholding_applies=False, idempotency_key="r1",
        )  # fmt: skip

    outcomes = race(
        6,
        lambda n: (
            payout_request(
                user=worker, amount_jpy=6_000, destination=BANK, idempotency_key="payout-once"
            ).pk
        ),
    )

    assert [kind for kind, _value in outcomes] == ["ok"] * 6
    assert len({value for _kind, value in outcomes}) == 1
    assert Payout.objects.filter(user=worker).count() == 1
    summary = wallet_summary_for_user(user=worker)
    assert (summary.earnings_jpy, summary.payout_pending_jpy) == (4_000, 6_000)
    assert books_check() == []
