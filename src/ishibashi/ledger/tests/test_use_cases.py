"""Use cases: deposits, escrow (fund, release, refund, split), payouts and operator adjustments."""

from decimal import Decimal

import pytest
from django.db import transaction

from ishibashi.core import limits
from ishibashi.core.errors import ApplicationError, InvalidInput
from ishibashi.ledger import rules, selectors, services
from ishibashi.ledger.errors import LedgerErrorCode
from ishibashi.ledger.models import AccountKind, Entry, LedgerAccount, Transfer, TransferReason
from ishibashi.ledger.selectors import WalletSummary


@pytest.fixture(autouse=True)
def _cheap_password_hashing(settings):
    """Sign-up hashes a password; these tests are about money, so hash it cheaply."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def client(make_user):
    return make_user(email="client@example.jp", is_worker=False)


@pytest.fixture
def worker(make_user):
    return make_user(email="worker@example.jp", is_client=False)


@pytest.fixture
def operator(make_user):
    user = make_user(email="operator@example.jp")
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


def _books():
    """Everything a refusal must leave alone: row counts and every account's balance."""
    return (
        Transfer.objects.count(),
        Entry.objects.count(),
        dict(LedgerAccount.objects.values_list("key", "balance_jpy")),
    )


def _balances():
    return dict(LedgerAccount.objects.exclude(balance_jpy=0).values_list("key", "balance_jpy"))


def _call(use_case, **arguments):
    """Run a use case the way its callers do: inside their transaction."""
    with transaction.atomic():
        return use_case(**arguments)


def _refused(use_case, **arguments):
    before = _books()
    with pytest.raises(ApplicationError) as refusal, transaction.atomic():
        use_case(**arguments)
    assert _books() == before
    return refusal.value


def _summary(user):
    return selectors.wallet_summary_for_user(user=user)


def _deposit(user, amount_jpy, n=1):
    return _call(
        services.deposit_credit, user=user, amount_jpy=amount_jpy,
        idempotency_key=f"deposit:{user.pk}:{n}", reference=f"deposit:{n}",
    )  # fmt: skip


def _fund(client, amount_jpy, escrow_reference="milestone:1"):
    return _call(
        services.escrow_fund, client=client, escrow_reference=escrow_reference,
        amount_jpy=amount_jpy, idempotency_key=f"fund:{escrow_reference}",
    )  # fmt: skip


def _release(client, worker, amount_jpy, fee_rate_bps=0, key="release:1"):
    return _call(
        services.escrow_release, client=client, worker=worker, escrow_reference="milestone:1",
        amount_jpy=amount_jpy, fee_rate_bps=fee_rate_bps, withholding_applies=False,
        idempotency_key=key,
    )  # fmt: skip


# --- deposits ---------------------------------------------------------------------------------


def test_a_deposit_credits_the_wallet_from_the_providers_clearing_account(client):
    # when
    transfer = _deposit(client, 12_000)

    # then
    assert (transfer.reason, transfer.reference) == (TransferReason.DEPOSIT, "deposit:1")
    assert _balances() == {f"wallet:user:{client.pk}": 12_000, "provider_clearing": -12_000}
    assert _summary(client) == WalletSummary(
        wallet_jpy=12_000, escrow_jpy=0, earnings_jpy=0, payout_pending_jpy=0
    )
    assert selectors.books_check() == []


def test_a_repeated_deposit_notification_credits_once(client):
    first = _deposit(client, 12_000)

    again = _deposit(client, 12_000)

    assert again.pk == first.pk
    assert Transfer.objects.count() == 1
    assert _summary(client).wallet_jpy == 12_000
    assert selectors.books_check() == []


@pytest.mark.parametrize(
    ("_case", "amount_jpy", "code"),
    [
        ("zero", 0, LedgerErrorCode.AMOUNT_MUST_BE_POSITIVE),
        ("negative", -500, LedgerErrorCode.AMOUNT_MUST_BE_POSITIVE),
        ("float", 500.0, LedgerErrorCode.AMOUNT_MUST_BE_INTEGER),
        ("decimal", Decimal(500), LedgerErrorCode.AMOUNT_MUST_BE_INTEGER),
        ("bool", True, LedgerErrorCode.AMOUNT_MUST_BE_INTEGER),
        ("str", "500", LedgerErrorCode.AMOUNT_MUST_BE_INTEGER),
        (
            "over_maximum",
            limits.TRANSFER_AMOUNT_JPY_MAX + 1,
            LedgerErrorCode.AMOUNT_EXCEEDS_MAXIMUM,
        ),
    ],
)
def test_a_deposit_of_a_bad_amount_is_refused_and_writes_nothing(_case, amount_jpy, code, client):
    _deposit(client, 1_000)

    refusal = _refused(
        services.deposit_credit, user=client, amount_jpy=amount_jpy,
        idempotency_key="deposit:bad", reference="deposit:bad",
    )  # fmt: skip

    assert refusal.code == code
    assert refusal.field == "amount_jpy"
    assert _summary(client).wallet_jpy == 1_000


# --- escrow -----------------------------------------------------------------------------------


def test_funding_an_escrow_moves_money_from_the_wallet_into_the_milestones_escrow(client):
    # given
    _deposit(client, 50_000)

    # when
    transfer = _fund(client, 30_000)

    # then
    assert (transfer.reason, transfer.reference) == (TransferReason.ESCROW_FUND, "milestone:1")
    escrow = LedgerAccount.objects.get(key="escrow:milestone:1")
    assert (escrow.kind, escrow.owner_id, escrow.reference, escrow.is_guarded) == (
        AccountKind.ESCROW, client.pk, "milestone:1", True,
    )  # fmt: skip
    assert _balances() == {
        f"wallet:user:{client.pk}": 20_000,
        "escrow:milestone:1": 30_000,
        "provider_clearing": -50_000,
    }
    assert _summary(client) == WalletSummary(
        wallet_jpy=20_000, escrow_jpy=30_000, earnings_jpy=0, payout_pending_jpy=0
    )
    assert selectors.books_check() == []


def test_the_escrows_of_several_milestones_add_up_in_the_summary(client):
    _deposit(client, 50_000)

    _fund(client, 10_000, "milestone:1")
    _fund(client, 15_000, "milestone:2")

    assert _summary(client) == WalletSummary(
        wallet_jpy=25_000, escrow_jpy=25_000, earnings_jpy=0, payout_pending_jpy=0
    )
    assert selectors.books_check() == []


def test_funding_more_than_the_wallet_holds_is_refused_and_writes_nothing(client):
    _deposit(client, 5_000)

    refusal = _refused(
        services.escrow_fund, client=client, escrow_reference="milestone:1", amount_jpy=5_001,
        idempotency_key="fund:milestone:1",
    )  # fmt: skip

    assert refusal.code == LedgerErrorCode.EXCEEDS_BALANCE
    assert _summary(client) == WalletSummary(
        wallet_jpy=5_000, escrow_jpy=0, earnings_jpy=0, payout_pending_jpy=0
    )
    assert not LedgerAccount.objects.filter(key="escrow:milestone:1").exists()


def test_funding_with_no_wallet_at_all_is_refused(client):
    refusal = _refused(
        services.escrow_fund, client=client, escrow_reference="milestone:1", amount_jpy=1,
        idempotency_key="fund:milestone:1",
    )  # fmt: skip

    assert refusal.code == LedgerErrorCode.EXCEEDS_BALANCE
    assert _books() == (0, 0, {})


@pytest.mark.parametrize(
    ("_case", "withholding_applies", "net_jpy", "withholding_jpy"),
    [("without_withholding", False, 80_000, 0), ("with_withholding", True, 69_790, 10_210)],
)
def test_a_release_pays_the_worker_the_net_the_platform_its_fee_and_holds_the_withholding(
    _case, withholding_applies, net_jpy, withholding_jpy, client, worker
):
    # given
    _deposit(client, 100_000)
    _fund(client, 100_000)

    # when
    transfer = _call(
        services.escrow_release, client=client, worker=worker, escrow_reference="milestone:1",
        amount_jpy=100_000, fee_rate_bps=2000, withholding_applies=withholding_applies,
        idempotency_key="release:1",
    )  # fmt: skip

    # then
    assert (transfer.reason, transfer.reference) == (TransferReason.ESCROW_RELEASE, "milestone:1")
    expected = {
        f"earnings:user:{worker.pk}": net_jpy,
        "platform_fees": 20_000,
        "provider_clearing": -100_000,
    }
    if withholding_jpy:
        expected[f"withholding_payable:user:{client.pk}"] = withholding_jpy
    assert _balances() == expected
    assert net_jpy + 20_000 + withholding_jpy == 100_000
    assert transfer.entries.count() == (4 if withholding_jpy else 3)
    assert _summary(client) == WalletSummary(
        wallet_jpy=0, escrow_jpy=0, earnings_jpy=0, payout_pending_jpy=0
    )
    assert _summary(worker) == WalletSummary(
        wallet_jpy=0, escrow_jpy=0, earnings_jpy=net_jpy, payout_pending_jpy=0
    )
    assert selectors.books_check() == []


def test_a_partial_release_leaves_the_rest_in_escrow(client, worker):
    _deposit(client, 100_000)
    _fund(client, 100_000)

    _release(client, worker, 40_000, fee_rate_bps=1000)

    assert _summary(client).escrow_jpy == 60_000
    assert _summary(worker).earnings_jpy == 36_000
    assert LedgerAccount.objects.get(key="platform_fees").balance_jpy == 4_000
    assert selectors.books_check() == []


def test_a_release_with_no_fee_writes_no_fee_leg(client, worker):
    _deposit(client, 10_000)
    _fund(client, 10_000)

    transfer = _release(client, worker, 10_000, fee_rate_bps=0)

    assert sorted(transfer.entries.values_list("account__key", "amount_jpy")) == sorted(
        [("escrow:milestone:1", -10_000), (f"earnings:user:{worker.pk}", 10_000)]
    )
    assert not LedgerAccount.objects.filter(key="platform_fees").exists()
    assert selectors.books_check() == []


def test_releasing_more_than_the_escrow_holds_is_refused_and_writes_nothing(client, worker):
    _deposit(client, 100_000)
    _fund(client, 30_000)

    refusal = _refused(
        services.escrow_release, client=client, worker=worker, escrow_reference="milestone:1",
        amount_jpy=30_001, fee_rate_bps=2000, withholding_applies=True,
        idempotency_key="release:1",
    )  # fmt: skip

    assert refusal.code == LedgerErrorCode.EXCEEDS_BALANCE
    assert _summary(client) == WalletSummary(
        wallet_jpy=70_000, escrow_jpy=30_000, earnings_jpy=0, payout_pending_jpy=0
    )
    assert _summary(worker).earnings_jpy == 0


def test_a_second_release_with_a_new_key_cannot_pay_the_same_escrow_twice(client, worker):
    _deposit(client, 10_000)
    _fund(client, 10_000)
    _release(client, worker, 10_000, key="release:1")

    refusal = _refused(
        services.escrow_release, client=client, worker=worker, escrow_reference="milestone:1",
        amount_jpy=10_000, fee_rate_bps=0, withholding_applies=False,
        idempotency_key="release:2",
    )  # fmt: skip

    assert refusal.code == LedgerErrorCode.EXCEEDS_BALANCE
    assert _summary(worker).earnings_jpy == 10_000
    assert selectors.books_check() == []


def test_a_refund_returns_escrowed_money_to_the_clients_wallet(client):
    # given
    _deposit(client, 50_000)
    _fund(client, 30_000)

    # when
    transfer = _call(
        services.escrow_refund, client=client, escrow_reference="milestone:1",
        amount_jpy=10_000, idempotency_key="refund:1",
    )  # fmt: skip

    # then
    assert (transfer.reason, transfer.reference) == (TransferReason.ESCROW_REFUND, "milestone:1")
    assert _summary(client) == WalletSummary(
        wallet_jpy=30_000, escrow_jpy=20_000, earnings_jpy=0, payout_pending_jpy=0
    )
    assert selectors.books_check() == []


def test_refunding_more_than_the_escrow_holds_is_refused_and_writes_nothing(client):
    _deposit(client, 50_000)
    _fund(client, 30_000)

    refusal = _refused(
        services.escrow_refund, client=client, escrow_reference="milestone:1",
        amount_jpy=30_001, idempotency_key="refund:1",
    )  # fmt: skip

    assert refusal.code == LedgerErrorCode.EXCEEDS_BALANCE
    assert _summary(client) == WalletSummary(
        wallet_jpy=20_000, escrow_jpy=30_000, earnings_jpy=0, payout_pending_jpy=0
    )


@pytest.mark.parametrize(
    ("_case", "worker_amount_jpy", "client_amount_jpy", "withholding_applies", "expected"),
    [
        (
            "both_parts",
            30_000, 20_000, False,
            {"wallet": 20_000, "earnings": 27_000, "platform_fees": 3_000, "withholding": 0},
        ),
        (
            "both_parts_with_withholding",
            30_000, 20_000, True,
            {"wallet": 20_000, "earnings": 23_937, "platform_fees": 3_000, "withholding": 3_063},
        ),
        (
            "worker_only",
            50_000, 0, True,
            {"wallet": 0, "earnings": 39_895, "platform_fees": 5_000, "withholding": 5_105},
        ),
        (
            "client_only",
            0, 50_000, True,
            {"wallet": 50_000, "earnings": 0, "platform_fees": 0, "withholding": 0},
        ),
        (
            "less_than_the_escrow",
            10_000, 5_000, False,
            {"wallet": 5_000, "earnings": 9_000, "platform_fees": 1_000, "withholding": 0},
        ),
    ],
)  # fmt: skip
def test_a_split_pays_the_worker_part_and_refunds_the_client_part_in_one_transfer(
    _case, worker_amount_jpy, client_amount_jpy, withholding_applies, expected, client, worker
):
    # given
    _deposit(client, 50_000)
    _fund(client, 50_000)

    # when
    transfer = _call(
        services.escrow_split, client=client, worker=worker, escrow_reference="milestone:1",
        worker_amount_jpy=worker_amount_jpy, client_amount_jpy=client_amount_jpy,
        fee_rate_bps=1000, withholding_applies=withholding_applies, idempotency_key="split:1",
    )  # fmt: skip

    # then
    assert (transfer.reason, transfer.reference) == (TransferReason.ESCROW_SPLIT, "milestone:1")
    escrow_left = 50_000 - worker_amount_jpy - client_amount_jpy
    assert _summary(client) == WalletSummary(
        wallet_jpy=expected["wallet"], escrow_jpy=escrow_left, earnings_jpy=0, payout_pending_jpy=0
    )
    assert _summary(worker) == WalletSummary(
        wallet_jpy=0, escrow_jpy=0, earnings_jpy=expected["earnings"], payout_pending_jpy=0
    )
    balances = _balances()
    assert balances.get("platform_fees", 0) == expected["platform_fees"]
    assert balances.get(f"withholding_payable:user:{client.pk}", 0) == expected["withholding"]
    assert transfer.entries.count() == 1 + sum(1 for part in expected.values() if part)
    assert selectors.books_check() == []


@pytest.mark.parametrize(
    ("_case", "worker_amount_jpy", "client_amount_jpy", "code", "field"),
    [
        ("both_zero", 0, 0, LedgerErrorCode.AMOUNT_MUST_BE_POSITIVE, "amount_jpy"),
        (
            "worker_negative",
            -1,
            10_000,
            LedgerErrorCode.AMOUNT_MUST_BE_POSITIVE,
            "worker_amount_jpy",
        ),
        (
            "client_negative",
            10_000,
            -1,
            LedgerErrorCode.AMOUNT_MUST_BE_POSITIVE,
            "client_amount_jpy",
        ),
        ("worker_float", 100.0, 0, LedgerErrorCode.AMOUNT_MUST_BE_INTEGER, "worker_amount_jpy"),
        ("client_bool", 0, True, LedgerErrorCode.AMOUNT_MUST_BE_INTEGER, "client_amount_jpy"),
        ("larger_than_the_escrow", 30_000, 20_001, LedgerErrorCode.EXCEEDS_BALANCE, "amount_jpy"),
    ],
)
def test_a_bad_split_is_refused_and_writes_nothing(
    _case, worker_amount_jpy, client_amount_jpy, code, field, client, worker
):
    # given
    _deposit(client, 50_000)
    _fund(client, 50_000)

    # when
    refusal = _refused(
        services.escrow_split, client=client, worker=worker, escrow_reference="milestone:1",
        worker_amount_jpy=worker_amount_jpy, client_amount_jpy=client_amount_jpy,
        fee_rate_bps=1000, withholding_applies=True, idempotency_key="split:1",
    )  # fmt: skip

    # then
    assert refusal.code == code
    assert refusal.field == field
    assert _summary(client).escrow_jpy == 50_000
    assert _summary(worker).earnings_jpy == 0


# --- payouts ----------------------------------------------------------------------------------


@pytest.fixture
def earning_worker(client, worker):
    """A worker with ¥10,000 of released earnings."""
    _deposit(client, 10_000)
    _fund(client, 10_000)
    _release(client, worker, 10_000)
    return worker


def _payout(use_case, user, amount_jpy, step):
    return _call(
        use_case, user=user, amount_jpy=amount_jpy, idempotency_key=f"payout:1:{step}",
        reference="payout:1",
    )  # fmt: skip


def test_a_payout_request_moves_earnings_aside(earning_worker):
    transfer = _payout(services.payout_reserve, earning_worker, 4_000, "reserve")

    assert (transfer.reason, transfer.reference) == (TransferReason.PAYOUT_RESERVE, "payout:1")
    assert _summary(earning_worker) == WalletSummary(
        wallet_jpy=0, escrow_jpy=0, earnings_jpy=6_000, payout_pending_jpy=4_000
    )
    assert selectors.books_check() == []


def test_a_settled_payout_leaves_the_platform_in_full(earning_worker):
    # given
    _payout(services.payout_reserve, earning_worker, 4_000, "reserve")

    # when
    transfer = _payout(services.payout_settle, earning_worker, 4_000, "settle")

    # then
    assert transfer.reason == TransferReason.PAYOUT_SETTLE
    assert _summary(earning_worker) == WalletSummary(
        wallet_jpy=0, escrow_jpy=0, earnings_jpy=6_000, payout_pending_jpy=0
    )
    assert LedgerAccount.objects.get(key="provider_clearing").balance_jpy == -10_000 + 4_000
    assert selectors.books_check() == []


def test_a_returned_payout_goes_back_to_earnings(earning_worker):
    # given
    _payout(services.payout_reserve, earning_worker, 4_000, "reserve")

    # when
    transfer = _payout(services.payout_return, earning_worker, 4_000, "return")

    # then
    assert transfer.reason == TransferReason.PAYOUT_RETURN
    assert _summary(earning_worker) == WalletSummary(
        wallet_jpy=0, escrow_jpy=0, earnings_jpy=10_000, payout_pending_jpy=0
    )
    assert LedgerAccount.objects.get(key="provider_clearing").balance_jpy == -10_000
    assert selectors.books_check() == []


@pytest.mark.parametrize(
    ("_case", "step", "reserved_jpy", "amount_jpy"),
    [
        ("reserve_more_than_earned", "reserve", 0, 10_001),
        ("settle_more_than_reserved", "settle", 4_000, 4_001),
        ("return_more_than_reserved", "return", 4_000, 4_001),
        ("settle_with_nothing_reserved", "settle", 0, 1),
    ],
)
def test_a_payout_step_beyond_the_money_there_is_refused_and_writes_nothing(
    _case, step, reserved_jpy, amount_jpy, earning_worker
):
    # given
    if reserved_jpy:
        _payout(services.payout_reserve, earning_worker, reserved_jpy, "reserve")
    use_case = {
        "reserve": services.payout_reserve,
        "settle": services.payout_settle,
        "return": services.payout_return,
    }[step]

    # when
    refusal = _refused(
        use_case, user=earning_worker, amount_jpy=amount_jpy, idempotency_key="payout:2",
        reference="payout:2",
    )  # fmt: skip

    # then
    assert refusal.code == LedgerErrorCode.EXCEEDS_BALANCE
    assert _summary(earning_worker) == WalletSummary(
        wallet_jpy=0, escrow_jpy=0, earnings_jpy=10_000 - reserved_jpy,
        payout_pending_jpy=reserved_jpy,
    )  # fmt: skip


# --- operator adjustments ---------------------------------------------------------------------


def _adjust(operator, account, amount_jpy, reason="bank fee refunded", key="adjust:1"):
    return services.adjustment_post(
        operator=operator, account_id=account.pk, amount_jpy=amount_jpy, reason=reason,
        idempotency_key=key,
    )  # fmt: skip


@pytest.fixture
def wallet(client):
    _deposit(client, 5_000)
    return LedgerAccount.objects.get(key=f"wallet:user:{client.pk}")


@pytest.mark.parametrize(
    ("_case", "amount_jpy", "wallet_jpy"), [("credit", 500, 5_500), ("debit", -300, 4_700)]
)
def test_an_operator_adjusts_an_account_against_the_adjustments_account(
    _case, amount_jpy, wallet_jpy, operator, client, wallet
):
    # when
    transfer = _adjust(operator, wallet, amount_jpy, reason="  bank fee refunded  ")

    # then
    transfer.refresh_from_db()
    assert (transfer.reason, transfer.reference, transfer.memo, transfer.created_by_id) == (
        TransferReason.ADJUSTMENT, f"adjustment:{wallet.pk}", "bank fee refunded", operator.pk,
    )  # fmt: skip
    assert _summary(client).wallet_jpy == wallet_jpy
    assert LedgerAccount.objects.get(key="adjustments").balance_jpy == -amount_jpy
    assert selectors.books_check() == []


def test_a_positive_and_a_negative_adjustment_net_out(operator, client, wallet):
    _adjust(operator, wallet, 500, key="adjust:1")
    _adjust(operator, wallet, -300, key="adjust:2")

    assert _summary(client).wallet_jpy == 5_200
    assert LedgerAccount.objects.get(key="adjustments").balance_jpy == -200
    assert selectors.books_check() == []


def test_a_non_staff_user_cannot_adjust_and_is_told_the_account_does_not_exist(
    make_user, client, wallet
):
    someone = make_user(email="someone@example.jp")

    refusal = _refused(
        services.adjustment_post, operator=someone, account_id=wallet.pk, amount_jpy=500,
        reason="gift", idempotency_key="adjust:1",
    )  # fmt: skip

    assert refusal.code == LedgerErrorCode.ACCOUNT_NOT_FOUND
    assert refusal.http_status == 404
    assert _summary(client).wallet_jpy == 5_000


@pytest.mark.parametrize(
    ("_case", "reason", "amount_jpy", "code", "field"),
    [
        ("empty_reason", "", 500, InvalidInput.default_code, "reason"),
        ("blank_reason", "   \n", 500, InvalidInput.default_code, "reason"),
        (
            "overlong_reason",
            "x" * (limits.ADJUSTMENT_REASON_LENGTH_MAX + 1),
            500,
            InvalidInput.default_code,
            "reason",
        ),
        ("zero", "typo", 0, LedgerErrorCode.AMOUNT_MUST_NOT_BE_ZERO, "amount_jpy"),
        ("float", "typo", 500.0, LedgerErrorCode.AMOUNT_MUST_BE_INTEGER, "amount_jpy"),
        ("decimal", "typo", Decimal(500), LedgerErrorCode.AMOUNT_MUST_BE_INTEGER, "amount_jpy"),
        ("bool", "typo", True, LedgerErrorCode.AMOUNT_MUST_BE_INTEGER, "amount_jpy"),
        (
            "over_maximum",
            "typo",
            limits.TRANSFER_AMOUNT_JPY_MAX + 1,
            LedgerErrorCode.AMOUNT_EXCEEDS_MAXIMUM,
            "amount_jpy",
        ),
        ("overdraw", "typo", -5_001, LedgerErrorCode.EXCEEDS_BALANCE, "amount_jpy"),
    ],
)
def test_a_bad_adjustment_is_refused_and_writes_nothing(
    _case, reason, amount_jpy, code, field, operator, client, wallet
):
    refusal = _refused(
        services.adjustment_post, operator=operator, account_id=wallet.pk,
        amount_jpy=amount_jpy, reason=reason, idempotency_key="adjust:1",
    )  # fmt: skip

    assert refusal.code == code
    assert refusal.field == field
    assert _summary(client).wallet_jpy == 5_000


def test_adjusting_the_adjustments_account_against_itself_is_refused(operator, wallet):
    adjustments = services.account_get_or_create(kind=AccountKind.ADJUSTMENTS)

    refusal = _refused(
        services.adjustment_post, operator=operator, account_id=adjustments.pk, amount_jpy=500,
        reason="typo", idempotency_key="adjust:1",
    )  # fmt: skip

    assert refusal.code == LedgerErrorCode.ACCOUNTS_MUST_BE_DIFFERENT


def test_adjusting_an_unknown_account_is_refused(operator, wallet):
    missing_id = LedgerAccount.objects.order_by("-pk").values_list("pk", flat=True)[0] + 1000

    refusal = _refused(
        services.adjustment_post, operator=operator, account_id=missing_id, amount_jpy=500,
        reason="typo", idempotency_key="adjust:1",
    )  # fmt: skip

    assert refusal.code == LedgerErrorCode.ACCOUNT_NOT_FOUND


def test_one_client_cannot_move_another_clients_escrow(make_user):
    """The escrow of A's milestone answers only to A: B naming it gets 'not found', nothing moves."""
    client_a, client_b = make_user(), make_user()
    with transaction.atomic():
        services.deposit_credit(
            user=client_a, amount_jpy=5_000, idempotency_key="a-dep", reference="t"
        )
        services.escrow_fund(
            client=client_a,
            escrow_reference="milestone:a1",
            amount_jpy=5_000,
            idempotency_key="a-fund",
        )

    with pytest.raises(ApplicationError) as refusal, transaction.atomic():
        services.escrow_refund(
            client=client_b,
            escrow_reference="milestone:a1",
            amount_jpy=5_000,
            idempotency_key="b-steal",
        )

    assert refusal.value.code == "account_not_found"
    assert selectors.wallet_summary_for_user(user=client_a).escrow_jpy == 5_000
    assert selectors.wallet_summary_for_user(user=client_b).wallet_jpy == 0


def test_a_fractional_fee_rate_is_a_bug_not_a_fee():
    with pytest.raises(ValueError, match="basis points"):
        rules.platform_fee_jpy(gross_jpy=1_000, fee_rate_bps=1000.5)
