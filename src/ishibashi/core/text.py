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
