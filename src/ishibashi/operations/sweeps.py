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
    from ishibashi.contracts.services import (
        changes_expire_due,
        contracts_terminate_due,
        milestones_sweep_due,
        monthly_periods_open,
    )
    from ishibashi.core.idempotency import idempotent_requests_purge
    from ishibashi.jobs.services import jobs_expire_overdue
    from ishibashi.payments.services import deposit_reconcile_pending, payout_settle_due
    from ishibashi.reviews.services import reviews_prompt_due, reviews_publish_due

    return [
        Sweep("deposits_reconcile", deposit_reconcile_pending),
        Sweep("payouts_settle", payout_settle_due),
        Sweep("jobs_expire", jobs_expire_overdue),
        Sweep("milestones_due", milestones_sweep_due),
        Sweep("changes_expire", changes_expire_due),
        Sweep("monthly_periods_open", monthly_periods_open),
        Sweep("contracts_terminate", contracts_terminate_due),
        # After the contract sweeps, so a contract they end is prompted in the same round.
        Sweep("reviews_prompt_due", reviews_prompt_due),
        Sweep("reviews_publish_due", reviews_publish_due),
        Sweep("idempotent_requests_purge", idempotent_requests_purge),
    ]


# A round drains each sweep batch after batch, up to this many, so a backlog (a worker that was
# down for a day) clears in one round while one endless sweep cannot starve the others.
BATCHES_PER_ROUND_MAX = 100


def sweep_once() -> dict[str, int]:
    """Run every sweep until it has nothing due; one failing sweep does not stop the others."""
    handled: dict[str, int] = {}
    for sweep in registered_sweeps():
        total = 0
        try:
            for _batch in range(BATCHES_PER_ROUND_MAX):
                done = sweep.run()
                total += done
                if not done:
                    break
            handled[sweep.name] = total
        except Exception:  # A bug in one sweep must not starve the rest; it is logged loudly.
            logger.exception("sweep %s failed", sweep.name)
            handled[sweep.name] = -1
    return handled
