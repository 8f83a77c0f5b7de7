"""What the parties are told about reviews: one is due, and they are published.

Nothing here is sent when a review is written: the other party learns that a review exists only
when it is published (double-blind), and then both parties are told at once.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from ishibashi.notifications.notices import notify

if TYPE_CHECKING:
    from ishibashi.accounts.models import User
    from ishibashi.contracts.models import Contract


def _when(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def review_due(*, contract: Contract, user: User, closes_at: dt.datetime) -> None:
    title, deadline = contract.title, _when(closes_at)
    notify(
        user=user,
        compose=lambda: (
            _("Please review: “%(title)s”") % {"title": title},
            _(
                "The contract “%(title)s” has ended. You can review the other party until "
                "%(deadline)s. Reviews are double-blind: neither is shown until both are in or "
                "the deadline passes, and then both are published together."
            )
            % {"title": title, "deadline": deadline},
        ),
        path=reverse("reviews:submit", args=[contract.pk]),
    )


def reviews_published(*, contract: Contract) -> None:
    title = contract.title
    for user in (contract.client, contract.worker):
        notify(
            user=user,
            compose=lambda: (
                _("Reviews published: “%(title)s”") % {"title": title},
                _("The reviews of the contract “%(title)s” are now public.") % {"title": title},
            ),
            path=reverse("contracts:detail", args=[contract.pk]),
        )
