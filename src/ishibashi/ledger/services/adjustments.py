"""Operator adjustments: a correcting transfer with a written reason."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from ishibashi.accounts.models import User
from ishibashi.core import limits
from ishibashi.ledger.errors import (
    LedgerAccountNotFound,
    LedgerErrorCode,
    LedgerInputError,
)
from ishibashi.ledger.models import (
    AccountKind,
    Transfer,
    TransferReason,
)
from ishibashi.ledger.services.accounts import account_get_or_create
from ishibashi.ledger.services.transfer import Leg, ledger_refusal, transfer_create


@transaction.atomic
def adjustment_post(
    *, operator: User, account_id: int, amount_jpy: int, reason: str, idempotency_key: str
) -> Transfer:
    """An operator's correction: a balanced transfer against the adjustments account, with why."""
    if not operator.is_staff:
        raise LedgerAccountNotFound(_("No such account."))
    reason = reason.strip()
    if not reason:
        raise LedgerInputError(_("Say why the adjustment is made."), field="reason")
    if len(reason) > limits.ADJUSTMENT_REASON_LENGTH_MAX:
        raise LedgerInputError(_("The reason is too long."), field="reason")
    if type(amount_jpy) is not int:
        raise ledger_refusal(LedgerErrorCode.AMOUNT_MUST_BE_INTEGER, _("Amounts are whole yen."))
    if amount_jpy == 0:
        raise ledger_refusal(
            LedgerErrorCode.AMOUNT_MUST_NOT_BE_ZERO,
            _("An adjustment is a non-zero whole number of yen."),
        )
    adjustments = account_get_or_create(kind=AccountKind.ADJUSTMENTS)
    if account_id == adjustments.pk:
        raise ledger_refusal(
            LedgerErrorCode.ACCOUNTS_MUST_BE_DIFFERENT,
            _("Each account may appear once in a transfer."),
        )
    return transfer_create(
        idempotency_key=idempotency_key,
        reason=TransferReason.ADJUSTMENT,
        reference=f"adjustment:{account_id}",
        memo=reason,
        created_by=operator,
        legs=[Leg(account_id, amount_jpy), Leg(adjustments.pk, -amount_jpy)],
    )
