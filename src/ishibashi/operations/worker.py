"""The `ishibashi worker` loop: deadline sweeps, then queued tasks, until told to stop."""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from types import FrameType

from django.db import close_old_connections

from ishibashi.operations.sweeps import sweep_once

logger = logging.getLogger(__name__)


class WorkerLoop:
    """Safe to run in many processes: sweeps claim rows with locks and tasks are claimed once."""

    def __init__(self, *, interval_seconds: float) -> None:
        self.interval_seconds = interval_seconds
        self.running = True
        self.worker_id = f"{socket.gethostname()}-{os.getpid()}"[:64]

    def stop(self, signum: int, frame: FrameType | None) -> None:
        logger.info(
            "worker %s: %s received, stopping after this round",
            self.worker_id,
            signal.Signals(signum).name,
        )
        self.running = False

    def run_round(self) -> None:
        # Imported here: the task backend is only importable once Django's apps are ready.
        from django_tasks_db.management.commands.db_worker import Worker

        close_old_connections()
        handled = sweep_once()
        if any(handled.values()):
            logger.info("worker %s swept %s", self.worker_id, handled)
        Worker(
            queue_names=["*"],
            interval=0,
            batch=True,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id=self.worker_id,
            excluded_queue_names=[],
        ).run()
        close_old_connections()

    def run_forever(self) -> None:
        signal.signal(signal.SIGINT, self.stop)
        signal.signal(signal.SIGTERM, self.stop)
        logger.info("worker %s started (every %.1f s)", self.worker_id, self.interval_seconds)
        while self.running:
            self.run_round()
            deadline = time.monotonic() + self.interval_seconds
            while self.running and time.monotonic() < deadline:
                time.sleep(min(0.2, self.interval_seconds))
        logger.info("worker %s stopped", self.worker_id)
