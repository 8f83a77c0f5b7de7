"""The contract's hash-chained event log: append and verify."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from django.db.models import OuterRef, Subquery

from ishibashi.accounts.models import User
from ishibashi.contracts.models import (
    Contract,
    ContractEvent,
    Milestone,
)

GENESIS_HASH = "0" * 64


def _json_default(value: Any) -> str:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def canonical_json(value: Any) -> bytes:
    """The bytes every hash is computed over: sorted keys, no spaces, UTF-8."""
    return json.dumps(
        value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_json_default
    ).encode()


def event_hash(*, previous_hash: str, event: dict[str, Any]) -> str:
    return hashlib.sha256(previous_hash.encode() + canonical_json(event)).hexdigest()


def event_body(event: ContractEvent) -> dict[str, Any]:
    return {
        "contract": event.contract_id,
        "sequence": event.sequence,
        "milestone": event.milestone_id,
        "actor": event.actor_id,
        "action": event.action,
        "from": event.from_state,
        "to": event.to_state,
        "payload": event.payload,
        # In UTC whatever zone the caller's `now` was in: the row is read back in UTC.
        "at": event.created_at.astimezone(dt.UTC).isoformat(),
    }


def _event_new(
    *,
    contract: Contract,
    sequence: int,
    previous_hash: str,
    action: str,
    actor: User | None,
    now: dt.datetime,
    milestone: Milestone | None,
    from_state: str,
    to_state: str,
    payload: dict[str, Any] | None,
) -> ContractEvent:
    event = ContractEvent(
        contract=contract,
        sequence=sequence,
        milestone=milestone,
        actor=actor,
        action=action,
        from_state=from_state,
        to_state=to_state,
        # Stored as the JSON it hashes to (dates as ISO text), so a re-read verifies.
        payload=json.loads(canonical_json(payload or {})),
        created_at=now,
        previous_hash=previous_hash,
    )
    event.hash = event_hash(previous_hash=previous_hash, event=event_body(event))
    return event


def event_append(
    *,
    contract: Contract,
    action: str,
    actor: User | None,
    now: dt.datetime,
    milestone: Milestone | None = None,
    from_state: str = "",
    to_state: str = "",
    payload: dict[str, Any] | None = None,
) -> ContractEvent:
    """Append one event to the contract's chain. The caller holds the contract row's lock."""
    last = ContractEvent.objects.filter(contract=contract).order_by("-sequence").first()
    event = _event_new(
        contract=contract,
        sequence=(last.sequence + 1) if last else 1,
        previous_hash=last.hash if last else GENESIS_HASH,
        action=action,
        actor=actor,
        now=now,
        milestone=milestone,
        from_state=from_state,
        to_state=to_state,
        payload=payload,
    )
    event.save()
    return event


class EventChains:
    """Events appended to many contracts' chains at once, written in one statement (the sweeper).

    Made after the contracts are locked: it reads each chain's head in one query, then
    `append` links each new event to the previous one in memory, exactly as event_append would,
    and `write` inserts them all. The caller holds every contract's row lock until its commit.
    """

    def __init__(self, contract_ids: list[int]) -> None:
        last = ContractEvent.objects.filter(contract_id=OuterRef("pk")).order_by("-sequence")
        heads = Contract.objects.filter(pk__in=contract_ids).values_list(
            "pk",
            Subquery(last.values("sequence")[:1]),
            Subquery(last.values("hash")[:1]),
        )
        self.heads: dict[int, tuple[int, str]] = {
            pk: (sequence or 0, hash_ or GENESIS_HASH) for pk, sequence, hash_ in heads
        }
        self.pending: list[ContractEvent] = []

    def append(
        self,
        *,
        contract: Contract,
        action: str,
        actor: User | None,
        now: dt.datetime,
        milestone: Milestone | None = None,
        from_state: str = "",
        to_state: str = "",
        payload: dict[str, Any] | None = None,
    ) -> ContractEvent:
        sequence, previous_hash = self.heads[contract.pk]
        event = _event_new(
            contract=contract,
            sequence=sequence + 1,
            previous_hash=previous_hash,
            action=action,
            actor=actor,
            now=now,
            milestone=milestone,
            from_state=from_state,
            to_state=to_state,
            payload=payload,
        )
        self.heads[contract.pk] = (event.sequence, event.hash)
        self.pending.append(event)
        return event

    def write(self) -> None:
        ContractEvent.objects.bulk_create(self.pending)
        self.pending = []


def events_verify(*, contract: Contract) -> int | None:
    """The sequence of the first event whose hash or link does not hold, or None if all hold."""
    previous = GENESIS_HASH
    for event in ContractEvent.objects.filter(contract=contract).order_by("sequence"):
        expected = event_hash(previous_hash=previous, event=event_body(event))
        if event.previous_hash != previous or event.hash != expected:
            return event.sequence
        previous = event.hash
    return None
