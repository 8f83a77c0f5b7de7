"""What every contract page shares: the viewer, refusals, and one service per button."""

from __future__ import annotations

from django.db import models
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy

from ishibashi.accounts.models import User
from ishibashi.contracts import services
from ishibashi.core.errors import ApplicationError, Forbidden, NotFound
from ishibashi.core.money import format_yen
from ishibashi.core.pagination import page_number as core_page_number

# Deep pages of a newest-first list are never read by a person and cost an OFFSET scan.
PAGES_MAX = 1000


PAGER_PAGES_BEFORE = 4


LOCKED_REASON = gettext_lazy(
    "The full files can be downloaded once you approve the delivery (or it is approved "
    "automatically). The preview is available now."
)


# Kinds a worker may deliver as done with a short report (contracts.services.REPORT_KINDS).
REPORT_KINDS = frozenset(services.REPORT_KINDS)


def request_user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def yen(amount: int) -> str:
    return format_yen(amount)


def choice_label(choices: type[models.TextChoices], value: str) -> str:
    """A stored choice's label. get_FOO_display() translates every choice of the field to find
    one, which is most of a row's cost when a page draws dozens."""
    try:
        return str(choices(value).label)
    except ValueError:  # a value named by code that is newer than this page
        return value


def page_number(request: HttpRequest) -> int:
    return core_page_number(request.GET.get("page"))


def refusal_page(request: HttpRequest, error: ApplicationError) -> HttpResponse | None:
    """The 404 or 403 page for refusals about who may see or do what; None for the rest."""
    if isinstance(error, NotFound):
        return render(request, "404.html", {"message": error.message}, status=404)
    if isinstance(error, Forbidden):
        return render(request, "jobs/forbidden.html", {"message": error.message}, status=403)
    return None


def show_error(form: Form, error: ApplicationError) -> None:
    form.add_error(error.field if error.field in form.fields else None, str(error.message))


def to_contract(contract_id: int, anchor: str = "") -> HttpResponse:
    url = reverse("contracts:detail", args=[contract_id])
    return redirect(f"{url}#{anchor}" if anchor else url)
