"""Reads of the books: a person's balances, account history, and the proof that the books hold."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, F, Max, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from ishibashi.accounts.models import User
from ishibashi.core import limits
from ishibashi.ledger.models import AccountKind, Entry, LedgerAccount


@dataclass(frozen=True)
class WalletSummary:
    wallet_jpy: int  # 残高: deposited, not yet in escrow
    escrow_jpy: int  # 仮払い中: in escrow for this person's milestones as a client
    earnings_jpy: int  # 売上: released to this person as a worker, not yet paid out
    payout_pending_jpy: int  # 出金手続き中


def wallet_summary_for_user(*, user: User) -> WalletSummary:
    totals = {
        row["kind"]: row["total"]
        for row in LedgerAccount.objects.filter(owner=user)
        .values("kind")
        .annotate(total=Sum("balance_jpy"))
    }
    return WalletSummary(
        wallet_jpy=totals.get(AccountKind.WALLET, 0),
        escrow_jpy=totals.get(AccountKind.ESCROW, 0),
        earnings_jpy=totals.get(AccountKind.EARNINGS, 0),
        payout_pending_jpy=totals.get(AccountKind.PAYOUT_PENDING, 0),
    )


def account_for_user(*, user: User, kind: AccountKind) -> LedgerAccount | None:
    return (
        LedgerAccount.objects.filter(owner=user, kind=kind).exclude(kind=AccountKind.ESCROW).first()
    )


def entry_list_for_user(
    *,
    user: User,
    kinds: tuple[AccountKind, ...],
    before_id: int | None = None,
    limit: int = limits.PAGE_SIZE_DEFAULT,
) -> list[Entry]:
    """Newest first, keyset-paginated by entry id; each row carries its running balance."""
    limit = max(1, min(limit, limits.PAGE_SIZE_MAX))
    entries: QuerySet[Entry] = (
        Entry.objects.filter(account__owner=user, account__kind__in=kinds)
        .select_related("transfer", "account")
        .order_by("-id")
    )
    if before_id is not None:
        entries = entries.filter(id__lt=before_id)
    return list(entries[:limit])


@dataclass(frozen=True)
class BooksProblem:
    check: str
    detail: str


def books_check() -> list[BooksProblem]:
    """Every invariant of the books; an empty list means they hold.

    Each check is one aggregate query, so the cost grows with the table, not with Python loops.
    """
    problems: list[BooksProblem] = []
    unbalanced = (
        Entry.objects.values("transfer_id")
        .annotate(total=Sum("amount_jpy"), legs=Count("id"))
        .filter(~Q(total=0) | Q(legs__lt=2))
        .order_by("transfer_id")[:20]
    )
    problems.extend(
        BooksProblem(
            "transfer_balances",
            f"transfer {row['transfer_id']}: sum {row['total']}, {row['legs']} legs",
        )
        for row in unbalanced
    )
    total_balances = LedgerAccount.objects.aggregate(total=Coalesce(Sum("balance_jpy"), 0))["total"]
    if total_balances != 0:
        problems.append(
            BooksProblem("balances_sum_to_zero", f"all balances sum to {total_balances}")
        )
    total_entries = Entry.objects.aggregate(total=Coalesce(Sum("amount_jpy"), 0))["total"]
    if total_entries != 0:
        problems.append(BooksProblem("entries_sum_to_zero", f"all entries sum to {total_entries}"))
    drifted = (
        LedgerAccount.objects.annotate(entries_total=Coalesce(Sum("entries__amount_jpy"), 0))
        .exclude(balance_jpy=F("entries_total"))
        .values("key", "balance_jpy", "entries_total")[:20]
    )
    problems.extend(
        BooksProblem(
            "cached_balance",
            f"{row['key']}: cached {row['balance_jpy']}, entries {row['entries_total']}",
        )
        for row in drifted
    )
    negative = LedgerAccount.objects.filter(is_guarded=True, balance_jpy__lt=0).values(
        "key", "balance_jpy"
    )[:20]
    problems.extend(
        BooksProblem("guarded_not_negative", f"{row['key']}: {row['balance_jpy']}")
        for row in negative
    )
    problems.extend(_running_balance_problems())
    return problems


def _running_balance_problems() -> list[BooksProblem]:
    """The newest entry of each account shows the account's balance."""
    latest_ids = Entry.objects.values("account_id").annotate(last_id=Max("id")).values("last_id")
    mismatched = (
        Entry.objects.filter(id__in=latest_ids)
        .exclude(balance_after_jpy=F("account__balance_jpy"))
        .values("account__key", "balance_after_jpy", "account__balance_jpy")[:20]
    )
    return [
        BooksProblem(
            "running_balance",
            f"{row['account__key']}: last entry says {row['balance_after_jpy']}, "
            f"account {row['account__balance_jpy']}",
        )
        for row in mismatched
    ]
