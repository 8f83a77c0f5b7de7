"""Money rules: the platform fee and the withholding tax round down, and a release splits exactly."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ishibashi.core.money import require_yen
from ishibashi.ledger import rules


@pytest.mark.parametrize(
    ("_case", "gross_jpy", "fee_rate_bps", "fee_jpy"),
    [
        ("exact", 10_000, 2000, 2000),
        ("fraction_of_a_yen_stays_with_the_worker", 9_999, 2000, 1999),
        ("one_yen_at_twenty_percent_is_no_fee", 1, 2000, 0),
        ("five_yen_at_twenty_percent", 5, 2000, 1),
        ("odd_rate", 12_345, 1_234, 1_523),
        ("zero_rate", 1_000_000, 0, 0),
        ("full_rate", 1_000, 10_000, 1_000),
        ("zero_gross", 0, 2000, 0),
    ],
)
def test_the_platform_fee_is_rounded_down(_case, gross_jpy, fee_rate_bps, fee_jpy):
    assert rules.platform_fee_jpy(gross_jpy=gross_jpy, fee_rate_bps=fee_rate_bps) == fee_jpy


@pytest.mark.parametrize(
    ("_case", "fee_rate_bps"), [("negative", -1), ("above_100_percent", 10_001)]
)
def test_a_fee_rate_outside_0_to_10000_basis_points_is_refused(_case, fee_rate_bps):
    with pytest.raises(ValueError, match="basis points"):
        rules.platform_fee_jpy(gross_jpy=10_000, fee_rate_bps=fee_rate_bps)


@pytest.mark.parametrize(
    ("_case", "gross_jpy", "withholding_jpy"),
    [
        ("one_yen", 1, 0),
        ("nine_yen", 9, 0),
        ("ten_yen", 10, 1),
        ("ten_thousand", 10_000, 1_021),
        ("fraction_rounded_down", 10_001, 1_021),
        ("just_below_the_threshold", 999_999, 102_099),
        ("at_the_threshold", 1_000_000, 102_100),
        ("one_yen_above_the_threshold", 1_000_001, 102_100),
        ("five_yen_above_the_threshold", 1_000_005, 102_101),
        ("one_and_a_half_million", 1_500_000, 204_200),
        ("two_million", 2_000_000, 306_300),
    ],
)
def test_withholding_tax_is_1021_per_10000_up_to_a_million_and_2042_above(
    _case, gross_jpy, withholding_jpy
):
    assert rules.withholding_tax_jpy(gross_jpy=gross_jpy) == withholding_jpy


def test_a_release_with_withholding_pays_the_worker_what_is_left():
    split = rules.release_split(gross_jpy=100_000, fee_rate_bps=2000, withholding_applies=True)

    assert split == rules.ReleaseSplit(
        gross_jpy=100_000, fee_jpy=20_000, withholding_jpy=10_210, net_jpy=69_790
    )


def test_a_release_without_withholding_keeps_no_tax():
    split = rules.release_split(gross_jpy=100_000, fee_rate_bps=2000, withholding_applies=False)

    assert split == rules.ReleaseSplit(
        gross_jpy=100_000, fee_jpy=20_000, withholding_jpy=0, net_jpy=80_000
    )


def test_a_release_whose_fee_and_tax_exceed_the_gross_is_refused():
    with pytest.raises(ValueError, match="exceed"):
        rules.release_split(gross_jpy=100_000, fee_rate_bps=10_000, withholding_applies=True)


@given(
    gross_jpy=st.integers(min_value=1, max_value=10**9),
    fee_rate_bps=st.integers(min_value=0, max_value=3000),
    withholding_applies=st.booleans(),
)
def test_a_release_splits_into_parts_that_add_up_to_the_gross(
    gross_jpy, fee_rate_bps, withholding_applies
):
    split = rules.release_split(
        gross_jpy=gross_jpy, fee_rate_bps=fee_rate_bps, withholding_applies=withholding_applies
    )

    assert split.net_jpy + split.fee_jpy + split.withholding_jpy == gross_jpy
    assert split.gross_jpy == gross_jpy
    assert all(
        type(part) is int and part >= 0
        for part in (split.net_jpy, split.fee_jpy, split.withholding_jpy)
    )
    assert split.fee_jpy == rules.platform_fee_jpy(gross_jpy=gross_jpy, fee_rate_bps=fee_rate_bps)
    assert split.withholding_jpy == (
        rules.withholding_tax_jpy(gross_jpy=gross_jpy) if withholding_applies else 0
    )


@given(gross_jpy=st.integers(min_value=0, max_value=10**9), fee_rate_bps=st.integers(0, 10_000))
def test_the_fee_never_exceeds_the_exact_fraction_and_misses_it_by_less_than_a_yen(
    gross_jpy, fee_rate_bps
):
    fee = rules.platform_fee_jpy(gross_jpy=gross_jpy, fee_rate_bps=fee_rate_bps)

    exact = Decimal(gross_jpy) * fee_rate_bps / 10_000
    assert fee <= exact < fee + 1


def test_require_yen_passes_a_plain_int_through():
    assert require_yen(1_000) == 1_000


@pytest.mark.parametrize(
    ("_case", "value"),
    [
        ("true", True),
        ("false", False),
        ("float", 1000.0),
        ("decimal", Decimal(1000)),
        ("str", "1000"),
        ("none", None),
    ],
)
def test_require_yen_refuses_anything_but_a_plain_int(_case, value):
    with pytest.raises(TypeError, match="int yen"):
        require_yen(value)


@pytest.mark.parametrize(("_case", "gross_jpy"), [("bool", True), ("float", 10_000.0)])
def test_the_fee_and_the_tax_refuse_a_gross_that_is_not_int_yen(_case, gross_jpy):
    with pytest.raises(TypeError):
        rules.platform_fee_jpy(gross_jpy=gross_jpy, fee_rate_bps=2000)
    with pytest.raises(TypeError):
        rules.withholding_tax_jpy(gross_jpy=gross_jpy)
