"""Escrow (仮払い): asking for it, paying it in, and the start of work it unlocks."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from ishibashi.accounts.models import User
from ishibashi.accounts.selectors import check_email_verified
from ishibashi.contracts import clocks, notices, timing
from ishibashi.contracts.models import (
    Milestone,
)
from ishibashi.contracts.services.settlement import ledger_key, request_funding, stats_bump
from ishibashi.contracts.states import (
    Action,
    Locked,
    lock,
    transition,
)
from ishibashi.core import clock
from ishibashi.ledger import services as ledger
from ishibashi.notifications.notices import notices_batched


def milestone_request_funding(*, actor: User, milestone_id: int) -> Milestone:
    """Ask the client to fund a milestone that has not been asked for yet."""
    with transaction.atomic(), notices_batched():
        now = clock.now()
        locked = lock(milestone_id=milestone_id, actor=actor)
        request_funding(locked, actor=actor, now=now)
        return locked.milestone


def milestone_fund(*, client: User, milestone_id: int) -> Milestone:
    """仮払い: the client moves the milestone's amount from their wallet into its escrow."""
    check_email_verified(client)
    with transaction.atomic(), notices_batched():
        now = clock.now()
        locked = lock(milestone_id=milestone_id, actor=client)

        def move_money(lk: Locked) -> dict[str, Any]:
            m = lk.milestone
            transfer = ledger.escrow_fund(
                client=lk.contract.client,
                escrow_reference=m.escrow_reference,
                amount_jpy=m.amount_jpy,
                idempotency_key=ledger_key(m, "fund"),
            )
            waited = (now - m.funding_requested_at) if m.funding_requested_at else None
            stats_bump(lk.contract.client_id, escrows_funded=1)
            if waited is not None:
                stats_bump(
                    lk.contract.client_id,
                    fundings=1,
                    funding_seconds_total=int(waited.total_seconds()),
                    **timing.bump_for("fund", int(waited.total_seconds())),
                )
            m.funded_at = now
            clocks.clock_stop(m)
            return {"amount_jpy": m.amount_jpy, "transfer": transfer.pk}

        return transition(
            locked,
            action=Action.FUND,
            actor=client,
            now=now,
            effect=move_money,
            notify=notices.funded,
        )


def milestone_start(*, worker: User, milestone_id: int) -> Milestone:
    """着手: refused until the escrow is funded, with the reason in words."""
    with transaction.atomic(), notices_batched():
        now = clock.now()
        locked = lock(milestone_id=milestone_id, actor=worker)

        def started(lk: Locked) -> None:
            lk.milestone.started_at = now

        return transition(locked, action=Action.START, actor=worker, now=now, effect=started)
