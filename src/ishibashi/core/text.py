"""clean_text(): the one gate every free-text input passes before it reaches the database."""

from __future__ import annotations

import unicodedata

from django.utils.translation import gettext_lazy as _

from ishibashi.core.errors import InvalidInput


def has_forbidden_characters(value: str, *, multiline: bool = False) -> bool:
    """True for control characters and lone surrogates.

    PostgreSQL refuses NUL in text and UTF-8 cannot encode a surrogate; letting either through
    would turn bad input into a server error instead of a message.
    """
    allowed = {"\n", "\r", "\t"} if multiline else set()
    return any(unicodedata.category(char) in {"Cc", "Cs"} and char not in allowed for char in value)


def clean_text(
    value: str,
    *,
    field: str,
    length_max: int,
    multiline: bool = False,
    required: bool = True,
) -> str:
    value = value.strip()
    if has_forbidden_characters(value, multiline=multiline):
        raise InvalidInput(_("This text contains characters that cannot be used."), field=field)
    if required and not value:
        raise InvalidInput(_("This field is required."), field=field)
    if len(value) > length_max:
        raise InvalidInput(
            _("This text is too long (at most %(max)d characters).") % {"max": length_max},
            field=field,
        )
    return value


def _is_width_form(char: str) -> bool:
    # Full-width letters and digits (ＡＢＣ, ５００) and half-width katakana (ﾃﾞｰﾀ). Full-width
    # punctuation （）「」！ is how Japanese is written: folding it would rewrite the text.
    return (
        "\uff10" <= char <= "\uff19"
        or "\uff21" <= char <= "\uff3a"
        or "\uff41" <= char <= "\uff5a"
        or "\uff61" <= char <= "\uff9f"
    )


def fold_width(value: str) -> str:
    """NFKC on full-width letters and digits and half-width katakana only (５００ → 500,
    ﾃﾞｰﾀ → データ, ＷｏｒｄＰｒｅｓｓ → WordPress), the rest untouched.

    Full NFKC would also rewrite what the writer meant (① → 1, ㈱ → (株)); the search folds the
    stored text and the query with this same function, so both sides always agree."""
    if not any(_is_width_form(char) for char in value):
        return value
    out: list[str] = []
    run: list[str] = []
    for char in value:
        # A half-width voicing mark (ﾞ) composes with the kana before it: keep them in one run.
        if _is_width_form(char):
            run.append(char)
            continue
        if run:
            out.append(unicodedata.normalize("NFKC", "".join(run)))
            run = []
        out.append(char)
    if run:
        out.append(unicodedata.normalize("NFKC", "".join(run)))
    return "".join(out)


def snippet(value: str, length: int = 100) -> str:
    """The first `length` characters with runs of whitespace as one space, … when cut."""
    collapsed = " ".join(value.split())
    if len(collapsed) <= length:
        return collapsed
    return collapsed[:length].rstrip() + "…"
