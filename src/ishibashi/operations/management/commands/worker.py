"""`ishibashi worker`: run deadline sweeps and queued tasks in a loop (or once)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from ishibashi.operations.worker import WorkerLoop


class Command(BaseCommand):
    help = "Run the deadline sweeps and the task queue; safe to run in many processes."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--once", action="store_true", help="One round, then exit.")
        parser.add_argument("--interval", type=float, default=5.0, help="Seconds between rounds.")

    def handle(self, *args: Any, **options: Any) -> None:
        loop = WorkerLoop(interval_seconds=options["interval"])
        if options["once"]:
            loop.run_round()
        else:
            loop.run_forever()
