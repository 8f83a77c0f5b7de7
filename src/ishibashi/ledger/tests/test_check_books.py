"""books_check and `check_books`: quiet on good books, naming the account when a balance drifts."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction

from ishibashi.ledger import selectors, services
from ishibashi.ledger.models import LedgerAccount
from ishibashi.ledger.selectors import BooksProblem


@pytest.fixture(autouse=True)
def _cheap_password_hashing(settings):
    """Sign-up hashes a password; these tests are about money, so hash it cheaply."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def good_books(make_user):
    """A deposit, an escrow and a release with a fee: every kind of leg, all in order."""
    client = make_user(email="client@example.jp")
    worker = make_user(email="worker@example.jp")
    services.deposit_credit(
        user=client, amount_jpy=50_000, idempotency_key="deposit:1", reference="deposit:1"
    )
    services.escrow_fund(
        client=client, escrow_reference="milestone:1", amount_jpy=30_000,
        idempotency_key="fund:1",
    )  # fmt: skip
    services.escrow_release(
        client=client, worker=worker, escrow_reference="milestone:1", amount_jpy=30_000,
        fee_rate_bps=2000, withholding_applies=True, idempotency_key="release:1",
    )  # fmt: skip
    return client


def _corrupt_cached_balance(key, delta_jpy):
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE ledger_ledgeraccount SET balance_jpy = balance_jpy + %s WHERE key = %s",
            [delta_jpy, key],
        )
        assert cursor.rowcount == 1


def test_empty_books_hold(db):
    assert selectors.books_check() == []


def test_good_books_hold(good_books):
    assert selectors.books_check() == []


def test_a_cached_balance_that_drifts_from_its_entries_is_reported_by_account_key(good_books):
    # given
    key = f"wallet:user:{good_books.pk}"
    _corrupt_cached_balance(key, 1)

    # when
    problems = selectors.books_check()

    # then
    assert problems == [
        BooksProblem("balances_sum_to_zero", "all balances sum to 1"),
        BooksProblem("cached_balance", f"{key}: cached 20001, entries 20000"),
        BooksProblem("running_balance", f"{key}: last entry says 20000, account 20001"),
    ]


def test_the_database_refuses_a_negative_cached_balance_on_a_guarded_account(good_books):
    # given
    key = f"wallet:user:{good_books.pk}"

    # when
    with pytest.raises(IntegrityError), transaction.atomic():
        _corrupt_cached_balance(key, -20_001)

    # then
    assert LedgerAccount.objects.get(key=key).balance_jpy == 20_000
    assert selectors.books_check() == []


def test_check_books_prints_ok_on_good_books(good_books):
    out, err = StringIO(), StringIO()

    call_command("check_books", stdout=out, stderr=err)

    assert out.getvalue().startswith("OK:")
    assert err.getvalue() == ""


def test_check_books_fails_and_names_the_drifted_account(good_books):
    # given
    key = "platform_fees"
    _corrupt_cached_balance(key, -100)
    out, err = StringIO(), StringIO()

    # when
    with pytest.raises(CommandError, match=r"3 problem\(s\)"):
        call_command("check_books", stdout=out, stderr=err)

    # then
    assert out.getvalue() == ""
    assert err.getvalue().splitlines() == [
        "FAIL balances_sum_to_zero: all balances sum to -100",
        f"FAIL cached_balance: {key}: cached 5900, entries 6000",
        f"FAIL running_balance: {key}: last entry says 6000, account 5900",
    ]
