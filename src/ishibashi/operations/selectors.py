"""Operator reads: ledger totals by kind and the books check, for the console."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Sum

from ishibashi.contracts.selectors import escrow_problems
from ishibashi.ledger.models import LedgerAccount, Transfer
from ishibashi.ledger.selectors import BooksProblem, books_check


def is_operator(user: object) -> bool:
    """Who may see the operator area; anyone else gets the same 404 as a page that is not there."""
    return bool(
        getattr(user, "is_authenticated", False)
        and getattr(user, "is_active", False)
        and getattr(user, "is_staff", False)
    )


def books_problems() -> list[BooksProblem]:
    """The ledger's own invariants, then escrow against the milestones it holds money for."""
    return books_check() + escrow_problems()


@dataclass(frozen=True)
class BooksReport:
    totals_by_kind: dict[str, int]
    accounts: int
    transfers: int
    problems: list[BooksProblem]

    @property
    def is_balanced(self) -> bool:
        return not self.problems


def books_report() -> BooksReport:
    rows = LedgerAccount.objects.values("kind").annotate(total=Sum("balance_jpy"), n=Count("id"))
    return BooksReport(
        totals_by_kind={row["kind"]: row["total"] for row in rows.order_by("kind")},
        accounts=sum(row["n"] for row in rows),
        transfers=Transfer.objects.count(),
        problems=books_problems(),
    )
