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


def test_four_fundings_with_one_key_at_once_fund_once_and_never_fail(make_user, token_for):
    from django.test import Client

    from ishibashi.contracts.tests.factories import deposit, hire
    from ishibashi.ledger.models import Transfer

    client, worker = make_user(), make_user()
    milestone = hire(client, worker).milestones.order_by("position").first()
    deposit(client, 60_000)
    token = token_for(client)

    def fund(_n):
        api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
        response = api.post(f"/api/v1/milestones/{milestone.pk}/fund", HTTP_IDEMPOTENCY_KEY="k1")
        return response.status_code, response.json().get("code"), response.get("Retry-After")

    outcomes = [value for _kind, value in race(4, fund)]

    assert sorted(status for status, _code, _retry in outcomes)[0] == 200
    for status, code, retry_after in outcomes:
        # The first runs; the others get its answer or "in progress, retry", never "already".
        assert (status, code) in ((200, None), (409, "idempotency_key_in_progress"))
        assert retry_after == ("1" if status == 409 else None)
    assert Transfer.objects.filter(idempotency_key__endswith=":fund").count() == 1
    replay = Client(HTTP_AUTHORIZATION=f"Bearer {token}").post(
        f"/api/v1/milestones/{milestone.pk}/fund", HTTP_IDEMPOTENCY_KEY="k1"
    )
    assert (replay.status_code, replay["Idempotent-Replayed"]) == (200, "true")
    assert books_check() == []
