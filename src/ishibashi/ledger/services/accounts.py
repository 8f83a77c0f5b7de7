"""Ledger accounts: one per (kind, owner or reference), made on first use."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from ishibashi.accounts.models import User
from ishibashi.core.invariants import require
from ishibashi.ledger.errors import (
    LedgerAccountNotFound,
)
from ishibashi.ledger.models import (
    GUARDED_KINDS,
    AccountKind,
    LedgerAccount,
)

CURRENCY = "JPY"


def ledger_account_key(kind: AccountKind, *, owner: User | None, reference: str) -> str:
    if kind == AccountKind.ESCROW:
        require(
            bool(reference) and owner is not None, "an escrow account needs its owner and reference"
        )
        return f"escrow:{reference}"
    if owner is not None:
        return f"{kind.value}:user:{owner.pk}"
    require(kind not in GUARDED_KINDS, "people's accounts need an owner")
    return kind.value


def account_get_or_create(
    *, kind: AccountKind, owner: User | None = None, reference: str = ""
) -> LedgerAccount:
    """The account for (kind, owner or reference), created on first use; safe under races."""
    key = ledger_account_key(kind, owner=owner, reference=reference)
    account = LedgerAccount.objects.filter(key=key).first()
    if account is not None:
        # An escrow is found by its milestone; it must also belong to the client asking, or one
        # client could refund another's escrow into their own wallet.
        if account.kind != kind or account.owner_id != (owner.pk if owner else None):
            raise LedgerAccountNotFound(_("No such account."))
        return account
    try:
        with transaction.atomic():
            return LedgerAccount.objects.create(
                key=key,
                kind=kind,
                owner=owner,
                reference=reference,
                currency=CURRENCY,
                is_guarded=kind in GUARDED_KINDS,
            )
    except IntegrityError:
        # Another transaction created it between the read and the insert.
        return LedgerAccount.objects.get(key=key)


def account_ids_by_key(wanted: dict[str, tuple[AccountKind, User | None, str]]) -> dict[str, int]:
    """{key: account id} for (kind, owner, reference) by key, the missing ones created, as
    account_get_or_create makes them; an escrow must belong to its client (the same check)."""
    found = {
        key: (pk, kind, owner_id)
        for key, pk, kind, owner_id in LedgerAccount.objects.filter(key__in=wanted).values_list(
            "key", "pk", "kind", "owner_id"
        )
    }
    missing = [key for key in wanted if key not in found]
    if missing:
        # Created as account_get_or_create creates them; one made meanwhile by another
        # transaction is kept (its key is unique) and read back below like the others.
        LedgerAccount.objects.bulk_create(
            [
                LedgerAccount(
                    key=key, kind=kind, owner=owner, reference=reference, currency=CURRENCY,
                    is_guarded=kind in GUARDED_KINDS,
                )
                for key in missing
                for kind, owner, reference in [wanted[key]]
            ],
            ignore_conflicts=True,
        )  # fmt: skip
        found.update(
            (key, (pk, kind, owner_id))
            for key, pk, kind, owner_id in LedgerAccount.objects.filter(
                key__in=missing
            ).values_list("key", "pk", "kind", "owner_id")
        )
    ids = {}
    for key, (kind, owner, _reference) in wanted.items():
        pk, found_kind, owner_id = found[key]
        if found_kind != kind or owner_id != (owner.pk if owner else None):
            raise LedgerAccountNotFound(_("No such account."))
        ids[key] = pk
    return ids
