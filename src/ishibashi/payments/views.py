"""Wallet pages: balances, history, deposits and payouts, through the same services as the API."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from ishibashi.accounts.models import User
from ishibashi.core import limits
from ishibashi.core.errors import ApplicationError
from ishibashi.ledger.models import AccountKind
from ishibashi.ledger.selectors import entry_list_for_user, wallet_summary_for_user
from ishibashi.payments import forms, services
from ishibashi.payments.models import Deposit, Payout

HISTORY_KINDS = {
    "wallet": (AccountKind.WALLET,),
    "earnings": (AccountKind.EARNINGS, AccountKind.PAYOUT_PENDING),
}


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _show_error(form: Form, error: ApplicationError) -> None:
    form.add_error(error.field if error.field in form.fields else None, str(error.message))


@login_required
def wallet_view(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    tab = request.GET.get("tab", "wallet")
    if tab not in HISTORY_KINDS:
        tab = "wallet"
    try:
        before = int(request.GET["before"]) if request.GET.get("before") else None
    except ValueError:
        before = None
    entries = entry_list_for_user(
        user=user, kinds=HISTORY_KINDS[tab], before_id=before, limit=limits.PAGE_SIZE_DEFAULT
    )
    context = {
        "summary": wallet_summary_for_user(user=user),
        "entries": entries,
        "tab": tab,
        "next_before": entries[-1].pk if len(entries) == limits.PAGE_SIZE_DEFAULT else None,
        "deposits": Deposit.objects.filter(user=user)[:5],
        "payouts": Payout.objects.filter(user=user)[:5],
    }
    template = "payments/_history.html" if request.htmx else "payments/wallet.html"  # type: ignore[attr-defined]
    return render(request, template, context)


@login_required
@require_http_methods(["GET", "POST"])
def deposit_view(request: HttpRequest) -> HttpResponse:
    form = forms.DepositForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            deposit = services.deposit_start(
                user=_user(request),
                amount_jpy=form.cleaned_data["amount_jpy"],
                method=form.cleaned_data["method"],
                card_number=form.cleaned_data["card_number"],
                idempotency_key=form.cleaned_data["idempotency_key"],
            )
        except ApplicationError as error:
            _show_error(form, error)
        else:
            return redirect("payments:deposit_detail", deposit_id=deposit.pk)
    return render(request, "payments/deposit.html", {"form": form})


@login_required
def deposit_detail_view(request: HttpRequest, deposit_id: int) -> HttpResponse:
    try:
        deposit = services.deposit_get_for_user(user=_user(request), deposit_id=deposit_id)
    except ApplicationError as error:
        return render(request, "404.html", {"message": error.message}, status=404)
    context = {"deposit": deposit, "failure": services.deposit_failure_message(deposit)}
    return render(request, "payments/deposit_detail.html", context)


@login_required
@require_POST
def sandbox_arrive_view(request: HttpRequest, deposit_id: int) -> HttpResponse:
    try:
        services.sandbox_bank_transfer_arrive(user=_user(request), deposit_id=deposit_id)
    except ApplicationError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("The bank transfer arrived (sandbox)."))
    return redirect("payments:deposit_detail", deposit_id=deposit_id)


@login_required
@require_http_methods(["GET", "POST"])
def payout_view(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = forms.PayoutForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        destination = services.PayoutDestination(
            bank_name=data["bank_name"],
            branch_name=data["branch_name"],
            account_type=data["account_type"],
            account_number=data["account_number"],
            account_holder=data["account_holder"],
        )
        try:
            services.payout_request(
                user=user,
                amount_jpy=data["amount_jpy"],
                destination=destination,
                idempotency_key=data["idempotency_key"],
            )
        except ApplicationError as error:
            _show_error(form, error)
        else:
            messages.success(request, _("Your payout is on its way. No transfer fee is deducted."))
            return redirect("payments:wallet")
    summary = wallet_summary_for_user(user=user)
    return render(request, "payments/payout.html", {"form": form, "summary": summary})
