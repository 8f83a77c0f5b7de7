"""The client's record as a payer recounted from the event log, the flags and the threads.

`client_contract_stats_recount` must give exactly what the running counters hold
(ClientContractStats, bumped in each event's transaction); `ishibashi rebuild-reputation`
compares the two and `client_contract_stats_rebuild` writes the recount.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from django.db import transaction

from ishibashi.contracts import timing
from ishibashi.contracts.models import (
    ClientContractStats,
    Contract,
    ContractEvent,
    ContractFlag,
    ContractMessage,
)
from ishibashi.contracts.services.disputes import dispute_outcome
from ishibashi.contracts.states import Action

# Every counter the recount owns: all of ClientContractStats but its key.
STAT_FIELDS = tuple(
    f.name for f in ClientContractStats._meta.concrete_fields if f.name not in ("id", "client")
)

_COUNTED_EVENTS = (
    Action.FUND,
    Action.DELIVER,
    Action.APPROVE,
    Action.AUTO_APPROVE,
    Action.LEGAL_RELEASE,
    Action.EXPIRE_FUNDING,
    Action.DISPUTE,
    Action.RESOLVE,
    "contract_complete",
    "contract_cancel",
    "cancellation",
    "client_silence_expired",
)


def _seconds(later: dt.datetime, earlier: dt.datetime) -> int:
    return int((later - earlier).total_seconds())


def client_contract_stats_recount(*, client_id: int) -> dict[str, int]:
    """Every counter of the client's stats row, from the rows that record what happened."""
    counts: Counter[str] = Counter(dict.fromkeys(STAT_FIELDS, 0))
    contracts = Contract.objects.filter(client_id=client_id)
    delivered: dict[int, dt.datetime] = {}
    events = (
        ContractEvent.objects.filter(contract__in=contracts, action__in=_COUNTED_EVENTS)
        .order_by("contract_id", "sequence")
        .values_list(
            "action", "milestone_id", "created_at", "payload", "milestone__funding_requested_at"
        )
        .iterator(chunk_size=2000)
    )
    for action, milestone_id, at, payload, requested in events:
        payload = payload or {}
        if action == Action.FUND:
            counts["escrows_funded"] += 1
            # Asked for at the hire (no event) or later: the milestone keeps the first time.
            if requested is not None:
                waited = _seconds(at, requested)
                counts.update(fundings=1, funding_seconds_total=waited)
                counts.update(timing.bump_for("fund", waited))
        elif action == Action.DELIVER:
            delivered[milestone_id] = at
        elif action in (Action.APPROVE, Action.AUTO_APPROVE):
            if action == Action.AUTO_APPROVE:
                counts["auto_approvals"] += 1
            if milestone_id in delivered:
                waited = _seconds(at, delivered[milestone_id])
                counts.update(inspections=1, inspection_seconds_total=waited)
                counts.update(timing.bump_for("inspect", waited))
        elif action == Action.LEGAL_RELEASE:
            counts["legal_deadline_releases"] += 1
        elif action == Action.EXPIRE_FUNDING:
            counts["funding_requests_unanswered"] += 1
        elif action == Action.DISPUTE:
            counts["disputes"] += 1
        elif action == Action.RESOLVE:
            worker = int(payload.get("worker_amount_jpy", 0))
            client = int(payload.get("client_amount_jpy", 0))
            counts[dispute_outcome(worker, worker + client)] += 1
        elif action == "contract_complete":
            counts["contracts_completed"] += 1
        elif action == "contract_cancel":
            counts["contracts_cancelled"] += 1
        elif action == "cancellation":
            if payload.get("by") == "client" and payload.get("funded_before"):
                counts["cancellations_after_funding"] += 1
        elif action == "client_silence_expired":
            counts["client_reply_silences"] += 1
    counts["escrow_before_work_flags"] = ContractFlag.objects.filter(
        contract__client_id=client_id
    ).count()
    for waited in _reply_waits(client_id):
        counts.update(timing.bump_for("reply", waited))
    return dict(counts)


def _reply_waits(client_id: int) -> list[int]:
    """The reply clock replayed over every thread: worker's first unanswered message → the
    client's next message (contract_message_post counts the same)."""
    waits: list[int] = []
    thread_of: int | None = None
    waiting_since: dt.datetime | None = None
    rows = (
        ContractMessage.objects.filter(contract__client_id=client_id)
        .order_by("contract_id", "id")
        .values_list("contract_id", "author_id", "contract__worker_id", "created_at")
        .iterator(chunk_size=2000)
    )
    for contract_id, author_id, worker_id, at in rows:
        if contract_id != thread_of:
            thread_of, waiting_since = contract_id, None
        if author_id == worker_id:
            waiting_since = waiting_since or at
        elif author_id == client_id and waiting_since is not None:
            waits.append(_seconds(at, waiting_since))
            waiting_since = None
    return waits


def client_contract_stats_stored(*, client_id: int) -> dict[str, int]:
    row: dict[str, Any] | None = (
        ClientContractStats.objects.filter(client_id=client_id).values(*STAT_FIELDS).first()
    )
    return dict.fromkeys(STAT_FIELDS, 0) if row is None else dict(row)


def client_contract_stats_rebuild(*, client_id: int) -> dict[str, int]:
    """Write the recount over the running counters (the client's row locked meanwhile)."""
    with transaction.atomic():
        ClientContractStats.objects.get_or_create(client_id=client_id)
        ClientContractStats.objects.select_for_update().filter(client_id=client_id).first()
        recount = client_contract_stats_recount(client_id=client_id)
        ClientContractStats.objects.filter(client_id=client_id).update(**recount)
        return recount
