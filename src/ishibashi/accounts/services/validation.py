"""The checks every account write shares: e-mail, display name, password, roles."""

from __future__ import annotations

import unicodedata

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

from ishibashi.accounts.models import EntityType, User
from ishibashi.core import limits
from ishibashi.core.errors import (
    InvalidInput,
)
from ishibashi.core.text import clean_text, has_forbidden_characters

INVALID_CREDENTIALS = _("The e-mail address or password is incorrect.")
EMAIL_TAKEN = _("An account with this e-mail address already exists.")


def normalize_email(email: str) -> str:
    return email.strip().lower()


def clean_email(email: str) -> str:
    email = normalize_email(email)
    if not email:
        raise InvalidInput(_("Enter your e-mail address."), field="email")
    if len(email) > limits.EMAIL_LENGTH_MAX:
        raise InvalidInput(
            _("The e-mail address is too long (at most %(max)d characters).")
            % {"max": limits.EMAIL_LENGTH_MAX},
            field="email",
        )
    if has_forbidden_characters(email):
        raise InvalidInput(_("Enter a valid e-mail address."), field="email")
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidInput(_("Enter a valid e-mail address."), field="email") from None
    return email


# Characters that draw nothing although Unicode calls them letters (a Hangul filler, a blank
# Braille cell): a name made of them looks empty, or like someone else's with a gap.
INVISIBLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
# A name may not pass for the platform speaking: 運営 (the operator), 公式 (official).
RESERVED_IN_NAMES = ("運営", "公式", "official", "ishibashistaff", "石橋スタッフ")
# Nor be the platform's name alone; 石橋 is also a common surname, so "石橋 美咲" is fine.
RESERVED_NAMES = frozenset({"ishibashi", "石橋", "いしばし", "イシバシ"})


def clean_display_name(display_name: str) -> str:
    """NFKC (so "ＡＢＣ" and "ABC" are one name), nothing invisible, nothing that reads as us."""
    display_name = unicodedata.normalize("NFKC", display_name)
    if not display_name.strip():
        raise InvalidInput(_("Enter a display name."), field="display_name")
    if len(display_name.strip()) > limits.DISPLAY_NAME_LENGTH_MAX:
        raise InvalidInput(
            _("The display name is too long (at most %(max)d characters).")
            % {"max": limits.DISPLAY_NAME_LENGTH_MAX},
            field="display_name",
        )
    # Format characters (bidi overrides, zero-width spaces and joiners) and private-use ones
    # can make a name read backwards or hide in it.
    if any(
        unicodedata.category(char) in {"Cf", "Co"} or char in INVISIBLE_LETTERS
        for char in display_name
    ):
        raise InvalidInput(
            _("The display name contains invisible or direction-changing characters."),
            field="display_name",
        )
    visible = [
        char
        for char in display_name
        if not char.isspace() and unicodedata.category(char) not in {"Mn", "Me"}
    ]
    if not visible:
        raise InvalidInput(_("Enter a display name."), field="display_name")
    squeezed = "".join(visible).casefold()
    if squeezed in RESERVED_NAMES or any(word in squeezed for word in RESERVED_IN_NAMES):
        raise InvalidInput(
            _("This display name is reserved for the platform (運営, 公式, Ishibashi)."),
            field="display_name",
        )
    return clean_text(display_name, field="display_name", length_max=limits.DISPLAY_NAME_LENGTH_MAX)


def check_password_rules(password: str, *, user: User, field: str = "password") -> None:
    if len(password) > limits.PASSWORD_LENGTH_MAX:
        raise InvalidInput(
            _("The password is too long (at most %(max)d characters).")
            % {"max": limits.PASSWORD_LENGTH_MAX},
            field=field,
        )
    if has_forbidden_characters(password):
        raise InvalidInput(_("The password contains characters that cannot be used."), field=field)
    try:
        validate_password(password, user=user)
    except ValidationError as error:
        raise InvalidInput(" ".join(str(m) for m in error.messages), field=field) from None


def check_roles(*, is_client: bool, is_worker: bool) -> None:
    if not (is_client or is_worker):
        raise InvalidInput(
            _("Choose at least one: client (発注者) or worker (受注者)."), field="roles"
        )


def check_entity_type(entity_type: str) -> None:
    if entity_type not in EntityType.values:
        raise InvalidInput(_("Choose individual or corporation."), field="entity_type")
