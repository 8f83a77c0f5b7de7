"""Profile changes: a partial update, refused whole if any field is bad."""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from ishibashi.accounts.models import User
from ishibashi.accounts.services.validation import (
    check_entity_type,
    check_roles,
    clean_display_name,
)
from ishibashi.core import limits
from ishibashi.core.errors import (
    InvalidInput,
)
from ishibashi.core.text import clean_text

INVOICE_NUMBER_FORM = re.compile(r"^T[0-9]{13}$")

PROFILE_FIELDS = frozenset(
    {
        "display_name",
        "entity_type",
        "is_client",
        "is_worker",
        "bio",
        "skills",
        "invoice_registration_number",
        "has_employees",
        "is_withholding_agent",
        "preferred_language",
    }
)


def _clean_skills(skills: list[str]) -> list[str]:
    cleaned: list[str] = []
    for raw in skills:
        skill = clean_text(raw, field="skills", length_max=limits.SKILL_LENGTH_MAX, required=False)
        if skill and skill not in cleaned:
            cleaned.append(skill)
    if len(cleaned) > limits.SKILLS_COUNT_MAX:
        raise InvalidInput(
            _("List at most %(max)d skills.") % {"max": limits.SKILLS_COUNT_MAX}, field="skills"
        )
    return cleaned


@transaction.atomic
def user_profile_update(*, user: User, changes: dict[str, Any]) -> User:
    """Apply a partial profile update; unknown or invalid fields refuse the whole change."""
    unknown = set(changes) - PROFILE_FIELDS
    if unknown:
        raise InvalidInput(_("This field cannot be changed here."), field=sorted(unknown)[0])
    user = User.objects.select_for_update().get(pk=user.pk)
    cleaned: dict[str, Any] = {}
    for name, value in changes.items():
        if value is None:
            raise InvalidInput(_("This field cannot be empty."), field=name)
        if name == "display_name":
            cleaned[name] = clean_display_name(value)
        elif name == "entity_type":
            check_entity_type(value)
            cleaned[name] = value
        elif name == "bio":
            cleaned[name] = clean_text(
                value, field=name, length_max=limits.BIO_LENGTH_MAX, multiline=True, required=False
            )
        elif name == "skills":
            cleaned[name] = _clean_skills(value)
        elif name == "invoice_registration_number":
            value = value.strip().upper()
            if value and not INVOICE_NUMBER_FORM.match(value):
                raise InvalidInput(
                    _("A registration number is “T” followed by 13 digits (e.g. T1234567890123)."),
                    field=name,
                )
            cleaned[name] = value
        elif name == "preferred_language":
            if value not in {"ja", "en"}:
                raise InvalidInput(_("Choose Japanese or English."), field=name)
            cleaned[name] = value
        else:
            cleaned[name] = bool(value)
    check_roles(
        is_client=cleaned.get("is_client", user.is_client),
        is_worker=cleaned.get("is_worker", user.is_worker),
    )
    for name, value in cleaned.items():
        setattr(user, name, value)
    if cleaned:
        user.save(update_fields=sorted(cleaned))
    return user
