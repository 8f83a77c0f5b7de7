"""Job and proposal pages: parse the form, call the same services and selectors as the API, render.

A refusal from a service is shown next to the field it names; "not found" and "someone else's
to do" refusals get the 404 and 403 pages, so a page never tells more than the API does.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.forms import Form
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ishibashi.accounts.models import User
from ishibashi.core import limits
from ishibashi.core.client_address import client_ip
from ishibashi.core.errors import ApplicationError, Forbidden, NotFound, RateLimited, Unavailable
from ishibashi.core.pagination import page_number, page_of
from ishibashi.core.slots import slot_render, slot_render_many
from ishibashi.core.text import snippet
from ishibashi.guards import (
    ReaderCaution,
    WriterWarning,
    category_label,
    detect,
    reader_cautions,
    writer_warnings,
)
from ishibashi.jobs import forms, selectors, services
from ishibashi.jobs.models import (
    ClientJobStats,
    Job,
    JobState,
    MilestoneKind,
    Proposal,
    ProposalKind,
    ProposalMessage,
    ProposalState,
)
from ishibashi.jobs.selectors import JobFilters, JobSort

# Rows the proposal form starts with: room for the four-part template without adding any.
PROPOSAL_ROWS_DEFAULT = 4
# Page links shown before the current one; the list has no total count (that would be a query
# per search), so the pager goes back a few pages and forward one at a time.
PAGER_PAGES_BEFORE = 4
MILESTONE_FIELD = re.compile(r"milestones\[(\d+)\]\.(\w+)")


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _viewer(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _refusal_page(request: HttpRequest, error: ApplicationError) -> HttpResponse | None:
    """The 404 or 403 page for refusals about who may see or do what; None for the rest."""
    if isinstance(error, NotFound):
        return render(request, "404.html", {"message": error.message}, status=404)
    if isinstance(error, Forbidden):
        return render(request, "jobs/forbidden.html", {"message": error.message}, status=403)
    return None


def _show_error(form: Form, error: ApplicationError) -> None:
    """Put a service's refusal next to its field, or at the top of the form."""
    form.add_error(error.field if error.field in form.fields else None, str(error.message))


def _pager(number: int, has_next: bool) -> dict[str, Any]:
    numbers = list(range(max(1, number - PAGER_PAGES_BEFORE), number + 1))
    if has_next:
        numbers.append(number + 1)
    return {"number": number, "numbers": numbers, "has_next": has_next}


# --- search -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobCard:
    job: Job
    stats: ClientJobStats
    # The client's level and top reason, drawn by the app above that fills the slot (if any).
    reliability: str = ""

    @property
    def snippet(self) -> str:
        return snippet(self.job.description)

    @property
    def deadline_label(self) -> str:
        return selectors.deadline_label(self.job.recruiting_deadline)


@require_GET
def job_list_view(request: HttpRequest) -> HttpResponse:
    """Open jobs, newest first: one query for the page, whatever its length (no N+1)."""
    form = forms.JobFilterForm(request.GET)
    found = None
    refusal = None
    if form.is_valid():
        data = form.cleaned_data
        try:
            found = services.job_search_throttled(
                viewer=_viewer(request),
                client_address=client_ip(request),
                filters=JobFilters(
                    q=data["q"],
                    category=data["category"],
                    contract_type=data["contract_type"],
                    budget_min_jpy=data["budget_min_jpy"],
                    budget_max_jpy=data["budget_max_jpy"],
                    page=1 if data["page"] is None else data["page"],
                    sort=data["sort"] or JobSort.NEW,
                ),
            )
        except ApplicationError as error:
            _show_error(form, error)
            refusal = error
    jobs = found.jobs if found else []
    # One batch for every card's client: the page's queries do not grow with its length.
    reliability = slot_render_many(
        "client_reliability_summary", request, [job.client_id for job in jobs]
    )
    context = {
        "form": form,
        "cards": [
            JobCard(
                job=job,
                stats=selectors.client_stats(job.client),
                reliability=reliability[job.client_id],
            )
            for job in jobs
        ],
        "pager": _pager(found.page, found.has_next) if found else None,
        "found": found,
    }
    response = render(request, "jobs/list.html", context)
    # Too many searches (429) and a search out of time (503) keep their status on the page too,
    # with Retry-After; a refused text stays a 200 page showing the form's error.
    if isinstance(refusal, RateLimited | Unavailable):
        response.status_code = refusal.http_status
        response["Retry-After"] = str(refusal.extra.get("retry_after_seconds", 60))
    return response


# --- jobs -------------------------------------------------------------------------------------


@require_GET
def job_detail_view(request: HttpRequest, job_id: int) -> HttpResponse:
    viewer = _viewer(request)
    try:
        job = selectors.job_get_for_viewer(viewer=viewer, job_id=job_id)
    except ApplicationError as error:
        return _refusal_page(request, error) or redirect("jobs:list")
    is_owner = viewer is not None and viewer.pk == job.client_id
    proposals = (
        list(selectors.proposals_for_job(viewer=viewer, job=job)[: limits.PAGE_SIZE_MAX])
        if viewer is not None
        else []
    )
    has_open_proposal = any(
        p.state == ProposalState.OPEN and p.kind == ProposalKind.PROPOSAL for p in proposals
    )
    context = {
        "job": job,
        "stats": selectors.client_stats(job.client),
        "reliability": slot_render("client_reliability", request, job.client_id),
        "deadline_label": selectors.deadline_label(job.recruiting_deadline),
        "is_owner": is_owner,
        "can_edit": is_owner and services.job_is_editable(job),
        "proposals": proposals,
        "can_propose": services.job_is_recruiting(job) and not is_owner and not has_open_proposal,
    }
    return render(request, "jobs/detail.html", context)


@login_required
@require_GET
def my_jobs_view(request: HttpRequest) -> HttpResponse:
    number = page_number(request.GET.get("page"))
    jobs, has_next = page_of(selectors.job_list_for_client(client=_user(request)), number)
    rows = [{"job": job, "can_edit": services.job_is_editable(job)} for job in jobs]
    return render(request, "jobs/mine.html", {"rows": rows, "pager": _pager(number, has_next)})


@login_required
@require_http_methods(["GET", "POST"])
def job_create_view(request: HttpRequest) -> HttpResponse:
    form = forms.JobForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        publish = request.POST.get("action") == "publish"
        try:
            job = services.job_create(client=_user(request), data=form.job_input(), publish=publish)
        except ApplicationError as error:
            _show_error(form, error)
        else:
            messages.success(
                request,
                _("Your job is published.")
                if publish
                else _("Saved as a draft. Only you can see it until you publish it."),
            )
            return redirect("jobs:detail", job_id=job.pk)
    return render(request, "jobs/job_form.html", {"form": form, "job": None})


def _job_initial(job: Job) -> dict[str, Any]:
    names = [name for name in forms.JobForm.base_fields if hasattr(job, name)]
    return {name: getattr(job, name) for name in names}


@login_required
@require_http_methods(["GET", "POST"])
def job_edit_view(request: HttpRequest, job_id: int) -> HttpResponse:
    user = _user(request)
    try:
        job = selectors.job_get_for_viewer(viewer=user, job_id=job_id)
        if job.client_id != user.pk:
            raise Forbidden(_("Only the client who posted this job can change it."))
    except ApplicationError as error:
        return _refusal_page(request, error) or redirect("jobs:list")
    if request.method == "GET" and not services.job_is_editable(job):
        messages.error(
            request, _("This job can no longer be edited: it has proposals or has ended.")
        )
        return redirect("jobs:detail", job_id=job.pk)
    form = forms.JobForm(request.POST or None, initial=_job_initial(job))
    if request.method == "POST" and form.is_valid():
        publish = request.POST.get("action") == "publish" and job.state == JobState.DRAFT
        try:
            services.job_update(client=user, job_id=job.pk, data=form.job_input(), publish=publish)
        except ApplicationError as error:
            refusal = _refusal_page(request, error)
            if refusal:
                return refusal
            _show_error(form, error)
        else:
            messages.success(request, _("Your job is published.") if publish else _("Saved."))
            return redirect("jobs:detail", job_id=job.pk)
    return render(request, "jobs/job_form.html", {"form": form, "job": job})


def _back_to_job(request: HttpRequest, job_id: int) -> HttpResponse:
    """Back where the button was: the "my jobs" list or the job page."""
    if request.POST.get("next") == "mine":
        return redirect("jobs:mine")
    return redirect("jobs:detail", job_id=job_id)


@login_required
@require_POST
def job_publish_view(request: HttpRequest, job_id: int) -> HttpResponse:
    try:
        services.job_publish(client=_user(request), job_id=job_id)
    except ApplicationError as error:
        refusal = _refusal_page(request, error)
        if refusal:
            return refusal
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("Your job is published."))
    return _back_to_job(request, job_id)


@login_required
@require_POST
def job_close_view(request: HttpRequest, job_id: int) -> HttpResponse:
    try:
        services.job_close(client=_user(request), job_id=job_id)
    except ApplicationError as error:
        refusal = _refusal_page(request, error)
        if refusal:
            return refusal
        messages.error(request, str(error.message))
    else:
        messages.success(
            request, _("Recruiting has ended. Workers with open proposals have been told.")
        )
    return _back_to_job(request, job_id)


# --- proposing --------------------------------------------------------------------------------


def _template_due_on(job: Job) -> dt.date:
    """The due date a template fills in: the client's desired date while it is still ahead."""
    tomorrow = services.today() + dt.timedelta(days=1)
    return max(job.desired_delivery_on, tomorrow)


def _with_plan(data: QueryDict, plan: list[services.MilestoneInput], *, kind: str) -> QueryDict:
    """The posted form with its milestone rows replaced by the plan, to draw it filled in."""
    filled = data.copy()
    for key in [key for key in filled if key.startswith("milestones-")]:
        del filled[key]
    for index, row in enumerate(plan):
        prefix = f"milestones-{index}"
        filled[f"{prefix}-title"] = row.title
        filled[f"{prefix}-kind"] = row.kind
        filled[f"{prefix}-amount_jpy"] = str(row.amount_jpy)
        filled[f"{prefix}-due_on"] = row.due_on.isoformat()
    filled["rows"] = str(len(plan))
    filled["kind"] = kind
    return filled


def _plan_from_template(
    form: forms.ProposalForm, job: Job, action: str
) -> list[services.MilestoneInput] | None:
    total = form.cleaned_data.get("total_jpy")
    if not total or total < 1:
        form.add_error("total_jpy", _("Enter the total first: the template splits it."))
        return None
    due_on = _template_due_on(job)
    if action == "consultation":
        title = str(ProposalKind.CONSULTATION.label)
        kind = MilestoneKind.CONSULTATION
        return [services.MilestoneInput(title=title, kind=kind, amount_jpy=total, due_on=due_on)]
    return services.split_pay_plan(total_jpy=total, due_on=due_on)


def _show_proposal_error(
    form: forms.ProposalForm,
    filled: list[tuple[int, forms.MilestoneRowForm]],
    plan_errors: list[str],
    error: ApplicationError,
) -> None:
    """Put the refusal where it belongs: "milestones[2].amount_jpy" is the third non-empty row.

    The service numbers only the rows it was given, so an empty row left in between is skipped
    when mapping its index back to the row on the page.
    """
    match = MILESTONE_FIELD.fullmatch(error.field or "")
    if match and int(match[1]) < len(filled):
        row = filled[int(match[1])][1]
        row.add_error(match[2] if match[2] in row.fields else None, str(error.message))
    elif error.field == "milestones":
        plan_errors.append(str(error.message))
    else:
        _show_error(form, error)


def _template_actions(revising: Proposal | None) -> tuple[str, ...]:
    """The template buttons on offer: a revision keeps its kind, so it offers only its own."""
    if revising is None:
        return ("template", "consultation")
    return ("template",) if revising.kind == ProposalKind.PROPOSAL else ()


def _plan_form_page(
    request: HttpRequest, job: Job, *, revising: Proposal | None = None
) -> HttpResponse:
    """The proposal form, to send a new proposal or, given `revising`, a revision of it.

    Both share the milestone rows, the template buttons and the error placement; a revision
    starts filled with the current plan and keeps the proposal's kind.
    """
    user = _user(request)
    plan_errors: list[str] = []
    guard_warnings: list[WriterWarning] = []
    template_actions = _template_actions(revising)
    if request.method == "GET":
        if revising is None:
            form = forms.ProposalForm(
                initial={"kind": ProposalKind.PROPOSAL, "rows": PROPOSAL_ROWS_DEFAULT}
            )
            rows = forms.milestone_rows(count=PROPOSAL_ROWS_DEFAULT)
        else:
            current = [
                services.MilestoneInput(
                    title=m.title, kind=m.kind, amount_jpy=m.amount_jpy, due_on=m.due_on
                )
                for m in revising.milestones.all()
            ]
            form = forms.ProposalForm(
                initial={
                    "kind": revising.kind,
                    "cover_letter": revising.cover_letter,
                    "total_jpy": revising.total_jpy,
                    "rows": len(current),
                }
            )
            rows = forms.milestone_rows(initial=current)
    else:
        data: QueryDict = request.POST
        if revising is not None:
            # The kind is not the worker's to change here; whatever was posted, keep it.
            data = data.copy()
            data["kind"] = revising.kind
        action = data.get("action", "submit")
        form = forms.ProposalForm(data)
        form_valid = form.is_valid()
        count = form.cleaned_data.get("rows") or PROPOSAL_ROWS_DEFAULT
        if action == "add_row":
            count = min(count + 1, limits.PROPOSAL_MILESTONES_MAX)
            data = data.copy()
            data["rows"] = str(count)
            form = forms.ProposalForm(data)
            form_valid = form.is_valid()
        rows = forms.milestone_rows(data=data, count=count)
        # Validate every row, not just up to the first bad one, so each shows its own errors.
        invalid_rows = [row for row in rows if not row.is_valid()]
        if action in template_actions and form_valid:
            plan = _plan_from_template(form, job, action)
            if plan is not None:
                kind = (
                    ProposalKind.CONSULTATION if action == "consultation" else ProposalKind.PROPOSAL
                )
                data = _with_plan(data, plan, kind=kind)
                form = forms.ProposalForm(data)
                rows = forms.milestone_rows(data=data, count=len(plan))
        elif action == "submit" and form_valid and not invalid_rows:
            filled = [(index, row) for index, row in enumerate(rows) if not row.is_blank()]
            if data.get("acknowledged") != "1":
                # The cover letter is warned about before it is sent, never blocked.
                found = detect(form.cleaned_data.get("cover_letter") or "")
                guard_warnings = writer_warnings(found, is_client=False)
        if action == "submit" and form_valid and not invalid_rows and not guard_warnings:
            try:
                if revising is None:
                    proposal = services.proposal_create(
                        worker=user, job_id=job.pk, data=forms.proposal_input(form, filled)
                    )
                else:
                    proposal = services.proposal_revise(
                        worker=user,
                        proposal_id=revising.pk,
                        data=forms.proposal_input(form, filled),
                    )
            except ApplicationError as error:
                refusal = _refusal_page(request, error)
                if refusal:
                    return refusal
                _show_proposal_error(form, filled, plan_errors, error)
            else:
                messages.success(
                    request,
                    _("Your proposal was sent.")
                    if revising is None
                    else _("Your proposal was revised. The client has been told."),
                )
                return redirect("jobs:proposal_detail", proposal_id=proposal.pk)
    context = {
        "job": job,
        # The client's record, read before the propose button (research the client first).
        "reliability": slot_render("client_reliability", request, job.client_id),
        "proposal": revising,
        "form": form,
        "rows": rows,
        "plan_errors": plan_errors,
        "can_add_row": len(rows) < limits.PROPOSAL_MILESTONES_MAX,
        "template_actions": template_actions,
        "guard_warnings": guard_warnings,
    }
    return render(request, "jobs/propose.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def proposal_create_view(request: HttpRequest, job_id: int) -> HttpResponse:
    try:
        job = selectors.job_get_for_viewer(viewer=_user(request), job_id=job_id)
    except ApplicationError as error:
        return _refusal_page(request, error) or redirect("jobs:list")
    return _plan_form_page(request, job)


@login_required
@require_http_methods(["GET", "POST"])
def proposal_revise_view(request: HttpRequest, proposal_id: int) -> HttpResponse:
    """提案を修正: the worker's counter-offer after negotiating in the thread."""
    user = _user(request)
    try:
        proposal = selectors.proposal_get_for_viewer(viewer=user, proposal_id=proposal_id)
        if proposal.worker_id != user.pk:
            raise Forbidden(_("Only the worker who sent this proposal can do that."))
    except ApplicationError as error:
        return _refusal_page(request, error) or redirect("jobs:list")
    if request.method == "GET" and not services.proposal_is_revisable(proposal):
        messages.error(request, _("This proposal can no longer be revised."))
        return redirect("jobs:proposal_detail", proposal_id=proposal.pk)
    return _plan_form_page(request, proposal.job, revising=proposal)


# --- one proposal -----------------------------------------------------------------------------


def _hire_form_for(proposal: Proposal, posted: forms.HireForm | None) -> forms.HireForm:
    """The hire form naming the plan now on the page (its total and revision).

    A refused form keeps its errors but is given the current plan's values, so the next click
    hires what the client now reads rather than being refused again for the stale one.
    """
    current = {"expected_total_jpy": proposal.total_jpy, "expected_revision": proposal.revision}
    if posted is None:
        return forms.HireForm(initial=current)
    data = QueryDict(mutable=True)
    data.update(posted.data)
    for name, value in current.items():
        data[name] = str(value)
    posted.data = data
    return posted


@dataclass(frozen=True)
class ThreadRow:
    """A message as the viewer sees it: the reader gets the guards' cautions, the writer (and an
    operator) a note that the other party sees one (docs/guards.md)."""

    message: ProposalMessage
    cautions: list[ReaderCaution]
    writer_note: str


def guard_view(
    categories: list[str], *, is_writer: bool, is_party: bool
) -> tuple[list[ReaderCaution], str]:
    """The cautions for the reader, or the note for the writer, of a text with these categories."""
    if not categories:
        return [], ""
    if is_writer or not is_party:
        labels = "、".join(category_label(c) for c in categories)
        return [], _("The other party is shown a caution on this message: %(categories)s.") % {
            "categories": labels
        }
    return reader_cautions(categories), ""


def proposal_page(
    request: HttpRequest,
    proposal_id: int,
    *,
    message_form: forms.MessageForm | None = None,
    decline_form: forms.DeclineForm | None = None,
    hire_form: forms.HireForm | None = None,
    guard_warnings: list[WriterWarning] | None = None,
) -> HttpResponse:
    user = _user(request)
    try:
        proposal = selectors.proposal_get_for_viewer(viewer=user, proposal_id=proposal_id)
    except ApplicationError as error:
        return _refusal_page(request, error) or redirect("jobs:list")
    is_open = proposal.state == ProposalState.OPEN
    is_client = user.pk == proposal.job.client_id
    is_worker = user.pk == proposal.worker_id
    # The newest messages, shown oldest first; a thread longer than a page is rare before hiring.
    newest = selectors.proposal_messages(proposal=proposal).order_by("-id")[: limits.PAGE_SIZE_MAX]
    thread = list(reversed(newest))
    thread_rows = []
    for message in thread:
        cautions, note = guard_view(
            message.guard_categories,
            is_writer=message.author_id == user.pk,
            is_party=is_worker or is_client,
        )
        thread_rows.append(ThreadRow(message=message, cautions=cautions, writer_note=note))
    cover_cautions, cover_note = guard_view(
        proposal.cover_letter_guard_categories,
        is_writer=is_worker,
        is_party=is_worker or is_client,
    )
    context = {
        "proposal": proposal,
        "job": proposal.job,
        "milestones": list(proposal.milestones.all()),
        "warnings": selectors.proposal_warnings(proposal),
        "thread_reminder": selectors.THREAD_REMINDER,
        "thread": thread,
        "thread_rows": thread_rows,
        "cover_cautions": cover_cautions,
        "cover_note": cover_note,
        "guard_warnings": guard_warnings or [],
        "is_worker": is_worker,
        "is_client": is_client,
        # An operator may read the thread but not write in it.
        "is_party": is_worker or is_client,
        "is_open": is_open,
        "thread_open": services.proposal_thread_is_open(proposal),
        "contract": getattr(proposal, "contract", None)
        if proposal.state == ProposalState.HIRED
        else None,
        "message_form": message_form or forms.MessageForm(),
        "decline_form": decline_form or forms.DeclineForm(),
        "can_revise": is_worker and services.proposal_is_revisable(proposal),
        "hire_form": _hire_form_for(proposal, hire_form),
    }
    return render(request, "jobs/proposal_detail.html", context)


@login_required
@require_GET
def proposal_detail_view(request: HttpRequest, proposal_id: int) -> HttpResponse:
    return proposal_page(request, proposal_id)


@login_required
@require_POST
def proposal_message_view(request: HttpRequest, proposal_id: int) -> HttpResponse:
    """Sends the message; one the guards find something in comes back first with a warning and
    the text kept, and goes out when the writer sends it anyway (`acknowledged`)."""
    form = forms.MessageForm(request.POST)
    if form.is_valid() and request.POST.get("acknowledged") != "1":
        found = detect(form.cleaned_data["body"] or "")
        if found.categories:
            user = _user(request)
            try:
                proposal = selectors.proposal_get_for_viewer(viewer=user, proposal_id=proposal_id)
            except ApplicationError:
                proposal = None  # the service gives the refusal below
            if proposal is not None and services.proposal_thread_is_open(proposal):
                warnings = writer_warnings(found, is_client=proposal.job.client_id == user.pk)
                return proposal_page(
                    request, proposal_id, message_form=form, guard_warnings=warnings
                )
    if form.is_valid():
        try:
            services.proposal_message_post(
                author=_user(request), proposal_id=proposal_id, body=form.cleaned_data["body"]
            )
        except ApplicationError as error:
            refusal = _refusal_page(request, error)
            if refusal:
                return refusal
            _show_error(form, error)
        else:
            return redirect(reverse("jobs:proposal_detail", args=[proposal_id]) + "#messages")
    return proposal_page(request, proposal_id, message_form=form)


@login_required
@require_POST
def proposal_withdraw_view(request: HttpRequest, proposal_id: int) -> HttpResponse:
    try:
        services.proposal_withdraw(worker=_user(request), proposal_id=proposal_id)
    except ApplicationError as error:
        refusal = _refusal_page(request, error)
        if refusal:
            return refusal
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("Your proposal was withdrawn."))
    return redirect("jobs:proposal_detail", proposal_id=proposal_id)


@login_required
@require_POST
def proposal_decline_view(request: HttpRequest, proposal_id: int) -> HttpResponse:
    form = forms.DeclineForm(request.POST)
    if form.is_valid():
        try:
            services.proposal_decline(
                client=_user(request), proposal_id=proposal_id, reason=form.cleaned_data["reason"]
            )
        except ApplicationError as error:
            refusal = _refusal_page(request, error)
            if refusal:
                return refusal
            _show_error(form, error)
        else:
            messages.success(request, _("You declined this proposal. The worker has been told."))
            return redirect("jobs:proposal_detail", proposal_id=proposal_id)
    return proposal_page(request, proposal_id, decline_form=form)
