"""`ishibashi rebuild-reputation`: recount the clients' counters; exit 1 on any difference."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ishibashi.reputation.services import reputation_rebuild


class Command(BaseCommand):
    help = (
        "Recount every client's reliability counters and histograms from the jobs, contract "
        "events, flags and messages; print each difference and exit 1 if any (--fix writes "
        "the recount)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--fix", action="store_true", help="write the recomputed values")

    def handle(self, *args: Any, **options: Any) -> None:
        fix = bool(options["fix"])
        differences = reputation_rebuild(fix=fix)
        for d in differences:
            self.stdout.write(
                f"client {d.client_id} {d.field}: stored {d.stored}, recomputed {d.recomputed}"
            )
        if differences and not fix:
            raise CommandError(f"{len(differences)} counter(s) differ from the recount")
        if differences:
            self.stdout.write(f"FIXED: {len(differences)} counter(s) now hold the recount.")
        else:
            self.stdout.write("OK: every counter equals its recount.")
