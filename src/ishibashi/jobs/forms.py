"""Job, proposal and search forms: they parse the shape; jobs.services and jobs.selectors decide.

Fields are optional here and choices are plain text, so an empty or unknown value reaches the
service and comes back with the same message the API gives (both doors, one rule).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.core.validators import ProhibitNullCharactersValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ishibashi.core import limits
from ishibashi.jobs.models import ContractType, JobCategory, MilestoneKind, ProposalKind
from ishibashi.jobs.selectors import BUDGET_RANGE_REVERSED, JobSort
from ishibashi.jobs.services import JobInput, MilestoneInput, ProposalInput

# A deadline typed on a page is Japanese time, the calendar client and workers read it in,
# whatever the browser's or the server's zone (the API reads an offset-less time the same way).
JAPAN = ZoneInfo("Asia/Tokyo")
# How the browser's datetime-local and date inputs send and expect their values.
DATETIME_LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
DATE_FORMAT = "%Y-%m-%d"
DATETIME_INPUT_FORMATS = [DATETIME_LOCAL_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
# Room for the whole input so the service, not the form, says how long is too long.
SLACK = 2


def _any_choice(choices: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return [("", _("Any")), *choices]


def _choose_one(choices: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return [("", _("Choose…")), *choices]


class JapanDateTimeField(forms.DateTimeField):
    """A datetime-local input read and shown in Asia/Tokyo."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL_FORMAT)

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("input_formats", DATETIME_INPUT_FORMATS)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> dt.datetime | None:
        parsed = super().to_python(value)
        if parsed is None:
            return None
        # super() already attached the current zone; re-read the wall time as Japan time.
        return timezone.make_aware(timezone.make_naive(parsed), JAPAN)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, dt.datetime) and timezone.is_aware(value):
            # To the minute, as the input shows it: seconds would make an unchanged form differ.
            return timezone.localtime(value, JAPAN).replace(tzinfo=None, second=0, microsecond=0)
        return value


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format=DATE_FORMAT)


class YenInput(forms.NumberInput):
    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs={"inputmode": "numeric", "step": "1", **(attrs or {})})


class ShapeForm(forms.Form):
    """A form that parses only; every text, even one with a NUL in it, goes on to the service.

    Django's own NUL check is dropped: the services refuse control characters with their own
    message, and Django's Japanese catalogue renders that check as "enter some characters".
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.validators = [
                validator
                for validator in field.validators
                if not isinstance(validator, ProhibitNullCharactersValidator)
            ]


# --- search -----------------------------------------------------------------------------------


UNKNOWN_CHOICE = {"invalid_choice": _("Choose one of the listed options.")}


class JobFilterForm(ShapeForm):
    q = forms.CharField(
        label=_("Keywords"),
        required=False,
        max_length=limits.SEARCH_QUERY_LENGTH_MAX * SLACK,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("e.g. サーバー移行")}),
    )
    # Choice fields, so an unknown value is the field's own error, shown with the others.
    category = forms.ChoiceField(
        label=_("Category"),
        required=False,
        choices=_any_choice(JobCategory.choices),
        error_messages=UNKNOWN_CHOICE,
    )
    contract_type = forms.ChoiceField(
        label=_("Contract type"),
        required=False,
        choices=_any_choice(ContractType.choices),
        error_messages=UNKNOWN_CHOICE,
    )
    budget_min_jpy = forms.IntegerField(
        label=_("Budget from (yen)"), required=False, widget=YenInput
    )
    budget_max_jpy = forms.IntegerField(label=_("Budget to (yen)"), required=False, widget=YenInput)
    sort = forms.ChoiceField(
        label=_("Sort"), required=False, choices=JobSort.choices, error_messages=UNKNOWN_CHOICE
    )
    page = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        low, high = data.get("budget_min_jpy"), data.get("budget_max_jpy")
        if low is not None and high is not None and low > high:
            self.add_error("budget_max_jpy", BUDGET_RANGE_REVERSED)
        return data


# --- jobs -------------------------------------------------------------------------------------


class JobForm(ShapeForm):
    title = forms.CharField(
        label=_("Title"), required=False, max_length=limits.JOB_TITLE_LENGTH_MAX * SLACK
    )
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=limits.JOB_DESCRIPTION_LENGTH_MAX * SLACK,
        widget=forms.Textarea(attrs={"rows": 8}),
    )
    category = forms.CharField(
        label=_("Category"),
        required=False,
        widget=forms.Select(choices=_choose_one(JobCategory.choices)),
    )
    contract_type = forms.CharField(
        label=_("Contract type"),
        required=False,
        initial=ContractType.FIXED,
        widget=forms.Select(choices=ContractType.choices),
    )
    budget_min_jpy = forms.IntegerField(
        label=_("Budget from (yen)"), required=False, widget=YenInput
    )
    budget_max_jpy = forms.IntegerField(label=_("Budget to (yen)"), required=False, widget=YenInput)
    recruiting_deadline = JapanDateTimeField(
        label=_("Recruiting deadline (募集期限)"),
        required=False,
        help_text=_("Japan time. Recruiting ends at this moment; proposals close with it."),
    )
    desired_delivery_on = forms.DateField(
        label=_("Desired delivery date (希望納期)"),
        required=False,
        widget=DateInput,
        input_formats=[DATE_FORMAT],
    )
    scope_deliverables = forms.CharField(
        label=_("Deliverables (成果物)"),
        required=False,
        max_length=limits.JOB_SCOPE_FIELD_LENGTH_MAX * SLACK,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What the worker hands over, e.g. the migrated site and a work report."),
    )
    scope_acceptance_criteria = forms.CharField(
        label=_("Acceptance criteria (検収基準)"),
        required=False,
        max_length=limits.JOB_SCOPE_FIELD_LENGTH_MAX * SLACK,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("How you will decide the delivery is done. The inspection checks only this."),
    )
    scope_out_of_scope = forms.CharField(
        label=_("Out of scope (対象外)"),
        required=False,
        max_length=limits.JOB_SCOPE_FIELD_LENGTH_MAX * SLACK,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Optional. Anything listed here is a priced change if you ask for it later."),
    )
    revision_rounds = forms.IntegerField(
        label=_("Revision rounds included (修正回数)"),
        required=False,
        initial=1,
        widget=forms.NumberInput(attrs={"min": 0, "max": limits.REVISION_ROUNDS_MAX}),
    )

    def job_input(self) -> JobInput:
        data = self.cleaned_data
        return JobInput(
            title=data["title"],
            description=data["description"],
            category=data["category"],
            contract_type=data["contract_type"],
            budget_min_jpy=data["budget_min_jpy"],
            budget_max_jpy=data["budget_max_jpy"],
            recruiting_deadline=data["recruiting_deadline"],
            desired_delivery_on=data["desired_delivery_on"],
            scope_deliverables=data["scope_deliverables"],
            scope_acceptance_criteria=data["scope_acceptance_criteria"],
            scope_out_of_scope=data["scope_out_of_scope"],
            revision_rounds=data["revision_rounds"],
        )


# --- proposals --------------------------------------------------------------------------------


class ProposalForm(ShapeForm):
    kind = forms.CharField(
        label=_("Kind"),
        required=False,
        initial=ProposalKind.PROPOSAL,
        widget=forms.RadioSelect(choices=ProposalKind.choices),
        help_text=_(
            "A paid consultation (相談料) is a small one-milestone contract before a full "
            "proposal, paid into escrow like any other."
        ),
    )
    cover_letter = forms.CharField(
        label=_("Cover letter"),
        required=False,
        max_length=limits.COVER_LETTER_LENGTH_MAX * SLACK,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    total_jpy = forms.IntegerField(label=_("Total (yen)"), required=False, widget=YenInput)
    # How many milestone rows the page shows; the "add a row" button raises it by one.
    rows = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=limits.PROPOSAL_MILESTONES_MAX,
        widget=forms.HiddenInput,
    )


MILESTONE_KIND_CHOICES = _choose_one(MilestoneKind.choices)


class MilestoneRowForm(ShapeForm):
    """One row of the milestone plan; a row left wholly empty is not part of the plan."""

    title = forms.CharField(
        label=_("Milestone title"),
        required=False,
        max_length=limits.MILESTONE_TITLE_LENGTH_MAX * SLACK,
    )
    kind = forms.CharField(
        label=_("Kind"), required=False, widget=forms.Select(choices=MILESTONE_KIND_CHOICES)
    )
    amount_jpy = forms.IntegerField(label=_("Amount (yen)"), required=False, widget=YenInput)
    due_on = forms.DateField(
        label=_("Due date"), required=False, widget=DateInput, input_formats=[DATE_FORMAT]
    )

    def is_blank(self) -> bool:
        data = self.cleaned_data
        return not (data.get("title") or data.get("kind") or data.get("amount_jpy") is not None
                    or data.get("due_on"))  # fmt: skip

    def milestone_input(self) -> MilestoneInput:
        data = self.cleaned_data
        return MilestoneInput(
            title=data["title"],
            kind=data["kind"],
            amount_jpy=data["amount_jpy"],
            due_on=data["due_on"],
        )


def milestone_rows(
    *, data: Any = None, count: int = 1, initial: list[MilestoneInput] | None = None
) -> list[MilestoneRowForm]:
    """The plan's rows, named milestones-<n>-<field>; filled from MilestoneInputs if given."""
    if initial is not None:
        return [
            MilestoneRowForm(
                prefix=f"milestones-{index}",
                initial={
                    "title": row.title,
                    "kind": row.kind,
                    "amount_jpy": row.amount_jpy,
                    "due_on": row.due_on,
                },
            )
            for index, row in enumerate(initial)
        ]
    return [MilestoneRowForm(data, prefix=f"milestones-{index}") for index in range(count)]


def proposal_input(form: ProposalForm, rows: list[tuple[int, MilestoneRowForm]]) -> ProposalInput:
    data = form.cleaned_data
    return ProposalInput(
        cover_letter=data["cover_letter"],
        total_jpy=data["total_jpy"],
        milestones=[row.milestone_input() for _index, row in rows],
        kind=data["kind"] or ProposalKind.PROPOSAL,
    )


class MessageForm(ShapeForm):
    body = forms.CharField(
        label=_("Message"),
        required=False,
        max_length=limits.MESSAGE_LENGTH_MAX * SLACK,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class DeclineForm(ShapeForm):
    reason = forms.CharField(
        label=_("Reason (optional; the worker sees it)"),
        required=False,
        max_length=limits.DECLINE_REASON_LENGTH_MAX * SLACK,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class HireForm(ShapeForm):
    inspection_days = forms.IntegerField(
        label=_("Inspection period (検収期間), days"),
        required=False,
        widget=forms.NumberInput,
    )
    # キャンセル料: a contract term; what the worker keeps of a started milestone if the client
    # cancels it. Blank means none.
    kill_fee_percent = forms.IntegerField(
        label=_("Kill fee (キャンセル料), percent"),
        required=False,
        initial=0,
        widget=forms.NumberInput(attrs={"step": "1"}),
    )
    # The total the client saw: if the worker changed the proposal meanwhile, the hire stops.
    expected_total_jpy = forms.IntegerField(required=False, widget=forms.HiddenInput)
    # The revision the client read: a revised plan with the same total is still a new plan.
    expected_revision = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Read per form, not at import, so the settings of the moment (and of tests) apply.
        days = self.fields["inspection_days"]
        days.initial = settings.INSPECTION_DAYS_DEFAULT
        days.widget.attrs.update(min=settings.INSPECTION_DAYS_MIN, max=settings.INSPECTION_DAYS_MAX)
        days.help_text = _(
            "From %(min)d to %(max)d days. After a delivery, the client has this long to "
            "inspect; a silent client's delivery is then approved automatically."
        ) % {"min": settings.INSPECTION_DAYS_MIN, "max": settings.INSPECTION_DAYS_MAX}
        kill_fee = self.fields["kill_fee_percent"]
        kill_fee.widget.attrs.update(min=0, max=settings.KILL_FEE_PERCENT_MAX)
        kill_fee.help_text = _(
            "From 0 to %(max)d percent. If you cancel after the worker has started a milestone, "
            "this share of its escrow is paid to the worker and the rest refunded to you."
        ) % {"max": settings.KILL_FEE_PERCENT_MAX}
