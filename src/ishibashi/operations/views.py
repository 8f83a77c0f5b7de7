"""Operator console pages (staff only): the books, with the adjustment form."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ishibashi.accounts.models import User
from ishibashi.core.errors import ApplicationError
from ishibashi.ledger.services import adjustment_post
from ishibashi.operations.selectors import books_report, is_operator


class AdjustmentForm(forms.Form):
    account_id = forms.IntegerField(label=gettext_lazy("Account id"))
    amount_jpy = forms.IntegerField(label=gettext_lazy("Amount (yen, negative to debit)"))
    reason = forms.CharField(label=gettext_lazy("Reason"), widget=forms.Textarea(attrs={"rows": 3}))
    idempotency_key = forms.CharField(widget=forms.HiddenInput)


def staff_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Staff see the page; anyone else, logged in or not, gets the site's 404, as for a page
    that does not exist (no redirect to a staff log-in that would say the area is here)."""

    @wraps(view)
    def guarded(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not is_operator(request.user):
            return render(request, "404.html", {"message": _("Not found.")}, status=404)
        return view(request, *args, **kwargs)

    return guarded


@staff_only
def books_view(request: HttpRequest) -> HttpResponse:
    form = AdjustmentForm(request.POST or None, initial={"idempotency_key": str(uuid.uuid4())})
    if request.method == "POST" and form.is_valid():
        operator = request.user
        assert isinstance(operator, User)
        try:
            adjustment_post(operator=operator, **form.cleaned_data)
        except ApplicationError as error:
            form.add_error(error.field if error.field in form.fields else None, str(error.message))
        else:
            messages.success(request, _("The adjustment was booked."))
            return redirect("operations:books")
    return render(request, "operations/books.html", {"report": books_report(), "form": form})
