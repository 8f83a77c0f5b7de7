"""The deadline sweeps the worker runs each round; each app adds its own as it needs one."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sweep:
    name: str
    # Acts on at most a bounded batch of due rows and returns how many it handled.
    run: Callable[[], int]


def registered_sweeps() -> list[Sweep]:
    """Every sweep, in the order they run. Imports stay inside to avoid app-loading cycles."""
    from ishibashi.jobs.services import jobs_expire_overdue
    from ishibashi.payments.services import deposit_reconcile_pending, payout_settle_due

    return [
        Sweep("deposits_reconcile", deposit_reconcile_pending),
        Sweep("payouts_settle", payout_settle_due),
        Sweep("jobs_expire", jobs_expire_overdue),
    ]


def sweep_once() -> dict[str, int]:
    """Run every sweep once; one failing sweep is logged and does not stop the others."""
    handled: dict[str, int] = {}
    for sweep in registered_sweeps():
        try:
            handled[sweep.name] = sweep.run()
        except Exception:  # A bug in one sweep must not starve the rest; it is logged loudly.
            logger.exception("sweep %s failed", sweep.name)
            handled[sweep.name] = -1
    return handled
