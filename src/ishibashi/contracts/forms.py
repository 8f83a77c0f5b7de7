"""Contract page forms: they parse the shape; contracts.services decides.

As in jobs.forms, fields are optional and lengths generous, so an empty or overlong value
reaches the service and comes back with the same message the API gives. A contract page shows
one form of a kind per milestone, so each form takes an `auto_id` naming its milestone (the
field names stay plain: `reason`, `message`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from ishibashi.contracts.models import Milestone
from ishibashi.contracts.services import MilestoneAddition, MilestoneEdit
from ishibashi.core import limits
from ishibashi.jobs.forms import (
    DATE_FORMAT,
    MILESTONE_KIND_CHOICES,
    SLACK,
    DateInput,
    ShapeForm,
    YenInput,
)


def scoped_id(name: str, key: int | None = None) -> str:
    """An auto_id unique on the page: one deliver form per milestone, one answer per change."""
    return f"id_{name}{'' if key is None else key}_%s"


def _text(label: Any, *, length_max: int, rows: int = 3, help_text: Any = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        max_length=length_max * SLACK,
        widget=forms.Textarea(attrs={"rows": rows}),
        help_text=help_text,
    )


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Any number of files; the service checks their count, names, types and sizes."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        # An empty file is the service's to refuse, with its own message naming the file.
        kwargs.setdefault("allow_empty_file", True)
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        one = super().clean
        if isinstance(data, list | tuple):
            return [one(item, initial) for item in data if item]
        return [one(data, initial)] if data else []


class DeliverForm(ShapeForm):
    message = _text(
        _("Message to the client"),
        length_max=limits.DELIVERY_MESSAGE_LENGTH_MAX,
        rows=4,
        help_text=_(
            "What you deliver and how to check it. For a stand-by or research milestone, a "
            "short report is enough."
        ),
    )
    preview_files = MultipleFileField(
        label=_("Preview files (the client sees them at once)"),
        required=False,
        help_text=_("e.g. screenshots or a sample with a watermark."),
    )
    full_files = MultipleFileField(
        label=_("Full files (unlocked when the delivery is approved)"),
        required=False,
        help_text=_(
            "The client can download these only once they approve the delivery, or it is "
            "approved automatically at the inspection deadline."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        accept = ",".join(f".{ext}" for ext in sorted(settings.DELIVERY_FILE_EXTENSIONS))
        for name in ("preview_files", "full_files"):
            self.fields[name].widget.attrs["accept"] = accept


class RevisionForm(ShapeForm):
    reason = _text(
        _("What needs to change (修正内容)"),
        length_max=limits.REASON_LENGTH_MAX,
        help_text=_("Required. Point to the acceptance criteria the delivery does not meet."),
    )


class DisputeForm(ShapeForm):
    reason = _text(
        _("Why you ask the operator to decide"),
        length_max=limits.REASON_LENGTH_MAX,
        help_text=_(
            "e.g. the client does not answer, rejects without a reason, demands a change of "
            "scope, does not pay; or the quality is not what was agreed."
        ),
    )


class CancelForm(ShapeForm):
    reason = _text(_("Reason for cancelling"), length_max=limits.REASON_LENGTH_MAX)


class NoteForm(ShapeForm):
    """An optional note: a flag's details, a declined change's reason, an operator's note."""

    note = _text(_("Note"), length_max=limits.REASON_LENGTH_MAX, rows=2)


class FlagForm(NoteForm):
    """The worker's report; `message_id` when it is made from a message's caution banner."""

    message_id = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)


class ResolveForm(ShapeForm):
    worker_amount_jpy = forms.IntegerField(
        label=_("To the worker (yen)"), required=False, widget=YenInput
    )
    note = _text(_("Ruling (both parties read it)"), length_max=limits.REASON_LENGTH_MAX)


class MessageForm(ShapeForm):
    body = _text(_("Message"), length_max=limits.CONTRACT_MESSAGE_LENGTH_MAX)


class ChangeProposeForm(ShapeForm):
    """変更依頼: scope text, per-milestone amount and due date, one added milestone, removals.

    A milestone's fields are `m<id>_amount_jpy`, `m<id>_due_on`, `m<id>_remove`; a blank
    amount or date leaves that milestone as it is.
    """

    message = _text(
        _("Message (why the change)"), length_max=limits.CHANGE_MESSAGE_LENGTH_MAX, rows=3
    )
    scope = _text(
        _("New scope of work (leave empty to keep it)"),
        length_max=limits.JOB_DESCRIPTION_LENGTH_MAX,
        rows=4,
    )
    add_title = forms.CharField(
        label=_("Added milestone: title"),
        required=False,
        max_length=limits.MILESTONE_TITLE_LENGTH_MAX * SLACK,
    )
    add_kind = forms.CharField(
        label=_("Added milestone: kind"),
        required=False,
        widget=forms.Select(choices=MILESTONE_KIND_CHOICES),
    )
    add_amount_jpy = forms.IntegerField(
        label=_("Added milestone: amount (yen)"), required=False, widget=YenInput
    )
    add_due_on = forms.DateField(
        label=_("Added milestone: due date"),
        required=False,
        widget=DateInput,
        input_formats=[DATE_FORMAT],
    )
    kill_fee_percent = forms.IntegerField(
        label=_("New kill fee (キャンセル料), percent"),
        required=False,
        help_text=_("Leave empty to keep the current kill fee."),
    )

    def __init__(
        self,
        *args: Any,
        editable: Sequence[Milestone] = (),
        removable_ids: Sequence[int] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.editable = list(editable)
        kill_fee = self.fields["kill_fee_percent"]
        kill_fee.widget.attrs.update(min=0, max=settings.KILL_FEE_PERCENT_MAX)
        for milestone in self.editable:
            self.fields[f"m{milestone.pk}_amount_jpy"] = forms.IntegerField(
                label=_("New amount (yen)"), required=False, widget=YenInput
            )
            self.fields[f"m{milestone.pk}_due_on"] = forms.DateField(
                label=_("New due date"),
                required=False,
                widget=DateInput,
                input_formats=[DATE_FORMAT],
            )
            if milestone.pk in removable_ids:
                self.fields[f"m{milestone.pk}_remove"] = forms.BooleanField(
                    label=_("Remove"), required=False
                )

    def milestone_rows(self) -> list[dict[str, Any]]:
        """Each editable milestone with its bound fields, for the page's table."""
        rows = []
        for milestone in self.editable:
            remove = f"m{milestone.pk}_remove"
            rows.append(
                {
                    "milestone": milestone,
                    "amount": self[f"m{milestone.pk}_amount_jpy"],
                    "due_on": self[f"m{milestone.pk}_due_on"],
                    "remove": self[remove] if remove in self.fields else None,
                }
            )
        return rows

    def has_addition(self) -> bool:
        data = self.cleaned_data
        return bool(
            data.get("add_title")
            or data.get("add_kind")
            or data.get("add_amount_jpy") is not None
            or data.get("add_due_on")
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or self.cleaned_data
        # The one shape check the service cannot make: a date it compares must be a date.
        if (
            self.has_addition()
            and data.get("add_due_on") is None
            and "add_due_on" not in self.errors
        ):
            self.add_error("add_due_on", _("Enter the added milestone's due date."))
        return data

    def edits(self) -> list[MilestoneEdit]:
        data = self.cleaned_data
        found = []
        for milestone in self.editable:
            amount = data.get(f"m{milestone.pk}_amount_jpy")
            due_on = data.get(f"m{milestone.pk}_due_on")
            if amount is not None or due_on is not None:
                found.append(MilestoneEdit(id=milestone.pk, amount_jpy=amount, due_on=due_on))
        return found

    def additions(self) -> list[MilestoneAddition]:
        if not self.has_addition():
            return []
        data = self.cleaned_data
        return [
            MilestoneAddition(
                title=data["add_title"],
                kind=data["add_kind"],
                amount_jpy=data["add_amount_jpy"],
                due_on=data["add_due_on"],
            )
        ]

    def removals(self) -> list[int]:
        return [m.pk for m in self.editable if self.cleaned_data.get(f"m{m.pk}_remove")]

    def scope_text(self) -> str | None:
        return self.cleaned_data["scope"] or None
