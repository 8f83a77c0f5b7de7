"""`ishibashi check-books`: prove the books balance; exit 1 and name the offender if not."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ishibashi.operations.selectors import books_problems


class Command(BaseCommand):
    help = "Check every ledger invariant; exits non-zero and names each offender if one fails."

    def handle(self, *args: Any, **options: Any) -> None:
        problems = books_problems()
        if problems:
            for problem in problems:
                self.stderr.write(f"FAIL {problem.check}: {problem.detail}")
            raise CommandError(f"the books do not hold: {len(problems)} problem(s)")
        self.stdout.write(
            "OK: every transfer balances, balances sum to zero, caches match entries, "
            "and each escrow holds exactly its milestone's funded, unpaid amount."
        )
