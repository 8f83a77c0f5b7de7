"""Template filters that draw yen one way on every page: ¥12,345, and −¥12,345 when negative."""

from __future__ import annotations

from django import template

from ishibashi.core.money import format_signed_yen, format_yen

register = template.Library()


@register.filter(name="yen")
def yen_filter(amount_jpy: object) -> str:
    """``{{ amount|yen }}``; an empty amount draws as a dash rather than ¥0, which would lie."""
    if amount_jpy is None or amount_jpy == "":
        return "—"
    return format_yen(int(str(amount_jpy)))


@register.filter(name="signed_yen")
def signed_yen_filter(amount_jpy: object) -> str:
    """``{{ delta|signed_yen }}``: +¥1,000 / −¥1,000 / ¥0, for changes and ledger movements."""
    if amount_jpy is None or amount_jpy == "":
        return "—"
    return format_signed_yen(int(str(amount_jpy)))
