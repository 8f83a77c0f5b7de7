"""`ishibashi seed-demo`: load the demo marketplace into the configured database (idempotent)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from ishibashi.operations.demo import DEMO_PASSWORD, seed_demo


class Command(BaseCommand):
    help = "Load the demo marketplace (Japanese clients and workers); safe to run again."

    def handle(self, *args: Any, **options: Any) -> None:
        users = seed_demo()
        self.stdout.write(f"Demo log-ins (password: {DEMO_PASSWORD}):")
        for user in users:
            roles = "/".join(
                r for r, has in (("client", user.is_client), ("worker", user.is_worker)) if has
            )
            self.stdout.write(f"  {user.email:<24} {roles:<14} {user.display_name}")
