"""`ishibashi sweep --once`: act on every due deadline once, for cron or an operator."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from ishibashi.operations.sweeps import sweep_once


class Command(BaseCommand):
    help = "Run every deadline sweep once and print how many items each handled."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--once", action="store_true", help="Accepted for clarity; always once."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        for name, handled in sweep_once().items():
            self.stdout.write(f"{name}: {handled}")
