"""transfers_create: many transfers at once, each as transfer_create would make it, in order.

One batch is all or nothing: a refusal of any transfer leaves none of them written, a replayed
key answers with its first transfer and moves nothing again.
"""

import pytest
from django.db import transaction

from ishibashi.core.errors import ApplicationError
from ishibashi.ledger import selectors, services
from ishibashi.ledger.errors import LedgerErrorCode
from ishibashi.ledger.models import AccountKind, Entry, LedgerAccount, Transfer, TransferReason
from ishibashi.ledger.services import Leg, TransferRequest


@pytest.fixture(autouse=True)
def _cheap_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def accounts(make_user):
    """Provider clearing, two wallets (¥10,000 in the first) and the fee account."""
    clearing = services.account_get_or_create(kind=AccountKind.PROVIDER_CLEARING)
    first = services.account_get_or_create(
        kind=AccountKind.WALLET, owner=make_user(email="a@example.jp")
    )
    second = services.account_get_or_create(
        kind=AccountKind.WALLET, owner=make_user(email="b@example.jp")
    )
    fees = services.account_get_or_create(kind=AccountKind.PLATFORM_FEES)
    with transaction.atomic():
        services.transfer_create(
            idempotency_key="deposit:1", reason=TransferReason.DEPOSIT,
            legs=[Leg(clearing.pk, -10_000), Leg(first.pk, 10_000)],
        )  # fmt: skip
    return clearing, first, second, fees


def _books():
    return (
        Transfer.objects.count(),
        Entry.objects.count(),
        dict(LedgerAccount.objects.values_list("key", "balance_jpy")),
    )


def _request(key, *legs):
    return TransferRequest(idempotency_key=key, reason=TransferReason.ADJUSTMENT, legs=list(legs))


def test_a_batch_applies_its_transfers_in_order_with_running_balances(accounts):
    _clearing, first, second, fees = accounts
    with transaction.atomic():
        made = services.transfers_create(
            [
                _request("t:1", Leg(first.pk, -6_000), Leg(second.pk, 5_000), Leg(fees.pk, 1_000)),
                # Only possible after the first: the second wallet pays back out of what it got.
                _request("t:2", Leg(second.pk, -4_000), Leg(first.pk, 3_000), Leg(fees.pk, 1_000)),
            ]
        )

    assert [t.idempotency_key for t in made] == ["t:1", "t:2"]
    assert made[0].pk < made[1].pk
    balances = dict(LedgerAccount.objects.values_list("pk", "balance_jpy"))
    assert (balances[first.pk], balances[second.pk], balances[fees.pk]) == (7_000, 1_000, 2_000)
    after = {
        (entry.transfer.idempotency_key, entry.account_id): entry.balance_after_jpy
        for entry in Entry.objects.select_related("transfer")
    }
    assert after[("t:1", first.pk)] == 4_000
    assert after[("t:1", fees.pk)] == 1_000
    assert after[("t:2", fees.pk)] == 2_000
    assert after[("t:2", second.pk)] == 1_000
    assert selectors.books_check() == []


def test_a_batch_with_one_overdraft_writes_none_of_its_transfers(accounts):
    _clearing, first, second, fees = accounts
    before = _books()

    with pytest.raises(ApplicationError) as refusal, transaction.atomic():
        services.transfers_create(
            [
                _request("t:1", Leg(first.pk, -9_000), Leg(second.pk, 9_000)),
                _request("t:2", Leg(first.pk, -2_000), Leg(fees.pk, 2_000)),  # ¥1,000 left
            ]
        )

    assert refusal.value.code == LedgerErrorCode.EXCEEDS_BALANCE
    assert _books() == before


def test_a_replayed_batch_moves_nothing_again_and_answers_with_the_first_transfers(accounts):
    _clearing, first, second, _fees = accounts
    batch = [
        _request("t:1", Leg(first.pk, -1_000), Leg(second.pk, 1_000)),
        _request("t:2", Leg(first.pk, -2_000), Leg(second.pk, 2_000)),
    ]
    with transaction.atomic():
        made = services.transfers_create(batch)
    after_first = _books()

    with transaction.atomic():
        again = services.transfers_create(batch)
        # A batch with one new transfer and one replayed: the new one moves, the old one not.
        mixed = services.transfers_create(
            [batch[1], _request("t:3", Leg(first.pk, -500), Leg(second.pk, 500))]
        )

    assert [t.pk for t in again] == [t.pk for t in made]
    assert mixed[0].pk == made[1].pk
    assert Transfer.objects.count() == after_first[0] + 1
    assert LedgerAccount.objects.get(pk=second.pk).balance_jpy == 3_500
    assert selectors.books_check() == []


def test_a_key_used_for_another_movement_refuses_the_whole_batch(accounts):
    _clearing, first, second, _fees = accounts
    with transaction.atomic():
        services.transfers_create([_request("t:1", Leg(first.pk, -1_000), Leg(second.pk, 1_000))])
    before = _books()

    with pytest.raises(ApplicationError) as refusal, transaction.atomic():
        services.transfers_create(
            [
                _request("t:2", Leg(first.pk, -1_000), Leg(second.pk, 1_000)),
                _request("t:1", Leg(first.pk, -3_000), Leg(second.pk, 3_000)),
            ]
        )

    assert refusal.value.code == LedgerErrorCode.EXISTS_WITH_DIFFERENT_FIELDS
    assert _books() == before


def test_a_malformed_transfer_refuses_the_batch_before_anything_is_written(accounts):
    _clearing, first, second, _fees = accounts
    before = _books()

    with pytest.raises(ApplicationError) as refusal, transaction.atomic():
        services.transfers_create(
            [
                _request("t:1", Leg(first.pk, -1_000), Leg(second.pk, 1_000)),
                _request("t:2", Leg(first.pk, -1_000), Leg(second.pk, 999)),
            ]
        )

    assert refusal.value.code == LedgerErrorCode.LEGS_MUST_BALANCE
    assert _books() == before


def test_escrow_release_many_pays_as_escrow_release_does(make_user):
    client = make_user(email="client@example.jp")
    workers = [make_user(email=f"w{i}@example.jp") for i in range(2)]
    clearing = services.account_get_or_create(kind=AccountKind.PROVIDER_CLEARING)
    wallet = services.account_get_or_create(kind=AccountKind.WALLET, owner=client)
    with transaction.atomic():
        services.transfer_create(
            idempotency_key="deposit:1", reason=TransferReason.DEPOSIT,
            legs=[Leg(clearing.pk, -300_000), Leg(wallet.pk, 300_000)],
        )  # fmt: skip
        for n in (1, 2, 3):
            services.escrow_fund(
                client=client, escrow_reference=f"milestone:{n}", amount_jpy=100_000,
                idempotency_key=f"milestone:{n}:fund",
            )  # fmt: skip

    def release(n, worker, withholding):
        return services.EscrowRelease(
            client=client, worker=worker, escrow_reference=f"milestone:{n}", amount_jpy=100_000,
            fee_rate_bps=1_000, withholding_applies=withholding,
            idempotency_key=f"milestone:{n}:release",
        )  # fmt: skip

    with transaction.atomic():
        many = services.escrow_release_many(
            [release(1, workers[0], False), release(2, workers[1], True)]
        )
        alone = services.escrow_release(**release(3, workers[0], False).__dict__)

    def legs(transfer):
        return sorted(
            (entry.account.kind, entry.amount_jpy)
            for entry in Entry.objects.filter(transfer=transfer).select_related("account")
        )

    assert legs(many[0]) == legs(alone)
    assert legs(many[1]) == sorted(
        [("escrow", -100_000), ("earnings", 100_000 - 10_000 - 10_210),
         ("platform_fees", 10_000), ("withholding_payable", 10_210)]
    )  # fmt: skip
    balance = dict(LedgerAccount.objects.values_list("key", "balance_jpy"))
    assert balance[f"earnings:user:{workers[0].pk}"] == 2 * 90_000
    assert all(balance[f"escrow:milestone:{n}"] == 0 for n in (1, 2, 3))
    assert selectors.books_check() == []
