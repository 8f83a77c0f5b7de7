"""transfer_create: one balanced, immutable, idempotent movement; anything else writes nothing."""

from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import ProtectedError

from ishibashi.core import limits
from ishibashi.core.errors import ApplicationError
from ishibashi.core.invariants import InvariantViolation
from ishibashi.ledger import selectors, services
from ishibashi.ledger.errors import LedgerErrorCode
from ishibashi.ledger.models import AccountKind, Entry, LedgerAccount, Transfer, TransferReason
from ishibashi.ledger.services import Leg


def _books():
    """Everything a refusal must leave alone: row counts and every account's balance."""
    return (
        Transfer.objects.count(),
        Entry.objects.count(),
        dict(LedgerAccount.objects.values_list("key", "balance_jpy")),
    )


def _balance(account):
    return LedgerAccount.objects.get(pk=account.pk).balance_jpy


def _legs_of(transfer):
    return [
        (entry.account.key, entry.amount_jpy, entry.balance_after_jpy)
        for entry in transfer.entries.select_related("account").order_by("account_id")
    ]


def _refused(**arguments):
    """Call transfer_create expecting a refusal; return the error."""
    with pytest.raises(ApplicationError) as refusal, transaction.atomic():
        services.transfer_create(**arguments)
    return refusal.value


@pytest.fixture(autouse=True)
def _cheap_password_hashing(settings):
    """Sign-up hashes a password; these tests are about money, so hash it cheaply."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def clearing(db):
    return services.account_get_or_create(kind=AccountKind.PROVIDER_CLEARING)


@pytest.fixture
def client(make_user):
    return make_user(email="client@example.jp")


@pytest.fixture
def wallet(client):
    return services.account_get_or_create(kind=AccountKind.WALLET, owner=client)


@pytest.fixture
def funded_wallet(clearing, wallet):
    """A wallet holding ¥10,000, deposited from the provider's clearing account."""
    services.transfer_create(
        idempotency_key="deposit:1", reason=TransferReason.DEPOSIT,
        legs=[Leg(clearing.pk, -10_000), Leg(wallet.pk, 10_000)],
    )  # fmt: skip
    return wallet


# --- what a valid transfer writes -------------------------------------------------------------


def test_a_two_leg_transfer_moves_the_money_and_records_each_leg_with_its_running_balance(
    clearing, wallet
):
    # when
    transfer = services.transfer_create(
        idempotency_key="deposit:1", reason=TransferReason.DEPOSIT, reference="deposit:1",
        memo="card", legs=[Leg(clearing.pk, -3_000), Leg(wallet.pk, 3_000)],
    )  # fmt: skip

    # then
    transfer.refresh_from_db()
    assert (transfer.reason, transfer.reference, transfer.memo, transfer.currency) == (
        "deposit", "deposit:1", "card", "JPY",
    )  # fmt: skip
    assert transfer.idempotency_key == "deposit:1"
    assert len(transfer.fingerprint) == 64
    assert clearing.pk < wallet.pk
    assert _legs_of(transfer) == [("provider_clearing", -3_000, -3_000), (wallet.key, 3_000, 3_000)]
    assert (_balance(clearing), _balance(wallet)) == (-3_000, 3_000)
    assert selectors.books_check() == []


def test_the_transfer_returned_is_the_one_the_database_holds(make_user, clearing, wallet):
    operator = make_user(email="operator@example.jp")

    # when
    returned = services.transfer_create(
        idempotency_key="deposit:1", reason=TransferReason.DEPOSIT, reference="deposit:1",
        memo="カード入金", created_by=operator,
        legs=[Leg(clearing.pk, -3_000), Leg(wallet.pk, 3_000)],
    )  # fmt: skip

    # then
    stored = Transfer.objects.get(pk=returned.pk)
    fields = ("idempotency_key", "fingerprint", "reason", "currency", "reference", "memo",
              "created_by_id", "created_at")  # fmt: skip
    assert [getattr(returned, f) for f in fields] == [getattr(stored, f) for f in fields]
    assert returned.created_by_id == operator.pk
    assert {entry.created_at for entry in stored.entries.all()} == {stored.created_at}


def test_a_three_leg_transfer_splits_one_debit_into_two_credits(make_user, clearing, funded_wallet):
    # given
    worker = make_user(email="worker@example.jp")
    earnings = services.account_get_or_create(kind=AccountKind.EARNINGS, owner=worker)
    fees = services.account_get_or_create(kind=AccountKind.PLATFORM_FEES)

    # when
    transfer = services.transfer_create(
        idempotency_key="release:1", reason=TransferReason.ESCROW_RELEASE,
        legs=[Leg(funded_wallet.pk, -4_000), Leg(earnings.pk, 3_200), Leg(fees.pk, 800)],
    )  # fmt: skip

    # then
    assert _legs_of(transfer) == [
        (funded_wallet.key, -4_000, 6_000),
        (earnings.key, 3_200, 3_200),
        ("platform_fees", 800, 800),
    ]
    assert (_balance(funded_wallet), _balance(earnings), _balance(fees)) == (6_000, 3_200, 800)
    assert Transfer.objects.count() == 2
    assert Entry.objects.count() == 5
    assert selectors.books_check() == []


def test_each_entry_remembers_the_balance_right_after_it(clearing, wallet):
    for n, amount in enumerate([500, 1_200, 300], start=1):
        services.transfer_create(
            idempotency_key=f"deposit:{n}", reason=TransferReason.DEPOSIT,
            legs=[Leg(clearing.pk, -amount), Leg(wallet.pk, amount)],
        )  # fmt: skip

    assert list(
        Entry.objects.filter(account=wallet)
        .order_by("id")
        .values_list("amount_jpy", "balance_after_jpy")
    ) == [(500, 500), (1_200, 1_700), (300, 2_000)]
    assert _balance(wallet) == 2_000


def test_a_guarded_account_may_be_emptied_to_exactly_zero(clearing, funded_wallet):
    services.transfer_create(
        idempotency_key="refund:1", reason=TransferReason.ADJUSTMENT,
        legs=[Leg(funded_wallet.pk, -10_000), Leg(clearing.pk, 10_000)],
    )  # fmt: skip

    assert (_balance(funded_wallet), _balance(clearing)) == (0, 0)
    assert selectors.books_check() == []


def test_the_largest_allowed_amount_moves(clearing, wallet):
    services.transfer_create(
        idempotency_key="deposit:max", reason=TransferReason.DEPOSIT,
        legs=[Leg(clearing.pk, -limits.TRANSFER_AMOUNT_JPY_MAX),
              Leg(wallet.pk, limits.TRANSFER_AMOUNT_JPY_MAX)],
    )  # fmt: skip

    assert _balance(wallet) == limits.TRANSFER_AMOUNT_JPY_MAX


# --- idempotency ------------------------------------------------------------------------------


def test_a_replay_with_the_same_key_and_movement_returns_the_first_transfer_and_writes_nothing(
    clearing, wallet
):
    # given
    first = services.transfer_create(
        idempotency_key="deposit:1", reason=TransferReason.DEPOSIT, reference="deposit:1",
        legs=[Leg(clearing.pk, -3_000), Leg(wallet.pk, 3_000)],
    )  # fmt: skip
    before = _books()

    # when: the same movement, the legs given in the other order
    again = services.transfer_create(
        idempotency_key="deposit:1", reason=TransferReason.DEPOSIT, reference="deposit:1",
        legs=[Leg(wallet.pk, 3_000), Leg(clearing.pk, -3_000)],
    )  # fmt: skip

    # then
    assert again.pk == first.pk
    assert _books() == before
    assert _balance(wallet) == 3_000


@pytest.mark.parametrize(
    ("_case", "change"),
    [
        ("other_amount", {"legs": lambda c, w, o: [Leg(c, -3_001), Leg(w, 3_001)]}),
        ("other_account", {"legs": lambda c, w, o: [Leg(c, -3_000), Leg(o, 3_000)]}),
        ("extra_leg", {"legs": lambda c, w, o: [Leg(c, -3_000), Leg(w, 2_000), Leg(o, 1_000)]}),
        ("other_reason", {"reason": TransferReason.ADJUSTMENT}),
        ("other_reference", {"reference": "deposit:2"}),
    ],
)
def test_the_same_key_for_another_movement_is_refused_and_writes_nothing(
    _case, change, make_user, clearing, wallet
):
    # given
    other = services.account_get_or_create(
        kind=AccountKind.WALLET, owner=make_user(email="other@example.jp")
    )
    first = {
        "idempotency_key": "deposit:1", "reason": TransferReason.DEPOSIT, "reference": "deposit:1",
        "legs": [Leg(clearing.pk, -3_000), Leg(wallet.pk, 3_000)],
    }  # fmt: skip
    services.transfer_create(**first)
    before = _books()
    arguments = {**first, **change}
    if "legs" in change:
        arguments["legs"] = change["legs"](clearing.pk, wallet.pk, other.pk)

    # when
    refusal = _refused(**arguments)

    # then
    assert refusal.code == LedgerErrorCode.EXISTS_WITH_DIFFERENT_FIELDS
    assert refusal.field == "idempotency_key"
    assert _books() == before


def test_a_replay_answers_with_the_first_transfer_even_after_the_balance_has_dropped(
    make_user, clearing, funded_wallet
):
    """TigerBeetle's precedence: idempotency is checked before balances."""
    # given: ¥10,000 spent in one transfer, the wallet now empty
    fees = services.account_get_or_create(kind=AccountKind.PLATFORM_FEES)
    spend = {
        "idempotency_key": "spend:1", "reason": TransferReason.ADJUSTMENT,
        "legs": [Leg(funded_wallet.pk, -10_000), Leg(fees.pk, 10_000)],
    }  # fmt: skip
    first = services.transfer_create(**spend)
    assert _balance(funded_wallet) == 0
    before = _books()

    # when: the same request comes again, which would now overdraw
    again = services.transfer_create(**spend)

    # then
    assert again.pk == first.pk
    assert _books() == before


def test_a_malformed_replay_is_refused_for_its_shape_before_the_key_is_looked_up(clearing, wallet):
    services.transfer_create(
        idempotency_key="deposit:1", reason=TransferReason.DEPOSIT,
        legs=[Leg(clearing.pk, -3_000), Leg(wallet.pk, 3_000)],
    )  # fmt: skip
    before = _books()

    refusal = _refused(
        idempotency_key="deposit:1", reason=TransferReason.DEPOSIT,
        legs=[Leg(clearing.pk, -3_000), Leg(wallet.pk, 2_999)],
    )  # fmt: skip

    assert refusal.code == LedgerErrorCode.LEGS_MUST_BALANCE
    assert _books() == before


# --- malformed transfers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "debit", "credit", "code"),
    [
        ("zero", 0, 0, LedgerErrorCode.AMOUNT_MUST_NOT_BE_ZERO),
        ("zero_debit", 0, 100, LedgerErrorCode.AMOUNT_MUST_NOT_BE_ZERO),
        ("sum_negative", -100, 99, LedgerErrorCode.LEGS_MUST_BALANCE),
        ("sum_positive", -99, 100, LedgerErrorCode.LEGS_MUST_BALANCE),
        ("both_credits", 100, 100, LedgerErrorCode.LEGS_MUST_BALANCE),
        ("float", -100.0, 100.0, LedgerErrorCode.AMOUNT_MUST_BE_INTEGER),
        ("float_credit", -100, 100.0, LedgerErrorCode.AMOUNT_MUST_BE_INTEGER),
        ("decimal", Decimal(-100), Decimal(100), LedgerErrorCode.AMOUNT_MUST_BE_INTEGER),
        ("bool", -1, True, LedgerErrorCode.AMOUNT_MUST_BE_INTEGER),
        ("str", "-100", "100", LedgerErrorCode.AMOUNT_MUST_BE_INTEGER),
        ("none", None, None, LedgerErrorCode.AMOUNT_MUST_BE_INTEGER),
        (
            "overflow",
            -(limits.TRANSFER_AMOUNT_JPY_MAX + 1),
            limits.TRANSFER_AMOUNT_JPY_MAX + 1,
            LedgerErrorCode.AMOUNT_EXCEEDS_MAXIMUM,
        ),
        ("overflow_64_bit", -(2**63), 2**63, LedgerErrorCode.AMOUNT_EXCEEDS_MAXIMUM),
    ],
)
def test_a_malformed_amount_is_refused_and_writes_nothing(
    _case, debit, credit, code, clearing, funded_wallet
):
    # given
    before = _books()

    # when
    refusal = _refused(
        idempotency_key="bad:1", reason=TransferReason.DEPOSIT,
        legs=[Leg(clearing.pk, debit), Leg(funded_wallet.pk, credit)],
    )  # fmt: skip

    # then
    assert refusal.code == code
    assert refusal.field == "amount_jpy"
    assert refusal.http_status == 422
    assert _books() == before


def test_a_transfer_with_one_leg_is_refused(funded_wallet):
    before = _books()

    refusal = _refused(
        idempotency_key="bad:1", reason=TransferReason.ADJUSTMENT,
        legs=[Leg(funded_wallet.pk, 100)],
    )  # fmt: skip

    assert refusal.code == LedgerErrorCode.TOO_FEW_LEGS
    assert _books() == before


def test_a_transfer_with_no_legs_is_refused(db):
    refusal = _refused(idempotency_key="bad:1", reason=TransferReason.ADJUSTMENT, legs=[])

    assert refusal.code == LedgerErrorCode.TOO_FEW_LEGS
    assert _books() == (0, 0, {})


def test_a_transfer_over_more_than_the_maximum_number_of_accounts_is_refused(make_user, clearing):
    # given
    wallets = [
        services.account_get_or_create(
            kind=AccountKind.WALLET, owner=make_user(email=f"p{n}@example.jp")
        )
        for n in range(limits.TRANSFER_LEGS_MAX)
    ]
    before = _books()

    # when
    refusal = _refused(
        idempotency_key="bad:1", reason=TransferReason.DEPOSIT,
        legs=[Leg(clearing.pk, -len(wallets)), *(Leg(w.pk, 1) for w in wallets)],
    )  # fmt: skip

    # then
    assert refusal.code == LedgerErrorCode.TOO_MANY_LEGS
    assert _books() == before


def test_the_same_account_twice_in_one_transfer_is_refused(clearing, funded_wallet):
    before = _books()

    refusal = _refused(
        idempotency_key="bad:1", reason=TransferReason.ADJUSTMENT,
        legs=[Leg(funded_wallet.pk, -100), Leg(funded_wallet.pk, 100)],
    )  # fmt: skip

    assert refusal.code == LedgerErrorCode.ACCOUNTS_MUST_BE_DIFFERENT
    assert _books() == before


def test_an_unknown_account_is_refused_as_not_found(clearing, funded_wallet):
    before = _books()
    missing_id = LedgerAccount.objects.order_by("-pk").values_list("pk", flat=True)[0] + 1000

    refusal = _refused(
        idempotency_key="bad:1", reason=TransferReason.DEPOSIT,
        legs=[Leg(clearing.pk, -100), Leg(missing_id, 100)],
    )  # fmt: skip

    assert refusal.code == LedgerErrorCode.ACCOUNT_NOT_FOUND
    assert refusal.http_status == 404
    assert _books() == before


def test_an_account_in_another_currency_is_refused(clearing, funded_wallet):
    # given
    dollars = LedgerAccount.objects.create(
        key="usd_clearing", kind=AccountKind.PROVIDER_CLEARING, currency="USD", is_guarded=False
    )
    before = _books()

    # when
    refusal = _refused(
        idempotency_key="bad:1", reason=TransferReason.ADJUSTMENT,
        legs=[Leg(dollars.pk, -100), Leg(funded_wallet.pk, 100)],
    )  # fmt: skip

    # then
    assert refusal.code == LedgerErrorCode.CURRENCY_MISMATCH
    assert refusal.field == "currency"
    assert _books() == before


@pytest.mark.parametrize(
    ("_case", "idempotency_key", "code"),
    [
        ("empty", "", LedgerErrorCode.IDEMPOTENCY_KEY_REQUIRED),
        (
            "too_long",
            "k" * (limits.IDEMPOTENCY_KEY_LENGTH_MAX + 1),
            LedgerErrorCode.IDEMPOTENCY_KEY_TOO_LONG,
        ),
    ],
)
def test_a_missing_or_overlong_idempotency_key_is_refused(
    _case, idempotency_key, code, clearing, funded_wallet
):
    before = _books()

    refusal = _refused(
        idempotency_key=idempotency_key, reason=TransferReason.DEPOSIT,
        legs=[Leg(clearing.pk, -100), Leg(funded_wallet.pk, 100)],
    )  # fmt: skip

    assert refusal.code == code
    assert refusal.field == "idempotency_key"
    assert _books() == before


def test_an_idempotency_key_of_exactly_the_maximum_length_is_accepted(clearing, wallet):
    key = "k" * limits.IDEMPOTENCY_KEY_LENGTH_MAX

    transfer = services.transfer_create(
        idempotency_key=key, reason=TransferReason.DEPOSIT,
        legs=[Leg(clearing.pk, -100), Leg(wallet.pk, 100)],
    )  # fmt: skip

    assert Transfer.objects.get(pk=transfer.pk).idempotency_key == key


@pytest.mark.parametrize(
    ("_case", "reason"), [("unknown", "gift"), ("empty", ""), ("label", "Deposit")]
)
def test_an_unknown_reason_is_refused(_case, reason, clearing, funded_wallet):
    before = _books()

    refusal = _refused(
        idempotency_key="bad:1", reason=reason,
        legs=[Leg(clearing.pk, -100), Leg(funded_wallet.pk, 100)],
    )  # fmt: skip

    assert refusal.code == LedgerErrorCode.REASON_UNKNOWN
    assert refusal.field == "reason"
    assert _books() == before


@pytest.mark.parametrize(("_case", "amount_jpy"), [("one_yen_over", 10_001), ("far_over", 500_000)])
def test_overdrawing_a_guarded_account_is_refused_and_writes_nothing(
    _case, amount_jpy, clearing, funded_wallet
):
    # given
    before = _books()

    # when
    refusal = _refused(
        idempotency_key="spend:1", reason=TransferReason.ADJUSTMENT,
        legs=[Leg(funded_wallet.pk, -amount_jpy), Leg(clearing.pk, amount_jpy)],
    )  # fmt: skip

    # then
    assert refusal.code == LedgerErrorCode.EXCEEDS_BALANCE
    assert refusal.http_status == 409
    assert _balance(funded_wallet) == 10_000
    assert _books() == before


def test_an_unguarded_platform_account_may_go_negative(clearing, wallet):
    services.transfer_create(
        idempotency_key="deposit:1", reason=TransferReason.DEPOSIT,
        legs=[Leg(clearing.pk, -7_000), Leg(wallet.pk, 7_000)],
    )  # fmt: skip

    assert _balance(clearing) == -7_000


def test_a_refused_overdraft_leaves_the_key_free_for_a_corrected_transfer(clearing, funded_wallet):
    # given
    _refused(
        idempotency_key="spend:1", reason=TransferReason.ADJUSTMENT,
        legs=[Leg(funded_wallet.pk, -20_000), Leg(clearing.pk, 20_000)],
    )  # fmt: skip

    # when
    transfer = services.transfer_create(
        idempotency_key="spend:1", reason=TransferReason.ADJUSTMENT,
        legs=[Leg(funded_wallet.pk, -2_000), Leg(clearing.pk, 2_000)],
    )  # fmt: skip

    # then
    assert Transfer.objects.filter(idempotency_key="spend:1").get().pk == transfer.pk
    assert _balance(funded_wallet) == 8_000


@pytest.mark.django_db(transaction=True)
def test_transfer_create_outside_a_transaction_is_a_bug_and_writes_nothing(clearing, wallet):
    # given
    assert not connection.in_atomic_block
    before = _books()

    # when
    with pytest.raises(InvariantViolation, match="inside a transaction"):
        services.transfer_create(
            idempotency_key="deposit:1", reason=TransferReason.DEPOSIT,
            legs=[Leg(clearing.pk, -100), Leg(wallet.pk, 100)],
        )  # fmt: skip

    # then
    assert _books() == before


# --- immutability -----------------------------------------------------------------------------


def _update_transfer_by_save(transfer):
    transfer.memo = "changed"
    transfer.save()


def _update_entry_by_save(entry):
    entry.amount_jpy = 1
    entry.save()


UPDATES = {
    "orm_save_transfer": lambda transfer, entry: _update_transfer_by_save(transfer),
    "orm_queryset_update_transfer": lambda transfer, entry: Transfer.objects.filter(
        pk=transfer.pk
    ).update(reference="changed"),
    "orm_save_entry": lambda transfer, entry: _update_entry_by_save(entry),
    "orm_queryset_update_entry": lambda transfer, entry: Entry.objects.filter(pk=entry.pk).update(
        amount_jpy=entry.amount_jpy + 1
    ),
    "sql_update_transfer": lambda transfer, entry: _sql(
        "UPDATE ledger_transfer SET memo = 'changed' WHERE id = %s", transfer.pk
    ),
    "sql_update_entry": lambda transfer, entry: _sql(
        "UPDATE ledger_entry SET balance_after_jpy = 0 WHERE id = %s", entry.pk
    ),
}

DELETES = {
    "orm_delete_entry": lambda transfer, entry: Entry.objects.filter(pk=entry.pk).delete(),
    "sql_delete_entry": lambda transfer, entry: _sql(
        "DELETE FROM ledger_entry WHERE id = %s", entry.pk
    ),
    "sql_delete_transfer": lambda transfer, entry: _sql(
        "DELETE FROM ledger_transfer WHERE id = %s", transfer.pk
    ),
}


def _sql(statement, pk):
    with connection.cursor() as cursor:
        cursor.execute(statement, [pk])


def _rows():
    return (
        list(Transfer.objects.order_by("pk").values_list("pk", "reference", "memo")),
        list(Entry.objects.order_by("pk").values_list("pk", "amount_jpy", "balance_after_jpy")),
    )


@pytest.mark.parametrize("_case", sorted(UPDATES))
def test_the_database_refuses_to_update_a_transfer_or_an_entry(_case, clearing, funded_wallet):
    # given
    transfer = Transfer.objects.get()
    entry = transfer.entries.order_by("pk").first()
    before = _rows()

    # when
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
        UPDATES[_case](transfer, entry)

    # then
    assert _rows() == before
    assert selectors.books_check() == []


@pytest.mark.parametrize("_case", sorted(DELETES))
def test_the_database_refuses_deletes_on_postgresql_and_check_books_catches_them_on_sqlite(
    _case, clearing, funded_wallet
):
    """Migration 0002: SQLite has no DELETE trigger (Django's test flush deletes rows)."""
    # given
    transfer = Transfer.objects.get()
    entry = transfer.entries.order_by("pk").first()
    before = _rows()

    if connection.vendor == "postgresql":
        # when
        with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
            DELETES[_case](transfer, entry)

        # then
        assert _rows() == before
        assert selectors.books_check() == []
    else:
        assert connection.vendor == "sqlite"
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' "
                "AND tbl_name IN ('ledger_transfer', 'ledger_entry') ORDER BY name"
            )
            triggers = [row[0] for row in cursor.fetchall()]
        assert triggers == ["ledger_entry_immutable", "ledger_transfer_immutable"]
        # when: the delete goes through, in a savepoint rolled back afterwards
        with transaction.atomic():
            DELETES[_case](transfer, entry)
            after = _rows()
            problems = {problem.check for problem in selectors.books_check()}
            foreign_keys_hold = _foreign_keys_hold()
            transaction.set_rollback(True)

        # then: the books check sees a missing entry; the foreign key, a missing transfer
        if _case == "sql_delete_transfer":
            assert after == ([], before[1])
            assert not foreign_keys_hold
        else:
            assert after == (before[0], [row for row in before[1] if row[0] != entry.pk])
            assert {"transfer_balances", "entries_sum_to_zero", "cached_balance"} <= problems
        assert _rows() == before


def _foreign_keys_hold():
    """What the deferred foreign-key check would say at commit."""
    try:
        connection.check_constraints(table_names=["ledger_entry"])
    except IntegrityError:
        return False
    return True


def test_deleting_a_transfer_through_the_orm_is_refused_while_it_has_entries(
    clearing, funded_wallet
):
    transfer = Transfer.objects.get()
    before = _rows()

    with pytest.raises(ProtectedError), transaction.atomic():
        transfer.delete()

    assert _rows() == before
