"""Pure money rules: the platform fee and withholding tax on a payment (no DB, no clock)."""

from __future__ import annotations

from dataclasses import dataclass

from ishibashi.core.money import div_floor, require_yen

BPS_DENOMINATOR = 10_000
# Income Tax Act art. 204 (law.md L-52): 10.21 % up to ¥1,000,000 per payment, 20.42 % above.
WITHHOLDING_THRESHOLD_JPY = 1_000_000
WITHHOLDING_RATE_LOW_PER_10000 = 1021
WITHHOLDING_RATE_HIGH_PER_10000 = 2042


def platform_fee_jpy(*, gross_jpy: int, fee_rate_bps: int) -> int:
    """Floor: a fractional yen of fee stays with the worker."""
    require_yen(gross_jpy)
    if type(fee_rate_bps) is not int or not 0 <= fee_rate_bps <= BPS_DENOMINATOR:
        raise ValueError("fee rate must be an int of 0..10000 basis points")
    return div_floor(gross_jpy * fee_rate_bps, BPS_DENOMINATOR)


def withholding_tax_jpy(*, gross_jpy: int) -> int:
    """L-52, floored: floor(P x 10.21 %), or ¥102,100 + floor((P - ¥1M) x 20.42 %)."""
    require_yen(gross_jpy)
    if gross_jpy <= WITHHOLDING_THRESHOLD_JPY:
        return div_floor(gross_jpy * WITHHOLDING_RATE_LOW_PER_10000, BPS_DENOMINATOR)
    low = div_floor(WITHHOLDING_THRESHOLD_JPY * WITHHOLDING_RATE_LOW_PER_10000, BPS_DENOMINATOR)
    excess = gross_jpy - WITHHOLDING_THRESHOLD_JPY
    return low + div_floor(excess * WITHHOLDING_RATE_HIGH_PER_10000, BPS_DENOMINATOR)


@dataclass(frozen=True)
class ReleaseSplit:
    """Where a released gross amount goes. net + fee + withholding == gross, always."""

    gross_jpy: int
    fee_jpy: int
    withholding_jpy: int
    net_jpy: int


def release_split(*, gross_jpy: int, fee_rate_bps: int, withholding_applies: bool) -> ReleaseSplit:
    fee = platform_fee_jpy(gross_jpy=gross_jpy, fee_rate_bps=fee_rate_bps)
    withholding = withholding_tax_jpy(gross_jpy=gross_jpy) if withholding_applies else 0
    net = gross_jpy - fee - withholding
    if net < 0:
        raise ValueError("fee and withholding exceed the gross amount")
    return ReleaseSplit(gross_jpy=gross_jpy, fee_jpy=fee, withholding_jpy=withholding, net_jpy=net)
