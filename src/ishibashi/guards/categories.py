"""The three guard categories and what each side is told about a hit, in Japanese and English.

The writer is warned before sending (what was found, what it means); the reader sees a caution
on the message (what to do). Neither is ever blocked: docs/guards.md.
"""

from __future__ import annotations

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class GuardCategory(models.TextChoices):
    BEFORE_ESCROW = "before_escrow", _("Request to start before escrow")  # ja: 仮払い前の作業依頼
    OFF_PLATFORM = "off_platform", _("Move off the platform")  # ja: サイト外への誘導
    FREE_TEST = "free_test", _("Unpaid test work")  # ja: 無償のテスト作業


# The order categories are stored and shown in.
CATEGORIES: tuple[str, ...] = tuple(GuardCategory.values)

REASONS: dict[str, Promise] = {
    "before_escrow_request": _("Wording that asks for work before the escrow (仮払い) is funded"),
    "off_platform_deal": _("Wording that suggests dealing or talking outside Ishibashi"),
    "email_address": _("An e-mail address"),
    "phone_number": _("A phone number"),
    "chat_app": _("A chat app account or ID (LINE, Chatwork, Skype, Discord, Telegram…)"),
    "chat_link": _("A link to a chat app"),
    "free_test_request": _("Wording that asks for unpaid test work"),
}

# What the writer is told before sending, by category and by the writer's side.
_WRITER_WARNINGS: dict[tuple[str, str], Promise] = {
    ("before_escrow", "client"): _(
        "This reads as a request to start work before the escrow (仮払い) is funded. Workers "
        "are told not to start until the escrow is funded: fund the milestone first."
    ),
    ("before_escrow", "worker"): _(
        "This reads as starting work before the escrow (仮払い) is funded. Until it is funded, "
        "nothing protects the pay for that work."
    ),
    ("off_platform", "client"): _(
        "This looks like contact details or an offer to deal outside Ishibashi. Outside the "
        "platform there is no escrow and no help if something goes wrong, and avoiding the fees "
        "breaches the terms of use."
    ),
    ("off_platform", "worker"): _(
        "This looks like contact details or an offer to deal outside Ishibashi. Outside the "
        "platform your pay is not protected by escrow, and avoiding the fees breaches the "
        "terms of use."
    ),
    ("free_test", "client"): _(
        "This reads as a request for unpaid test work. A test is work: offer it as a small paid "
        "milestone instead."
    ),
    ("free_test", "worker"): _(
        "This reads as offering unpaid test work. A test is work: it can be a small paid milestone."
    ),
}

# What the reader sees on the message, by category.
_READER_CAUTIONS: dict[str, Promise] = {
    "before_escrow": _(
        "Do not start work until the escrow (仮払い) is funded. A request to work before escrow "
        "can be reported to the operators."
    ),
    "off_platform": _(
        "This message seems to move the deal or the conversation outside Ishibashi. Outside the "
        "platform there is no escrow protection, and it breaches the terms of use. Keep the "
        "conversation and the payment here."
    ),
    "free_test": _(
        "This message seems to ask for unpaid test work. A test is work: ask for it to be a paid "
        "milestone, and do not do unpaid work."
    ),
}


def category_label(category: str) -> str:
    try:
        return str(GuardCategory(category).label)
    except ValueError:  # a category stored by a newer pattern file than this code knows
        return category


def reason_text(reason: str) -> str:
    return str(REASONS.get(reason, reason))


def writer_warning(category: str, *, is_client: bool) -> str:
    side = "client" if is_client else "worker"
    return str(_WRITER_WARNINGS.get((category, side), category_label(category)))


def reader_caution(category: str) -> str:
    return str(_READER_CAUTIONS.get(category, category_label(category)))
