"""Real races: threads, each on its own database connection, hitting the same accounts at once.

SQLite queues writers (BEGIN IMMEDIATE, WAL, busy timeout); PostgreSQL queues them on row locks
taken in account-id order. Either way no money is created, lost or moved twice.
"""

import pytest
from django.db import transaction

from ishibashi.ledger import selectors, services
from ishibashi.ledger.errors import LedgerErrorCode
from ishibashi.ledger.models import AccountKind, Entry, LedgerAccount, Transfer, TransferReason
from ishibashi.ledger.services import Leg
from tests.concurrency.racing import race as _race

THREADS = 8

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _cheap_password_hashing(settings):
    """Sign-up hashes a password; these tests are about money, so hash it cheaply."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _atomic(use_case, **arguments):
    with transaction.atomic():
        return use_case(**arguments).pk


def _deposit(user, amount_jpy):
    return _atomic(
        services.deposit_credit, user=user, amount_jpy=amount_jpy,
        idempotency_key=f"deposit:{user.pk}", reference=f"deposit:{user.pk}",
    )  # fmt: skip


def _balance(key):
    return LedgerAccount.objects.get(key=key).balance_jpy


def test_escrows_funded_at_once_from_one_wallet_take_only_what_it_holds(make_user):
    # given: ¥10,000, and eight milestones of ¥3,000 each funded at the same moment
    client = make_user(email="client@example.jp")
    _deposit(client, 10_000)

    # when
    outcomes = _race(
        THREADS,
        lambda n: _atomic(
            services.escrow_fund, client=client, escrow_reference=f"milestone:{n}",
            amount_jpy=3_000, idempotency_key=f"fund:{n}",
        ),
    )  # fmt: skip

    # then
    funded = [n for n, (kind, _) in enumerate(outcomes) if kind == "ok"]
    assert len(funded) == 3
    assert sorted(refusal.code for kind, refusal in outcomes if kind == "refused") == [
        LedgerErrorCode.EXCEEDS_BALANCE
    ] * (THREADS - 3)
    assert _balance(f"wallet:user:{client.pk}") == 1_000
    assert selectors.wallet_summary_for_user(user=client).escrow_jpy == 9_000
    assert sorted(
        LedgerAccount.objects.filter(kind=AccountKind.ESCROW, balance_jpy__gt=0).values_list(
            "key", flat=True
        )
    ) == sorted(f"escrow:milestone:{n}" for n in funded)
    assert Transfer.objects.filter(reason=TransferReason.ESCROW_FUND).count() == 3
    assert selectors.books_check() == []


def test_one_request_sent_eight_times_at_once_moves_the_money_once(make_user):
    # given
    client = make_user(email="client@example.jp")
    _deposit(client, 10_000)

    # when: the same escrow_fund, same key, from eight threads
    outcomes = _race(
        THREADS,
        lambda n: _atomic(
            services.escrow_fund, client=client, escrow_reference="milestone:1",
            amount_jpy=3_000, idempotency_key="fund:milestone:1",
        ),
    )  # fmt: skip

    # then
    transfer = Transfer.objects.get(idempotency_key="fund:milestone:1")
    assert outcomes == [("ok", transfer.pk)] * THREADS
    assert Transfer.objects.filter(reason=TransferReason.ESCROW_FUND).count() == 1
    assert Entry.objects.filter(transfer=transfer).count() == 2
    assert LedgerAccount.objects.filter(kind=AccountKind.ESCROW).count() == 1
    assert _balance(f"wallet:user:{client.pk}") == 7_000
    assert _balance("escrow:milestone:1") == 3_000
    assert selectors.books_check() == []


def test_one_escrow_released_eight_times_at_once_is_paid_once(make_user):
    # given: ¥10,000 in escrow; the worker's and platform's accounts do not exist yet
    client = make_user(email="client@example.jp")
    worker = make_user(email="worker@example.jp")
    _deposit(client, 10_000)
    _atomic(
        services.escrow_fund, client=client, escrow_reference="milestone:1", amount_jpy=10_000,
        idempotency_key="fund:milestone:1",
    )  # fmt: skip

    # when: eight releases of the full amount, each with its own key
    outcomes = _race(
        THREADS,
        lambda n: _atomic(
            services.escrow_release, client=client, worker=worker,
            escrow_reference="milestone:1", amount_jpy=10_000, fee_rate_bps=1000,
            withholding_applies=True, idempotency_key=f"release:{n}",
        ),
    )  # fmt: skip

    # then
    assert [kind for kind, _ in outcomes].count("ok") == 1
    assert sorted(refusal.code for kind, refusal in outcomes if kind == "refused") == [
        LedgerErrorCode.EXCEEDS_BALANCE
    ] * (THREADS - 1)
    assert _balance("escrow:milestone:1") == 0
    assert selectors.wallet_summary_for_user(user=worker).earnings_jpy == 10_000 - 1_000 - 1_021
    assert _balance("platform_fees") == 1_000
    assert _balance(f"withholding_payable:user:{client.pk}") == 1_021
    assert LedgerAccount.objects.filter(kind=AccountKind.EARNINGS).count() == 1
    assert Transfer.objects.filter(reason=TransferReason.ESCROW_RELEASE).count() == 1
    assert selectors.books_check() == []


def test_one_key_used_at_once_for_movements_over_different_accounts_is_taken_once(make_user):
    """No row lock meets here: the unique key decides, and the others are told it is taken."""
    # given: four clients, each funding their own escrow, all with the same key
    clients = [make_user(email=f"client{n}@example.jp") for n in range(4)]
    for client in clients:
        _deposit(client, 5_000)

    # when
    outcomes = _race(
        len(clients),
        lambda n: _atomic(
            services.escrow_fund, client=clients[n], escrow_reference=f"milestone:{n}",
            amount_jpy=2_000, idempotency_key="fund:shared",
        ),
    )  # fmt: skip

    # then
    winners = [n for n, (kind, _) in enumerate(outcomes) if kind == "ok"]
    assert len(winners) == 1
    assert sorted(refusal.code for kind, refusal in outcomes if kind == "refused") == [
        LedgerErrorCode.EXISTS_WITH_DIFFERENT_FIELDS
    ] * (len(clients) - 1)
    assert Transfer.objects.get(idempotency_key="fund:shared").pk == outcomes[winners[0]][1]
    assert [selectors.wallet_summary_for_user(user=client).wallet_jpy for client in clients] == [
        3_000 if n in winners else 5_000 for n in range(len(clients))
    ]
    assert selectors.books_check() == []


def test_transfers_in_opposite_directions_between_two_accounts_never_deadlock(make_user):
    # given: two wallets of ¥10,000
    alice, bob = make_user(email="alice@example.jp"), make_user(email="bob@example.jp")
    _deposit(alice, 10_000)
    _deposit(bob, 10_000)
    a = LedgerAccount.objects.get(key=f"wallet:user:{alice.pk}")
    b = LedgerAccount.objects.get(key=f"wallet:user:{bob.pk}")
    iterations = 40

    def shuttle(direction):
        source, target, amount = (a, b, 1) if direction == 0 else (b, a, 2)
        for n in range(iterations):
            _atomic(
                services.transfer_create, idempotency_key=f"move:{direction}:{n}",
                reason=TransferReason.ADJUSTMENT,
                legs=[Leg(source.pk, -amount), Leg(target.pk, amount)],
            )  # fmt: skip
        return iterations

    # when: A→B and B→A at the same time, over and over
    outcomes = _race(2, shuttle)

    # then: no deadlock error surfaced (_race fails on any), and every transfer landed
    assert outcomes == [("ok", iterations), ("ok", iterations)]
    assert _balance(a.key) == 10_000 - iterations * 1 + iterations * 2
    assert _balance(b.key) == 10_000 + iterations * 1 - iterations * 2
    assert Transfer.objects.filter(reason=TransferReason.ADJUSTMENT).count() == 2 * iterations
    assert selectors.books_check() == []
