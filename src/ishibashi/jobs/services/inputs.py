"""What a job or a proposal is made of, and the checks every write applies to it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ishibashi.core import clock, limits
from ishibashi.core.errors import InvalidInput
from ishibashi.core.text import clean_text, fold_width
from ishibashi.jobs.models import (
    ContractType,
    JobCategory,
    MilestoneKind,
    ProposalKind,
)


@dataclass(frozen=True)
class JobInput:
    title: str
    description: str
    category: str
    contract_type: str
    budget_min_jpy: int
    budget_max_jpy: int
    recruiting_deadline: dt.datetime
    desired_delivery_on: dt.date
    scope_deliverables: str
    scope_acceptance_criteria: str
    scope_out_of_scope: str = ""
    revision_rounds: int = 1


@dataclass(frozen=True)
class MilestoneInput:
    title: str
    kind: str
    amount_jpy: int
    due_on: dt.date


@dataclass(frozen=True)
class ProposalInput:
    cover_letter: str
    total_jpy: int
    milestones: Sequence[MilestoneInput] = field(default_factory=tuple)
    kind: str = ProposalKind.PROPOSAL


# The split pay the seed's server-migration worker wished they had asked for: research,
# night stand-by, the work itself and the completion check, each paid on its own.
SPLIT_PAY_TEMPLATE: tuple[tuple[str, str, int], ...] = (
    # (kind, Japanese title, share of the total in percent)
    (MilestoneKind.RESEARCH, "事前調査", 20),
    (MilestoneKind.STANDBY, "待機・深夜対応", 20),
    (MilestoneKind.MAIN_WORK, "実作業", 50),
    (MilestoneKind.COMPLETION_CHECK, "作業完了確認", 10),
)


def today() -> dt.date:
    """Today in Japan: due dates and delivery dates are Japanese calendar days."""
    return timezone.localdate(clock.now())


def checked_yen(value: object, *, field: str, low: int, high: int) -> int:
    if type(value) is not int:
        raise InvalidInput(_("Enter a whole number of yen."), field=field)
    if value < low:
        raise InvalidInput(
            _("The amount must be at least ¥%(min)s.") % {"min": f"{low:,}"}, field=field
        )
    if value > high:
        raise InvalidInput(
            _("The amount must be at most ¥%(max)s.") % {"max": f"{high:,}"}, field=field
        )
    return value


def checked_choice(value: object, *, choices: Sequence[str], field: str) -> str:
    if not isinstance(value, str) or value not in choices:
        raise InvalidInput(_("Choose one of the listed options."), field=field)
    return value


def checked_job(data: JobInput) -> dict[str, object]:
    now = clock.now()
    budget_min = checked_yen(
        data.budget_min_jpy,
        field="budget_min_jpy",
        low=limits.JOB_BUDGET_JPY_MIN,
        high=limits.JOB_BUDGET_JPY_MAX,
    )
    budget_max = checked_yen(
        data.budget_max_jpy,
        field="budget_max_jpy",
        low=limits.JOB_BUDGET_JPY_MIN,
        high=limits.JOB_BUDGET_JPY_MAX,
    )
    if budget_max < budget_min:
        raise InvalidInput(
            _("The upper end of the budget is below the lower end."), field="budget_max_jpy"
        )
    deadline = data.recruiting_deadline
    if not isinstance(deadline, dt.datetime) or timezone.is_naive(deadline):
        raise InvalidInput(_("Enter a date and time."), field="recruiting_deadline")
    if deadline <= now:
        raise InvalidInput(
            _("The recruiting deadline must be in the future."), field="recruiting_deadline"
        )
    if deadline > now + dt.timedelta(days=limits.JOB_RECRUITING_DAYS_MAX):
        raise InvalidInput(
            _("Recruit for at most %(days)d days.") % {"days": limits.JOB_RECRUITING_DAYS_MAX},
            field="recruiting_deadline",
        )
    delivery = data.desired_delivery_on
    if not isinstance(delivery, dt.date) or isinstance(delivery, dt.datetime):
        raise InvalidInput(_("Enter a date."), field="desired_delivery_on")
    if delivery < timezone.localdate(deadline):
        raise InvalidInput(
            _("The desired delivery date cannot be before the recruiting deadline."),
            field="desired_delivery_on",
        )
    if delivery > today() + dt.timedelta(days=limits.MILESTONE_DUE_DAYS_MAX):
        raise InvalidInput(
            _("The desired delivery date is too far away."), field="desired_delivery_on"
        )
    rounds = data.revision_rounds
    if type(rounds) is not int or not 0 <= rounds <= limits.REVISION_ROUNDS_MAX:
        raise InvalidInput(
            _("Revision rounds must be a whole number from 0 to %(max)d.")
            % {"max": limits.REVISION_ROUNDS_MAX},
            field="revision_rounds",
        )
    scope = limits.JOB_SCOPE_FIELD_LENGTH_MAX
    return {
        # Width-folded as stored, so the search indexes and the folded query agree (0013).
        "title": fold_width(
            clean_text(data.title, field="title", length_max=limits.JOB_TITLE_LENGTH_MAX)
        ),
        "description": fold_width(
            clean_text(
                data.description,
                field="description",
                length_max=limits.JOB_DESCRIPTION_LENGTH_MAX,
                multiline=True,
            )
        ),
        "category": checked_choice(data.category, choices=JobCategory.values, field="category"),
        "contract_type": checked_choice(
            data.contract_type, choices=ContractType.values, field="contract_type"
        ),
        "budget_min_jpy": budget_min,
        "budget_max_jpy": budget_max,
        "recruiting_deadline": deadline,
        "desired_delivery_on": delivery,
        "scope_deliverables": clean_text(
            data.scope_deliverables, field="scope_deliverables", length_max=scope, multiline=True
        ),
        "scope_acceptance_criteria": clean_text(
            data.scope_acceptance_criteria,
            field="scope_acceptance_criteria",
            length_max=scope,
            multiline=True,
        ),
        "scope_out_of_scope": clean_text(
            data.scope_out_of_scope,
            field="scope_out_of_scope",
            length_max=scope,
            multiline=True,
            required=False,
        ),
        "revision_rounds": rounds,
    }


def split_pay_plan(*, total_jpy: int, due_on: dt.date) -> list[MilestoneInput]:
    """The four-part template (事前調査 / 待機・深夜対応 / 実作業 / 作業完了確認) for a total.

    Shares are floored and the remainder goes to the main work, so the parts add up exactly.
    """
    parts = [
        MilestoneInput(title=title, kind=kind, amount_jpy=total_jpy * share // 100, due_on=due_on)
        for kind, title, share in SPLIT_PAY_TEMPLATE
    ]
    remainder = total_jpy - sum(part.amount_jpy for part in parts)
    main = 2
    parts[main] = MilestoneInput(
        title=parts[main].title,
        kind=parts[main].kind,
        amount_jpy=parts[main].amount_jpy + remainder,
        due_on=due_on,
    )
    return parts
