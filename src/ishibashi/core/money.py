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


def format_yen(amount_jpy: int) -> str:
    return f"¥{amount_jpy:,}"
