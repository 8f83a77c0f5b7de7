"""Wallet forms: shape only; the services decide."""

from __future__ import annotations

import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from ishibashi.payments.models import BankAccountType, PaymentMethod


class IdempotentForm(forms.Form):
    """Carries a key minted when the page was drawn, so a double submit moves money once."""

    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=200)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if not self.is_bound:
            self.initial["idempotency_key"] = str(uuid.uuid4())


class DepositForm(IdempotentForm):
    amount_jpy = forms.IntegerField(label=_("Amount (yen)"), min_value=1, max_value=10**12)
    method = forms.ChoiceField(
        label=_("Payment method"),
        choices=PaymentMethod.choices,
        initial=PaymentMethod.CARD,
        widget=forms.RadioSelect,
    )
    card_number = forms.CharField(
        label=_("Card number"),
        required=False,
        max_length=30,
        help_text=_(
            "Sandbox test cards: 4242 4242 4242 4242 succeeds, 4000 0000 0000 0002 is declined, "
            "4000 0000 0000 0119 times out (settled later by the worker)."
        ),
    )


class PayoutForm(IdempotentForm):
    amount_jpy = forms.IntegerField(label=_("Amount (yen)"), min_value=1, max_value=10**12)
    bank_name = forms.CharField(label=_("Bank"), max_length=120)
    branch_name = forms.CharField(label=_("Branch"), max_length=120)
    account_type = forms.ChoiceField(
        label=_("Account type"), choices=BankAccountType.choices, initial=BankAccountType.ORDINARY
    )
    account_number = forms.CharField(
        label=_("Account number"),
        max_length=20,
        help_text=_("7 digits. In the sandbox, 0000000 fails so you can see a returned payout."),
    )
    account_holder = forms.CharField(label=_("Account holder (katakana)"), max_length=120)
