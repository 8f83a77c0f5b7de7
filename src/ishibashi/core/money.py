"""Integer-yen arithmetic: the only place money is divided, with the rounding named."""

from __future__ import annotations


def require_yen(value: object) -> int:
    """An amount is a plain int: not a bool, a float or a Decimal (each hides a rounding)."""
    if type(value) is not int:
        raise TypeError(f"amounts are int yen, not {type(value).__name__}")
    return value


def div_floor(numerator: int, denominator: int) -> int:
    """Round toward minus infinity. Call sites say whose favour that is."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    return numerator // denominator


def div_ceil(numerator: int, denominator: int) -> int:
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    return -((-numerator) // denominator)


# U+2212 MINUS SIGN, not a hyphen: the one format every page, mail and notice uses.
MINUS = "\u2212"


def format_yen(amount_jpy: int) -> str:
    """¥12,345; a negative amount is −¥12,345 (the sign before the currency mark)."""
    if amount_jpy < 0:
        return f"{MINUS}¥{-amount_jpy:,}"
    return f"¥{amount_jpy:,}"


def format_signed_yen(amount_jpy: int) -> str:
    """+¥12,345 / −¥12,345 / ¥0: a change or a movement, where the direction is the news."""
    if amount_jpy > 0:
        return f"+¥{amount_jpy:,}"
    return format_yen(amount_jpy)
