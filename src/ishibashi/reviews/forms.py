"""Review forms check shape only; every rule lives in reviews.services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ishibashi.core import limits
from ishibashi.reviews.models import SUB_SCORE_LABELS, SUB_SCORES, ReviewRole
from ishibashi.reviews.services import ReviewInput

# Radio buttons, so the stars work without JavaScript; 5 first, as people read a rating.
STARS = [
    (n, f"{'★' * n}{'☆' * (limits.REVIEW_SCORE_MAX - n)} {n}")
    for n in range(limits.REVIEW_SCORE_MAX, limits.REVIEW_SCORE_MIN - 1, -1)
]


def _stars(label: Any) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label,
        choices=STARS,
        coerce=int,
        widget=forms.RadioSelect(attrs={"class": "stars"}),
        error_messages={"required": _("Choose a score.")},
    )


class ReviewForm(forms.Form):
    """The overall score, the text and the three sub-scores of the role reviewed."""

    def __init__(self, *args: Any, role: ReviewRole, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.role = role
        self.fields["overall"] = _stars(_("Overall"))
        for name in SUB_SCORES[role]:
            self.fields[name] = _stars(SUB_SCORE_LABELS[name])
        self.fields["text"] = forms.CharField(
            label=_("Your review"),
            widget=forms.Textarea(attrs={"rows": 6}),
            # Twice the limit: the service counts after cleaning and says so in the user's words.
            max_length=limits.REVIEW_TEXT_LENGTH_MAX * 2,
            help_text=_("%(min)d to %(max)d characters. What went well, what could be better.")
            % {"min": limits.REVIEW_TEXT_LENGTH_MIN, "max": limits.REVIEW_TEXT_LENGTH_MAX},
        )

    def review_input(self) -> ReviewInput:
        data = self.cleaned_data
        return ReviewInput(
            overall=data["overall"],
            text=data["text"],
            **{name: data[name] for name in SUB_SCORES[self.role]},
        )


class ReplyForm(forms.Form):
    text = forms.CharField(
        label=_("Your reply"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=limits.REVIEW_REPLY_LENGTH_MAX * 2,
        help_text=_("Shown under the review. You can reply once; a reply cannot be changed."),
    )
