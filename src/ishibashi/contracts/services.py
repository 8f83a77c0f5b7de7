"""Contract writes: creation from a hired proposal, terms versions, and the event chain.

The milestone state machine and its actions (fund, start, deliver, approve…) build on
`event_append` here; every write to a contract appends an event in the same transaction.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import F, Max, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ishibashi.accounts.models import EntityType, User
from ishibashi.contracts import clocks, notices
from ishibashi.contracts.models import (
    ChangeRequest,
    ChangeState,
    ClientContractStats,
    ClockKind,
    Contract,
    ContractEvent,
    ContractFlag,
    ContractMessage,
    ContractState,
    ContractTerms,
    Delivery,
    DeliveryFile,
    FileVisibility,
    FlagKind,
    Milestone,
    MilestoneState,
)
from ishibashi.contracts.states import (
    MILESTONE_TERMINAL,
    STARTED,
    Action,
    Locked,
    Role,
    check,
    contract_transition,
    lock,
    lock_client_stats,
    role_of,
    transition,
)
from ishibashi.core import clock, limits
from ishibashi.core.errors import ApplicationError, Conflict, Forbidden, InvalidInput, NotFound
from ishibashi.core.invariants import require
from ishibashi.core.text import clean_text, has_forbidden_characters
from ishibashi.jobs.models import (
    ContractType,
    MilestoneKind,
    Proposal,
    ProposalKind,
    ProposedMilestone,
)
from ishibashi.ledger import services as ledger

logger = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
# Freelance Act art. 4: pay within 60 days of receipt, the receipt day being day 1 (law.md L-20).
PAYMENT_DAYS_AFTER_DELIVERY_MAX = 59


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


def _event_body(event: ContractEvent) -> dict[str, Any]:
    return {
        "contract": event.contract_id,
        "sequence": event.sequence,
        "milestone": event.milestone_id,
        "actor": event.actor_id,
        "action": event.action,
        "from": event.from_state,
        "to": event.to_state,
        "payload": event.payload,
        "at": event.created_at.isoformat(),
    }


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
    event = ContractEvent(
        contract=contract,
        sequence=(last.sequence + 1) if last else 1,
        milestone=milestone,
        actor=actor,
        action=action,
        from_state=from_state,
        to_state=to_state,
        # Stored as the JSON it hashes to (dates as ISO text), so a re-read verifies.
        payload=json.loads(canonical_json(payload or {})),
        created_at=now,
        previous_hash=last.hash if last else GENESIS_HASH,
    )
    event.hash = event_hash(previous_hash=event.previous_hash, event=_event_body(event))
    event.save()
    return event


def events_verify(*, contract: Contract) -> int | None:
    """The sequence of the first event whose hash or link does not hold, or None if all hold."""
    previous = GENESIS_HASH
    for event in ContractEvent.objects.filter(contract=contract).order_by("sequence"):
        expected = event_hash(previous_hash=previous, event=_event_body(event))
        if event.previous_hash != previous or event.hash != expected:
            return event.sequence
        previous = event.hash
    return None


def withholding_applies(*, client: User, worker: User, category: str) -> bool:
    """law.md L-50/L-51: an individual paid by a withholding agent for a listed kind of work."""
    return (
        worker.entity_type == EntityType.INDIVIDUAL
        and client.is_withholding_agent
        and category in settings.WITHHOLDING_CATEGORIES
    )


def _party(user: User) -> dict[str, Any]:
    return {
        "id": user.pk,
        "display_name": user.display_name,
        "entity_type": user.entity_type,
        "invoice_registration_number": user.invoice_registration_number,
        # Freelance Act art. 2: a business with employees or two or more officers is "specified".
        "is_specified_business": user.has_employees,
    }


def terms_snapshot(
    *,
    contract: Contract,
    proposal: Proposal,
    milestones: Sequence[ProposedMilestone],
    commissioned_on: dt.date,
) -> dict[str, Any]:
    """Every item art. 3 requires (law.md L-10), so the disclosure needs nothing else."""
    job = proposal.job
    inspection = dt.timedelta(days=contract.inspection_days)
    return {
        "version": contract.terms_version,
        "contract_id": contract.pk,
        "client": _party(contract.client),
        "worker": _party(contract.worker),
        "commissioned_on": commissioned_on.isoformat(),
        "title": contract.title,
        "contract_type": contract.contract_type,
        "is_consultation": contract.is_consultation,
        "work_content": job.description,
        "scope": {
            "deliverables": job.scope_deliverables,
            "acceptance_criteria": job.scope_acceptance_criteria,
            "out_of_scope": job.scope_out_of_scope,
        },
        "revision_rounds": contract.revision_rounds,
        "inspection_days": contract.inspection_days,
        "kill_fee_percent": contract.kill_fee_percent,
        "delivery_place": "ishibashi:contract-delivery-box",
        "milestones": [
            {
                "position": m.position,
                "title": m.title,
                "kind": m.kind,
                "amount_jpy": m.amount_jpy,
                "due_on": m.due_on.isoformat(),
                # Delivered on its due date: inspection ends, and payment is due, by these dates.
                "inspection_complete_by": (m.due_on + inspection).isoformat(),
                "payment_due_on": (m.due_on + inspection).isoformat(),
            }
            for m in milestones
        ],
        "total_jpy": proposal.total_jpy,
        "payment_terms": {
            "method": "escrow",
            "provider": settings.PAYMENT_PROVIDER,
            "rule": "released on approval or automatic approval at the end of inspection; "
            f"never later than {PAYMENT_DAYS_AFTER_DELIVERY_MAX} days after delivery",
            "fee_rate_bps": contract.fee_rate_bps,
            "withholding_applies": contract.withholding_applies,
            "transfer_fee_borne_by": "client_or_platform",
        },
    }


def contract_create_from_proposal(
    *,
    proposal: Proposal,
    milestones: Sequence[ProposedMilestone],
    inspection_days: int,
    now: dt.datetime,
    kill_fee_percent: int = 0,
) -> Contract:
    """Called by the hire use case inside its transaction, with the job and proposal locked."""
    require(bool(milestones), "a contract needs milestones")
    job = proposal.job
    contract = Contract.objects.create(
        job=job,
        proposal=proposal,
        client=job.client,
        worker=proposal.worker,
        title=job.title,
        contract_type=job.contract_type,
        is_consultation=proposal.kind == ProposalKind.CONSULTATION,
        fee_rate_bps=settings.PLATFORM_FEE_RATE_BPS,
        withholding_applies=withholding_applies(
            client=job.client, worker=proposal.worker, category=job.category
        ),
        inspection_days=inspection_days,
        revision_rounds=job.revision_rounds,
        kill_fee_percent=kill_fee_percent,
        created_at=now,
    )
    if contract.contract_type == ContractType.MONTHLY:
        # Later months repeat the last agreed month's pay, from the day after it ends.
        contract.period_amount_jpy = milestones[-1].amount_jpy
        contract.next_period_starts_on = milestones[-1].due_on + dt.timedelta(days=1)
        contract.save(update_fields=["period_amount_jpy", "next_period_starts_on"])
    created = Milestone.objects.bulk_create(
        Milestone(
            contract=contract,
            position=m.position,
            title=m.title,
            kind=m.kind,
            amount_jpy=m.amount_jpy,
            due_on=m.due_on,
            state=MilestoneState.AWAITING_FUNDING if index == 0 else MilestoneState.DRAFT,
            funding_requested_at=now if index == 0 else None,
            created_at=now,
        )
        for index, m in enumerate(milestones)
    )
    snapshot = terms_snapshot(
        contract=contract,
        proposal=proposal,
        milestones=milestones,
        commissioned_on=timezone.localdate(now),
    )
    terms = ContractTerms.objects.create(
        contract=contract,
        version=1,
        snapshot=snapshot,
        snapshot_sha256=hashlib.sha256(canonical_json(snapshot)).hexdigest(),
        agreed_at=now,
    )
    event_append(
        contract=contract,
        action="contract_created",
        actor=job.client,
        now=now,
        to_state=contract.state,
        payload={
            "proposal": proposal.pk,
            "terms_version": 1,
            "terms_sha256": terms.snapshot_sha256,
        },
    )
    first = created[0]  # bulk_create sets primary keys on SQLite and PostgreSQL alike
    clocks.clock_start(
        first,
        kind=ClockKind.FUNDING,
        now=now,
        deadline=now + dt.timedelta(days=settings.FUNDING_DAYS),
    )
    # The hire's own notice (jobs.notices.contract_started) asks the client for this escrow.
    first.save()
    event_append(
        contract=contract,
        action="funding_requested",
        actor=None,
        now=now,
        milestone=first,
        from_state=MilestoneState.DRAFT,
        to_state=MilestoneState.AWAITING_FUNDING,
        payload={"amount_jpy": first.amount_jpy, "deadline": first.clock_deadline_at},
    )
    return contract


# --- the lifecycle: escrow, work, delivery, inspection, payment -------------------------------
#
# Every use case below is one transaction. It locks the contract, then the milestone
# (states.lock), checks the transition table, moves money through the ledger under those locks
# and appends the event; a retry or a racing second request finds the new state and is refused
# with a message, so money moves once.


def _ledger_key(milestone: Milestone, purpose: str) -> str:
    # One key per money movement a milestone can make: a replay after a crash or a race can
    # never move the same yen twice (the ledger answers a repeated key with the first transfer).
    return f"{milestone.escrow_reference}:{purpose}"


def _stats_bump(client_id: int, **deltas: int) -> None:
    ClientContractStats.objects.get_or_create(client_id=client_id)
    ClientContractStats.objects.filter(client_id=client_id).update(
        **{name: F(name) + delta for name, delta in deltas.items()}
    )


def _request_funding(locked: Locked, *, actor: User | None, now: dt.datetime) -> None:
    milestone = locked.milestone
    milestone.funding_requested_at = now
    clocks.clock_start(
        milestone,
        kind=ClockKind.FUNDING,
        now=now,
        deadline=now + dt.timedelta(days=settings.FUNDING_DAYS),
    )
    transition(
        locked,
        action=Action.REQUEST_FUNDING,
        actor=actor,
        now=now,
        effect=lambda lk: {
            "amount_jpy": lk.milestone.amount_jpy,
            "deadline": lk.milestone.clock_deadline_at,
        },
        notify=notices.funding_requested,
    )


def _next_milestone_request_funding(contract: Contract, *, now: dt.datetime) -> None:
    """After a milestone ends, ask for the next one's escrow — unless one is already asked."""
    if contract.cancelled_at is not None or contract.termination_effective_at is not None:
        return
    milestones = list(Milestone.objects.filter(contract=contract).order_by("position"))
    waiting = {MilestoneState.AWAITING_FUNDING, MilestoneState.FUNDED, *STARTED}
    if any(m.state in waiting for m in milestones):
        return
    following = next((m for m in milestones if m.state == MilestoneState.DRAFT), None)
    if following is None:
        return
    locked = Locked(
        contract=contract,
        milestone=Milestone.objects.select_for_update().get(pk=following.pk),
        role=Role.SYSTEM,
    )
    _request_funding(locked, actor=None, now=now)


def _contract_settle(contract: Contract, *, actor: User | None, now: dt.datetime) -> None:
    """Bring the contract's state in line with its milestones (the contract row is locked)."""
    states = set(Milestone.objects.filter(contract=contract).values_list("state", flat=True))
    if MilestoneState.DISPUTED in states:
        if contract.state == ContractState.ACTIVE:
            contract_transition(contract, action="open_dispute", actor=actor, now=now)
        return
    if contract.state == ContractState.IN_DISPUTE:
        contract_transition(contract, action="close_dispute", actor=actor, now=now)
    open_periods = (
        contract.is_monthly
        and (contract.termination_effective_at is None or contract.termination_effective_at > now)
        and contract.cancelled_at is None
    )
    if states <= MILESTONE_TERMINAL and not open_periods:
        if contract.cancelled_at is not None:
            contract_transition(contract, action="cancel", actor=actor, now=now)
        else:
            contract_transition(contract, action="complete", actor=actor, now=now)
            _stats_bump(contract.client_id, contracts_completed=1)
            notices.contract_ended(contract=contract)
        return
    _next_milestone_request_funding(contract, now=now)


def milestone_request_funding(*, actor: User, milestone_id: int) -> Milestone:
    """Ask the client to fund a milestone that has not been asked for yet."""
    with transaction.atomic():
        now = clock.now()
        locked = lock(milestone_id=milestone_id, actor=actor)
        _request_funding(locked, actor=actor, now=now)
        return locked.milestone


def milestone_fund(*, client: User, milestone_id: int) -> Milestone:
    """仮払い: the client moves the milestone's amount from their wallet into its escrow."""
    with transaction.atomic():
        now = clock.now()
        locked = lock(milestone_id=milestone_id, actor=client)

        def move_money(lk: Locked) -> dict[str, Any]:
            m = lk.milestone
            transfer = ledger.escrow_fund(
                client=lk.contract.client,
                escrow_reference=m.escrow_reference,
                amount_jpy=m.amount_jpy,
                idempotency_key=_ledger_key(m, "fund"),
            )
            waited = (now - m.funding_requested_at) if m.funding_requested_at else None
            if waited is not None:
                _stats_bump(
                    lk.contract.client_id,
                    fundings=1,
                    funding_seconds_total=int(waited.total_seconds()),
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
    with transaction.atomic():
        now = clock.now()
        locked = lock(milestone_id=milestone_id, actor=worker)

        def started(lk: Locked) -> None:
            lk.milestone.started_at = now

        return transition(locked, action=Action.START, actor=worker, now=now, effect=started)


@dataclass(frozen=True)
class DeliveryUpload:
    file: File[Any]
    visibility: str


def _checked_uploads(uploads: Sequence[DeliveryUpload]) -> list[DeliveryUpload]:
    if len(uploads) > settings.DELIVERY_FILES_MAX:
        raise InvalidInput(
            _("A delivery can carry at most %(count)d files.")
            % {"count": settings.DELIVERY_FILES_MAX},
            field="files",
        )
    for upload in uploads:
        name = os.path.basename(upload.file.name or "")
        if (
            not name
            or len(name) > limits.DELIVERY_FILE_NAME_LENGTH_MAX
            or (has_forbidden_characters(name))
        ):
            raise InvalidInput(_("A file name is empty, too long or unreadable."), field="files")
        extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        if extension not in settings.DELIVERY_FILE_EXTENSIONS:
            raise InvalidInput(
                _("“%(name)s”: files of this type cannot be delivered. Allowed: %(allowed)s.")
                % {"name": name, "allowed": ", ".join(sorted(settings.DELIVERY_FILE_EXTENSIONS))},
                field="files",
            )
        if upload.file.size is None or upload.file.size > settings.DELIVERY_FILE_SIZE_MAX_BYTES:
            raise InvalidInput(
                _("“%(name)s” is larger than %(size)s MB.")
                % {"name": name, "size": settings.DELIVERY_FILE_SIZE_MAX_BYTES // (1024 * 1024)},
                field="files",
            )
        if upload.file.size == 0:
            raise InvalidInput(_("“%(name)s” is empty.") % {"name": name}, field="files")
        if upload.visibility not in FileVisibility.values:
            raise InvalidInput(_("Choose preview or full for each file."), field="visibility")
    return list(uploads)


# Kinds whose work can be a report with no file: the seed's split pays these parts even when
# the main work never happens.
REPORT_KINDS = frozenset(
    {
        MilestoneKind.RESEARCH,
        MilestoneKind.STANDBY,
        MilestoneKind.COMPLETION_CHECK,
        MilestoneKind.MONTHLY,
        MilestoneKind.CONSULTATION,
    }
)


def delivery_create(
    *,
    worker: User,
    milestone_id: int,
    message: str,
    uploads: Sequence[DeliveryUpload] = (),
) -> Delivery:
    """納品: a new version of the work; starts (or restarts) the client's inspection clock.

    The first delivery fixes the legal payment deadline (受領日 + 59 days, law.md L-22); no
    later delivery or revision moves it.
    """
    message = clean_text(
        message, field="message", multiline=True, length_max=limits.DELIVERY_MESSAGE_LENGTH_MAX
    )
    uploads = _checked_uploads(uploads)
    stored: list[str] = []
    try:
        with transaction.atomic():
            now = clock.now()
            locked = lock(milestone_id=milestone_id, actor=worker)
            milestone = locked.milestone
            # Checked before files are written, so a refused delivery leaves nothing in storage.
            check(
                contract=locked.contract,
                milestone=milestone,
                action=Action.DELIVER,
                role=locked.role,
            )
            if (
                not uploads
                and milestone.kind not in REPORT_KINDS
                and (milestone.client_silence_expired_at is None)
            ):
                raise InvalidInput(
                    _(
                        "Attach the delivered files. Only research, stand-by, completion-check and "
                        "monthly milestones can be delivered with a report alone."
                    ),
                    field="files",
                )
            version = (milestone.deliveries.aggregate(v=Max("version"))["v"] or 0) + 1
            delivery = Delivery.objects.create(
                milestone=milestone,
                version=version,
                message=message,
                is_report=not uploads,
                # Work in progress the worker may hand in only because the client fell silent.
                is_partial=not uploads
                and milestone.kind not in REPORT_KINDS
                and milestone.client_silence_expired_at is not None,
                created_at=now,
            )
            for upload in uploads:
                _store_file(delivery, upload, stored)

            def delivered(lk: Locked) -> dict[str, Any]:
                m = lk.milestone
                m.started_at = m.started_at or now
                m.delivered_at = now
                m.cancellation_requested_at = None
                if m.first_delivered_at is None:
                    m.first_delivered_at = now
                    m.legal_release_due_at = clocks.legal_release_due(now)
                clocks.clock_start(
                    m,
                    kind=ClockKind.INSPECTION,
                    now=now,
                    deadline=now + dt.timedelta(days=lk.contract.inspection_days),
                )
                return {
                    "delivery": delivery.pk,
                    "version": version,
                    "files": [f.name for f in delivery.files.all()],
                    "inspection_deadline": m.clock_deadline_at,
                    "legal_release_due_at": m.legal_release_due_at,
                    "partial": delivery.is_partial,
                }

            transition(
                locked,
                action=Action.DELIVER,
                actor=worker,
                now=now,
                effect=delivered,
                notify=notices.delivered,
            )
            return delivery
    except BaseException:
        # The transaction rolled back; the files written for it must not stay behind.
        for name in stored:
            DeliveryFile.file.field.storage.delete(name)
        raise


def _store_file(delivery: Delivery, upload: DeliveryUpload, stored: list[str]) -> DeliveryFile:
    digest = hashlib.sha256()
    for chunk in upload.file.chunks():
        digest.update(chunk)
    upload.file.seek(0)
    record = DeliveryFile(
        delivery=delivery,
        name=os.path.basename(upload.file.name or ""),
        size_bytes=upload.file.size or 0,
        content_type=getattr(upload.file, "content_type", "") or "application/octet-stream",
        sha256=digest.hexdigest(),
        visibility=upload.visibility,
    )
    record.file.save(record.name, upload.file, save=False)
    stored.append(record.file.name)
    record.save()
    return record


def _latest_delivery(milestone: Milestone) -> Delivery | None:
    return milestone.deliveries.order_by("-version").first()


def _release(lk: Locked) -> None:
    m, contract = lk.milestone, lk.contract
    ledger.escrow_release(
        client=contract.client,
        worker=contract.worker,
        escrow_reference=m.escrow_reference,
        amount_jpy=m.amount_jpy,
        fee_rate_bps=contract.fee_rate_bps,
        withholding_applies=contract.withholding_applies,
        idempotency_key=_ledger_key(m, "release"),
    )


def _approve_and_release(
    locked: Locked,
    *,
    action: Action,
    actor: User | None,
    now: dt.datetime,
    payload: dict[str, Any] | None = None,
) -> Milestone:
    def approved(lk: Locked) -> dict[str, Any]:
        m = lk.milestone
        m.approved_at = now
        m.cancellation_requested_at = None
        if m.delivered_at is not None and action != Action.LEGAL_RELEASE:
            _stats_bump(
                lk.contract.client_id,
                inspections=1,
                inspection_seconds_total=int((now - m.delivered_at).total_seconds()),
            )
        clocks.clock_stop(m)
        m.action_due_at = None
        return payload or {}

    transition(locked, action=action, actor=actor, now=now, effect=approved)
    amount, key = locked.milestone.amount_jpy, _ledger_key(locked.milestone, "release")
    milestone = transition(
        locked,
        action=Action.RELEASE,
        actor=None,
        now=now,
        # The ledger key names the transfer: the ledger holds one transfer per key, ever.
        effect=lambda lk: {"amount_jpy": amount, "ledger_key": key},
        notify=notices.released,
    )
    _contract_settle(locked.contract, actor=actor, now=now)
    # Last in the transaction: every release locks the platform's fee account, the one row all
    # sweepers share, so it is held only for the transfer and the commit, not for the rest.
    _release(locked)
    return milestone


def _delivery_for_client(*, client: User, delivery_id: int) -> Delivery:
    delivery = Delivery.objects.select_related("milestone__contract").filter(pk=delivery_id).first()
    if delivery is None or not delivery.milestone.contract.is_party(client.pk):
        raise NotFound(_("No such delivery."))
    return delivery


def _check_latest(delivery: Delivery, milestone: Milestone) -> None:
    latest = _latest_delivery(milestone)
    if latest is None or latest.pk != delivery.pk:
        raise Conflict(
            _("A newer version of this delivery exists. Inspect the latest one."),
            code="delivery_superseded",
        )


def delivery_approve(*, client: User, delivery_id: int) -> Milestone:
    """検収: the client accepts the delivery; the escrow is released at once."""
    delivery = _delivery_for_client(client=client, delivery_id=delivery_id)
    with transaction.atomic():
        now = clock.now()
        locked = lock(milestone_id=delivery.milestone_id, actor=client)
        check(
            contract=locked.contract,
            milestone=locked.milestone,
            action=Action.APPROVE,
            role=locked.role,
        )
        _check_latest(delivery, locked.milestone)
        return _approve_and_release(
            locked, action=Action.APPROVE, actor=client, now=now, payload={"delivery": delivery.pk}
        )


def delivery_request_revision(*, client: User, delivery_id: int, reason: str) -> Milestone:
    """修正依頼: with a written reason, within the contract's revision rounds."""
    reason = clean_text(reason, field="reason", multiline=True, length_max=limits.REASON_LENGTH_MAX)
    delivery = _delivery_for_client(client=client, delivery_id=delivery_id)
    with transaction.atomic():
        now = clock.now()
        locked = lock(milestone_id=delivery.milestone_id, actor=client)
        check(
            contract=locked.contract,
            milestone=locked.milestone,
            action=Action.REQUEST_REVISION,
            role=locked.role,
        )
        _check_latest(delivery, locked.milestone)
        if locked.milestone.revisions_used >= locked.contract.revision_rounds:
            raise Conflict(
                _(
                    "All %(rounds)d revision rounds of this contract are used. Approve the "
                    "delivery, propose a change (変更依頼), or open a dispute."
                )
                % {"rounds": locked.contract.revision_rounds},
                code="revision_limit_reached",
            )

        def revision(lk: Locked) -> dict[str, Any]:
            m = lk.milestone
            m.revisions_used += 1
            clocks.clock_stop(m)
            return {"delivery": delivery.pk, "reason": reason, "round": m.revisions_used}

        return transition(
            locked,
            action=Action.REQUEST_REVISION,
            actor=client,
            now=now,
            effect=revision,
            notify=notices.revision_requested,
        )


# --- disputes ---------------------------------------------------------------------------------


def milestone_dispute(*, actor: User, milestone_id: int, reason: str) -> Milestone:
    """トラブル: either party freezes nothing yet; an operator decides, the legal clock runs."""
    reason = clean_text(reason, field="reason", multiline=True, length_max=limits.REASON_LENGTH_MAX)
    with transaction.atomic():
        now = clock.now()
        locked = lock(milestone_id=milestone_id, actor=actor)

        def disputed(lk: Locked) -> dict[str, Any]:
            m = lk.milestone
            m.cancellation_requested_at = None
            clocks.clock_stop(m)
            _stats_bump(lk.contract.client_id, disputes=1)
            return {"reason": reason, "opened_by": lk.role.value}

        milestone = transition(
            locked,
            action=Action.DISPUTE,
            actor=actor,
            now=now,
            effect=disputed,
            notify=notices.dispute_opened,
        )
        clocks.refresh_action_due(milestone)
        milestone.save(update_fields=["action_due_at"])
        _contract_settle(locked.contract, actor=actor, now=now)
        return milestone


def milestone_dispute_freeze(*, operator: User, milestone_id: int, note: str) -> Milestone:
    """An operator stops the legal-deadline release while they decide (law.md L-26)."""
    note = clean_text(note, field="note", multiline=True, length_max=limits.REASON_LENGTH_MAX)
    with transaction.atomic():
        now = clock.now()
        locked = lock(milestone_id=milestone_id, actor=operator)
        milestone = locked.milestone
        if locked.role is not Role.OPERATOR:
            raise Forbidden(_("Only an operator can do this."), code="operators_only")
        if milestone.state != MilestoneState.DISPUTED or milestone.dispute_frozen:
            raise Conflict(
                _("Only an open, unfrozen dispute can be frozen."), code="milestone_state"
            )
        milestone.dispute_frozen = True
        clocks.refresh_action_due(milestone)
        milestone.save(update_fields=["dispute_frozen", "action_due_at"])
        event_append(
            contract=locked.contract,
            action="dispute_frozen",
            actor=operator,
            now=now,
            milestone=milestone,
            from_state=milestone.state,
            to_state=milestone.state,
            payload={"note": note},
        )
        return milestone


def milestone_dispute_resolve(
    *, operator: User, milestone_id: int, worker_amount_jpy: int, note: str
) -> Milestone:
    """An operator's ruling: the escrow split between worker and client in one transfer."""
    note = clean_text(note, field="note", multiline=True, length_max=limits.REASON_LENGTH_MAX)
    with transaction.atomic():
        now = clock.now()
        locked = lock(milestone_id=milestone_id, actor=operator)
        amount = locked.milestone.amount_jpy
        if type(worker_amount_jpy) is not int or not 0 <= worker_amount_jpy <= amount:
            raise InvalidInput(
                _("The worker's share must be a whole number of yen from 0 to %(amount)s.")
                % {"amount": f"{amount:,}"},
                field="worker_amount_jpy",
            )

        def ruled(lk: Locked) -> dict[str, Any]:
            m, contract = lk.milestone, lk.contract
            transfer = ledger.escrow_split(
                client=contract.client,
                worker=contract.worker,
                escrow_reference=m.escrow_reference,
                worker_amount_jpy=worker_amount_jpy,
                client_amount_jpy=amount - worker_amount_jpy,
                fee_rate_bps=contract.fee_rate_bps,
                withholding_applies=contract.withholding_applies,
                idempotency_key=_ledger_key(m, "split"),
            )
            clocks.clock_stop(m)
            m.action_due_at = None
            return {
                "worker_amount_jpy": worker_amount_jpy,
                "client_amount_jpy": amount - worker_amount_jpy,
                "note": note,
                "transfer": transfer.pk,
            }

        milestone = transition(
            locked,
            action=Action.RESOLVE,
            actor=operator,
            now=now,
            effect=ruled,
            notify=notices.dispute_resolved,
        )
        _contract_settle(locked.contract, actor=operator, now=now)
        return milestone


# --- flags and messages -------------------------------------------------------------------------


def _contract_for_party(*, user: User, contract_id: int, lock_row: bool = True) -> Contract:
    rows = Contract.objects.select_related("client", "worker")
    if lock_row:
        rows = rows.select_for_update(of=("self",))
    contract = rows.filter(pk=contract_id).first()
    if contract is None or not contract.is_party(user.pk):
        raise NotFound(_("No such contract."))
    if lock_row:
        lock_client_stats(contract)
    return contract


def contract_flag(*, worker: User, contract_id: int, kind: str, note: str = "") -> ContractFlag:
    """The worker reports that the client asked for work before escrow; counted on the profile."""
    note = clean_text(
        note, field="note", multiline=True, length_max=limits.REASON_LENGTH_MAX, required=False
    )
    if kind not in FlagKind.values:
        raise InvalidInput(_("Unknown kind of report."), field="kind")
    with transaction.atomic():
        now = clock.now()
        contract = _contract_for_party(user=worker, contract_id=contract_id)
        if contract.worker_id != worker.pk:
            raise Forbidden(_("Only the worker can report this."), code="not_your_action")
        if ContractFlag.objects.filter(contract=contract, kind=kind).exists():
            raise Conflict(
                _("You have already reported this on this contract."), code="already_flagged"
            )
        flag = ContractFlag.objects.create(
            contract=contract, kind=kind, reported_by=worker, note=note, created_at=now
        )
        _stats_bump(contract.client_id, escrow_before_work_flags=1)
        event_append(
            contract=contract,
            action="flagged",
            actor=worker,
            now=now,
            payload={"kind": kind, "note": note},
        )
        return flag


def contract_message_post(*, author: User, contract_id: int, body: str) -> ContractMessage:
    """A message in the contract's thread.

    A worker's message while work is in progress starts the client's reply clock on that work
    (unless one runs already); the client's reply stops it.
    """
    body = clean_text(
        body, field="body", multiline=True, length_max=limits.CONTRACT_MESSAGE_LENGTH_MAX
    )
    with transaction.atomic():
        now = clock.now()
        contract = _contract_for_party(user=author, contract_id=contract_id)
        if contract.state not in (ContractState.ACTIVE, ContractState.IN_DISPUTE):
            raise Conflict(_("This contract has ended."), code="contract_ended")
        message = ContractMessage.objects.create(
            contract=contract, author=author, body=body, created_at=now
        )
        working = Milestone.objects.select_for_update().filter(
            contract=contract,
            state__in=(MilestoneState.IN_PROGRESS, MilestoneState.REVISION_REQUESTED),
        )
        for milestone in working:
            if author.pk == contract.worker_id and not milestone.clock:
                clocks.clock_start(
                    milestone,
                    kind=ClockKind.CLIENT_REPLY,
                    now=now,
                    deadline=now + dt.timedelta(days=settings.CLIENT_REPLY_DAYS),
                )
                milestone.save()
            elif author.pk == contract.client_id and (
                milestone.clock == ClockKind.CLIENT_REPLY
                or milestone.client_silence_expired_at is not None
            ):
                # The client is back: the silence ends, whether or not its clock had run out.
                if milestone.clock == ClockKind.CLIENT_REPLY:
                    clocks.clock_stop(milestone)
                milestone.client_silence_expired_at = None
                milestone.save()
        notices.message_posted(message=message)
        return message


# --- the sweeper --------------------------------------------------------------------------------

# A claimed batch is worked off within this; a crashed worker's claim lapses and is retried.
SWEEP_LEASE = dt.timedelta(minutes=5)


def milestones_claim_due(*, now: dt.datetime, batch: int) -> list[int]:
    """Claim up to `batch` due milestones for this worker, skipping rows others hold.

    On PostgreSQL `FOR UPDATE SKIP LOCKED` lets many sweepers claim disjoint batches at once;
    SQLite has one writer at a time, so there the claim is plain.
    """
    with transaction.atomic():
        claim = (
            Milestone.objects.select_for_update(skip_locked=True)
            .filter(action_due_at__lte=now)
            .filter(Q(sweep_lease_until__isnull=True) | Q(sweep_lease_until__lt=now))
            .order_by("action_due_at")
            .values_list("pk", flat=True)[:batch]
        )
        ids = list(claim)
        if ids:
            Milestone.objects.filter(pk__in=ids).update(sweep_lease_until=now + SWEEP_LEASE)
        return ids


def milestones_sweep_due(*, batch: int = limits.SWEEP_BATCH_MAX) -> int:
    """Sweep: reminders, automatic approval, unfunded closing, and the legal release.

    Each milestone is handled in its own transaction under its row lock and re-checked there,
    so a second sweeper, a client acting at the same moment or a replay after a crash finds
    the work done and does nothing.
    """
    now = clock.now()
    handled = 0
    for milestone_id in milestones_claim_due(now=now, batch=batch):
        try:
            if milestone_act_on_due(milestone_id=milestone_id, now=now):
                handled += 1
        except ApplicationError:
            # A refusal (say, the contract ended meanwhile) is not a crash: log and move on.
            logger.warning("sweep: milestone %s refused", milestone_id, exc_info=True)
            Milestone.objects.filter(pk=milestone_id).update(sweep_lease_until=None)
    return handled


def milestone_act_on_due(*, milestone_id: int, now: dt.datetime) -> bool:
    """Do what is due on one milestone now; False if nothing was (someone acted first)."""
    with transaction.atomic():
        locked = lock(milestone_id=milestone_id, actor=None)
        milestone = locked.milestone
        milestone.sweep_lease_until = None
        if milestone.action_due_at is None or milestone.action_due_at > now:
            milestone.save(update_fields=["sweep_lease_until"])
            return False
        if clocks.legal_deadline_applies(milestone) and (
            milestone.legal_release_due_at is not None and milestone.legal_release_due_at <= now
        ):
            _stats_bump(locked.contract.client_id, legal_deadline_releases=1)
            _approve_and_release(
                locked,
                action=Action.LEGAL_RELEASE,
                actor=None,
                now=now,
                payload={
                    "legal_release_due_at": milestone.legal_release_due_at,
                    "first_delivered_at": milestone.first_delivered_at,
                },
            )
            return True
        if milestone.clock and milestone.clock_deadline_at and milestone.clock_deadline_at <= now:
            _act_on_deadline(locked, now=now)
            return True
        reminder = clocks.next_reminder_at(milestone)
        if reminder is not None and reminder <= now:
            return _send_reminder(locked, now=now)
        clocks.refresh_action_due(milestone)
        milestone.save(update_fields=["sweep_lease_until", "action_due_at"])
        return False


def _send_reminder(locked: Locked, *, now: dt.datetime) -> bool:
    milestone = locked.milestone
    # A sweeper that was down sends one reminder for the latest step due, not a burst.
    assert milestone.clock_started_at is not None
    assert milestone.clock_deadline_at is not None
    times = clocks.reminder_times(milestone.clock_started_at, milestone.clock_deadline_at)
    milestone.reminders_sent = sum(1 for moment in times if moment <= now)
    clocks.refresh_action_due(milestone)
    milestone.save(update_fields=["reminders_sent", "action_due_at", "sweep_lease_until"])
    event_append(
        contract=locked.contract,
        action="reminder_sent",
        actor=None,
        now=now,
        milestone=milestone,
        from_state=milestone.state,
        to_state=milestone.state,
        payload={
            "clock": milestone.clock,
            "reminder": milestone.reminders_sent,
            "deadline": milestone.clock_deadline_at,
        },
    )
    notices.reminder(milestone=milestone, contract=locked.contract)
    return True


def _act_on_deadline(locked: Locked, *, now: dt.datetime) -> None:
    milestone, contract = locked.milestone, locked.contract
    kind = milestone.clock
    if kind == ClockKind.INSPECTION:
        # The client stayed silent to the end: approved as delivered, and recorded as such.
        _stats_bump(contract.client_id, auto_approvals=1)
        _approve_and_release(
            locked,
            action=Action.AUTO_APPROVE,
            actor=None,
            now=now,
            payload={"silent_client": True, "deadline": milestone.clock_deadline_at},
        )
    elif kind == ClockKind.FUNDING:
        _stats_bump(contract.client_id, funding_requests_unanswered=1)
        clocks.clock_stop(milestone)
        transition(
            locked,
            action=Action.EXPIRE_FUNDING,
            actor=None,
            now=now,
            effect=lambda lk: {"silent_client": True},
            notify=notices.funding_expired,
        )
        # Nothing was paid in, so nothing is lost; the rest of the contract ends with it.
        contract.cancelled_at = contract.cancelled_at or now
        contract.save(update_fields=["cancelled_at"])
        _cancel_unstarted(contract, actor=None, now=now)
        _contract_settle(contract, actor=None, now=now)
    elif kind == ClockKind.CLIENT_REPLY:
        clocks.clock_stop(milestone)
        milestone.client_silence_expired_at = now
        milestone.save()
        event_append(
            contract=contract,
            action="client_silence_expired",
            actor=None,
            now=now,
            milestone=milestone,
            from_state=milestone.state,
            to_state=milestone.state,
            payload={"silent_client": True},
        )
        notices.client_silence_expired(milestone=milestone, contract=contract)
    elif kind == ClockKind.CANCELLATION_ANSWER:
        # The worker let the answer period pass: the client's cancellation stands, kill fee paid.
        _cancel_with_kill_fee(locked, actor=None, now=now)
        _contract_settle(contract, actor=None, now=now)


# --- cancellation -------------------------------------------------------------------------------


def _cancel_unstarted(contract: Contract, *, actor: User | None, now: dt.datetime) -> None:
    """Unfunded milestones are cancelled; funded but unstarted ones refunded in full."""
    for milestone in Milestone.objects.select_for_update().filter(
        contract=contract,
        state__in=(MilestoneState.DRAFT, MilestoneState.AWAITING_FUNDING, MilestoneState.FUNDED),
    ):
        locked = Locked(
            contract=contract, milestone=milestone, role=_role_or_system(contract, actor)
        )
        if milestone.state == MilestoneState.FUNDED:
            _refund_unstarted(locked, actor=actor, now=now)
        else:
            clocks.clock_stop(milestone)
            transition(locked, action=Action.CANCEL_UNSTARTED, actor=actor, now=now)


def _role_or_system(contract: Contract, actor: User | None) -> Role:
    role = role_of(contract, actor)
    assert role is not None
    return role


def _refund_unstarted(locked: Locked, *, actor: User | None, now: dt.datetime) -> None:
    def refund(lk: Locked) -> dict[str, Any]:
        m = lk.milestone
        transfer = ledger.escrow_refund(
            client=lk.contract.client,
            escrow_reference=m.escrow_reference,
            amount_jpy=m.amount_jpy,
            idempotency_key=_ledger_key(m, "refund"),
        )
        clocks.clock_stop(m)
        return {"amount_jpy": m.amount_jpy, "transfer": transfer.pk}

    transition(locked, action=Action.REFUND_UNSTARTED, actor=actor, now=now, effect=refund)


def kill_fee_split(*, amount_jpy: int, kill_fee_percent: int) -> tuple[int, int]:
    """(to the worker, back to the client); the fee is rounded down to whole yen."""
    fee = amount_jpy * kill_fee_percent // 100
    return fee, amount_jpy - fee


def _cancel_with_kill_fee(locked: Locked, *, actor: User | None, now: dt.datetime) -> Milestone:
    def split(lk: Locked) -> dict[str, Any]:
        m, contract = lk.milestone, lk.contract
        to_worker, to_client = kill_fee_split(
            amount_jpy=m.amount_jpy, kill_fee_percent=contract.kill_fee_percent
        )
        transfer = ledger.escrow_split(
            client=contract.client,
            worker=contract.worker,
            escrow_reference=m.escrow_reference,
            worker_amount_jpy=to_worker,
            client_amount_jpy=to_client,
            fee_rate_bps=contract.fee_rate_bps,
            withholding_applies=contract.withholding_applies,
            idempotency_key=_ledger_key(m, "split"),
        )
        clocks.clock_stop(m)
        m.action_due_at = None
        return {
            "kill_fee_percent": contract.kill_fee_percent,
            "worker_amount_jpy": to_worker,
            "client_amount_jpy": to_client,
            "transfer": transfer.pk,
        }

    return transition(
        locked,
        action=Action.CANCEL_WITH_KILL_FEE,
        actor=actor,
        now=now,
        effect=split,
        notify=notices.cancelled_with_kill_fee,
    )


def _withdraw(locked: Locked, *, actor: User, now: dt.datetime) -> Milestone:
    def refund(lk: Locked) -> dict[str, Any]:
        m = lk.milestone
        transfer = ledger.escrow_refund(
            client=lk.contract.client,
            escrow_reference=m.escrow_reference,
            amount_jpy=m.amount_jpy,
            idempotency_key=_ledger_key(m, "refund"),
        )
        clocks.clock_stop(m)
        m.action_due_at = None
        return {"amount_jpy": m.amount_jpy, "transfer": transfer.pk}

    return transition(locked, action=Action.WITHDRAW, actor=actor, now=now, effect=refund)


def _contract_cancel_now(
    contract: Contract, *, role: Role, actor: User | None, reason: str, now: dt.datetime
) -> None:
    """Apply a cancellation by `role` to every milestone (the contract row is locked).

    Delivered and disputed work is left to inspection and the operator: a cancellation never
    takes back work the client has received.
    """
    funded_before = Milestone.objects.filter(
        contract=contract, state__in=(MilestoneState.FUNDED, *STARTED)
    ).exists()
    contract.cancelled_at = now
    contract.next_period_starts_on = None
    contract.save(update_fields=["cancelled_at", "next_period_starts_on"])
    event_append(
        contract=contract,
        action="cancellation",
        actor=actor,
        now=now,
        payload={"by": role.value, "reason": reason},
    )
    _cancel_unstarted(contract, actor=actor, now=now)
    started = Milestone.objects.select_for_update().filter(
        contract=contract, state__in=(MilestoneState.IN_PROGRESS, MilestoneState.REVISION_REQUESTED)
    )
    for milestone in started:
        locked = Locked(contract=contract, milestone=milestone, role=role)
        if role is Role.WORKER:
            if milestone.client_silence_expired_at is not None:
                _cancel_with_kill_fee(locked, actor=actor, now=now)
            else:
                _withdraw(locked, actor=actor, now=now)  # type: ignore[arg-type]
            continue
        # The client's cancellation of started work waits for the worker: accept (kill fee),
        # deliver what is done, or dispute. Silence until the deadline counts as accepting.
        milestone.cancellation_requested_at = now
        clocks.clock_start(
            milestone,
            kind=ClockKind.CANCELLATION_ANSWER,
            now=now,
            deadline=now + dt.timedelta(days=settings.CANCELLATION_ANSWER_DAYS),
        )
        milestone.save()
        event_append(
            contract=contract,
            action="cancellation_requested",
            actor=actor,
            now=now,
            milestone=milestone,
            from_state=milestone.state,
            to_state=milestone.state,
            payload={
                "answer_by": milestone.clock_deadline_at,
                "kill_fee_percent": contract.kill_fee_percent,
            },
        )
        notices.cancellation_requested(milestone=milestone, contract=contract)
    if role is Role.CLIENT and funded_before:
        _stats_bump(contract.client_id, cancellations_after_funding=1)
    _contract_settle(contract, actor=actor, now=now)


def contract_cancel(*, actor: User, contract_id: int, reason: str) -> Contract:
    """キャンセル: by either party, with the outcomes of the product rules.

    A client's notice on a monthly contract takes effect after 30 days (law.md L-41) unless
    the worker agrees to end it sooner.
    """
    reason = clean_text(reason, field="reason", multiline=True, length_max=limits.REASON_LENGTH_MAX)
    with transaction.atomic():
        now = clock.now()
        contract = _contract_for_party(user=actor, contract_id=contract_id)
        role = _role_or_system(contract, actor)
        if contract.state not in (ContractState.ACTIVE, ContractState.IN_DISPUTE) or (
            contract.cancelled_at is not None
        ):
            raise Conflict(
                _("This contract has already ended or is being cancelled."), code="contract_ended"
            )
        if contract.is_monthly and role is Role.CLIENT:
            if contract.termination_effective_at is not None:
                raise Conflict(
                    _("Notice of termination has already been given."), code="termination_pending"
                )
            contract.termination_requested_at = now
            contract.termination_effective_at = now + dt.timedelta(
                days=settings.MONTHLY_TERMINATION_NOTICE_DAYS
            )
            contract.save(update_fields=["termination_requested_at", "termination_effective_at"])
            event_append(
                contract=contract,
                action="termination_notice",
                actor=actor,
                now=now,
                payload={"reason": reason, "effective_at": contract.termination_effective_at},
            )
            notices.termination_notice(contract=contract)
            return contract
        _contract_cancel_now(contract, role=role, actor=actor, reason=reason, now=now)
        return contract


def contract_termination_accept_early(*, worker: User, contract_id: int) -> Contract:
    """The worker agrees to end a monthly contract now instead of after the notice period."""
    with transaction.atomic():
        now = clock.now()
        contract = _contract_for_party(user=worker, contract_id=contract_id)
        if contract.worker_id != worker.pk:
            raise Forbidden(_("Only the worker can agree to this."), code="not_your_action")
        if contract.termination_effective_at is None or contract.cancelled_at is not None:
            raise Conflict(
                _("No notice of termination is waiting for your answer."),
                code="no_termination_pending",
            )
        contract.termination_effective_at = now
        contract.save(update_fields=["termination_effective_at"])
        _contract_cancel_now(
            contract, role=Role.CLIENT, actor=worker, reason="accepted early by the worker", now=now
        )
        return contract


def milestone_cancellation_accept(*, worker: User, milestone_id: int) -> Milestone:
    """The worker accepts the client's cancellation of started work: kill fee, rest refunded."""
    with transaction.atomic():
        now = clock.now()
        locked = lock(milestone_id=milestone_id, actor=worker)
        if locked.role is not Role.WORKER:
            raise Forbidden(_("This action is the other party's to take."), code="not_your_action")
        if locked.milestone.cancellation_requested_at is None:
            raise Conflict(
                _("No cancellation is waiting for your answer on this milestone."),
                code="no_cancellation_pending",
            )
        milestone = _cancel_with_kill_fee(locked, actor=worker, now=now)
        _contract_settle(locked.contract, actor=worker, now=now)
        return milestone


def contracts_terminate_due(*, batch: int = limits.SWEEP_BATCH_MAX) -> int:
    """Sweep: monthly contracts whose notice period has run out end now."""
    now = clock.now()
    due = list(
        Contract.objects.filter(
            termination_effective_at__lte=now,
            cancelled_at__isnull=True,
            state__in=(ContractState.ACTIVE, ContractState.IN_DISPUTE),
        )
        .order_by("termination_effective_at")
        .values_list("pk", flat=True)[:batch]
    )
    ended = 0
    for contract_id in due:
        with transaction.atomic():
            contract = (
                Contract.objects.select_for_update()
                .filter(
                    pk=contract_id,
                    cancelled_at__isnull=True,
                    state__in=(ContractState.ACTIVE, ContractState.IN_DISPUTE),
                )
                .first()
            )
            if contract is None:
                continue
            lock_client_stats(contract)
            _contract_cancel_now(
                contract, role=Role.CLIENT, actor=None, reason="notice period ended", now=now
            )
            ended += 1
    return ended


# --- monthly retainers --------------------------------------------------------------------------


def _month_after(day: dt.date) -> dt.date:
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    last = calendar.monthrange(year, month)[1]
    return dt.date(year, month, min(day.day, last))


def monthly_periods_open(*, batch: int = limits.SWEEP_BATCH_MAX) -> int:
    """Sweep: create next month's milestone of each retainer and ask for its escrow ahead."""
    now = clock.now()
    horizon = timezone.localdate(now) + dt.timedelta(days=settings.MONTHLY_FUNDING_LEAD_DAYS)
    due = list(
        Contract.objects.filter(
            next_period_starts_on__lte=horizon,
            cancelled_at__isnull=True,
            state=ContractState.ACTIVE,
        )
        .order_by("next_period_starts_on")
        .values_list("pk", flat=True)[:batch]
    )
    opened = 0
    for contract_id in due:
        with transaction.atomic():
            contract = (
                Contract.objects.select_for_update()
                .filter(
                    pk=contract_id,
                    next_period_starts_on__lte=horizon,
                    cancelled_at__isnull=True,
                    state=ContractState.ACTIVE,
                )
                .first()
            )
            if contract is None or contract.next_period_starts_on is None:
                continue
            starts = contract.next_period_starts_on
            ends = _month_after(starts) - dt.timedelta(days=1)
            if contract.termination_effective_at is not None and (
                timezone.make_aware(dt.datetime.combine(starts, dt.time.min))
                >= contract.termination_effective_at
            ):
                contract.next_period_starts_on = None
                contract.save(update_fields=["next_period_starts_on"])
                continue
            position = (contract.milestones.aggregate(p=Max("position"))["p"] or 0) + 1
            milestone = Milestone.objects.create(
                contract=contract,
                position=position,
                title=f"{starts:%Y-%m-%d}〜{ends:%Y-%m-%d}",
                kind=MilestoneKind.MONTHLY,
                amount_jpy=contract.period_amount_jpy or 0,
                due_on=ends,
                created_at=now,
                added_in_terms_version=contract.terms_version,
            )
            contract.next_period_starts_on = ends + dt.timedelta(days=1)
            contract.save(update_fields=["next_period_starts_on"])
            event_append(
                contract=contract,
                action="period_opened",
                actor=None,
                now=now,
                milestone=milestone,
                to_state=milestone.state,
                payload={"starts_on": starts, "ends_on": ends, "amount_jpy": milestone.amount_jpy},
            )
            _request_funding(
                Locked(contract=contract, milestone=milestone, role=Role.SYSTEM),
                actor=None,
                now=now,
            )
            opened += 1
    return opened


# --- change requests (変更依頼) -------------------------------------------------------------------


@dataclass(frozen=True)
class MilestoneEdit:
    id: int
    title: str | None = None
    amount_jpy: int | None = None
    due_on: dt.date | None = None


@dataclass(frozen=True)
class MilestoneAddition:
    title: str
    kind: str
    amount_jpy: int
    due_on: dt.date


# A price may move on these; escrow holds money on the funded ones, so only a cut is possible
# there (the difference is refunded), and added work comes as a new milestone funded first.
PRICE_FREE_STATES = frozenset({MilestoneState.DRAFT, MilestoneState.AWAITING_FUNDING})
PRICE_CUT_STATES = frozenset({MilestoneState.FUNDED, *STARTED})
# Months of a retainer are opened by the sweep, not by changes; this bounds a page's length.
CONTRACT_MILESTONES_MAX = limits.PROPOSAL_MILESTONES_MAX * 4
REMOVABLE_STATES = frozenset(
    {MilestoneState.DRAFT, MilestoneState.AWAITING_FUNDING, MilestoneState.FUNDED}
)


def _checked_amount(value: object, *, field: str) -> int:
    if type(value) is not int or not (
        limits.MILESTONE_AMOUNT_JPY_MIN <= value <= limits.MILESTONE_AMOUNT_JPY_MAX
    ):
        raise InvalidInput(
            _("An amount must be whole yen from %(min)s to %(max)s.")
            % {
                "min": f"{limits.MILESTONE_AMOUNT_JPY_MIN:,}",
                "max": f"{limits.MILESTONE_AMOUNT_JPY_MAX:,}",
            },
            field=field,
        )
    return value


def _change_effects(
    *,
    contract: Contract,
    edits: Sequence[MilestoneEdit],
    additions: Sequence[MilestoneAddition],
    removals: Sequence[int],
    today: dt.date,
) -> tuple[int, bool]:
    """Check a change against the milestones as they are now; (price delta, shortens a date)."""
    milestones = {m.pk: m for m in Milestone.objects.filter(contract=contract)}
    delta, shortens = 0, False
    seen: set[int] = set()
    for index, edit in enumerate(edits):
        field = f"milestones[{index}]"
        milestone = milestones.get(edit.id)
        if milestone is None or edit.id in seen or edit.id in removals:
            raise InvalidInput(
                _("Each milestone can be changed once, and only on this contract."), field=field
            )
        seen.add(edit.id)
        if milestone.state in MILESTONE_TERMINAL or milestone.state == MilestoneState.APPROVED:
            raise InvalidInput(
                _("“%(title)s” has ended and cannot be changed.") % {"title": milestone.title},
                field=field,
            )
        if edit.title is not None:
            clean_text(
                edit.title, field=f"{field}.title", length_max=limits.MILESTONE_TITLE_LENGTH_MAX
            )
        if edit.amount_jpy is not None:
            amount = _checked_amount(edit.amount_jpy, field=f"{field}.amount_jpy")
            if amount > milestone.amount_jpy and milestone.state not in PRICE_FREE_STATES:
                raise InvalidInput(
                    _(
                        "“%(title)s” is already in escrow. Add a new milestone for the added "
                        "work, so that it is funded before the work starts."
                    )
                    % {"title": milestone.title},
                    field=f"{field}.amount_jpy",
                )
            if milestone.state == MilestoneState.DISPUTED:
                raise InvalidInput(
                    _("A milestone in dispute is changed by the operator's ruling."),
                    field=f"{field}.amount_jpy",
                )
            delta += amount - milestone.amount_jpy
        if edit.due_on is not None:
            if edit.due_on < today:
                raise InvalidInput(_("A due date cannot be in the past."), field=f"{field}.due_on")
            shortens = shortens or edit.due_on < milestone.due_on
    for index, addition in enumerate(additions):
        field = f"add[{index}]"
        clean_text(
            addition.title, field=f"{field}.title", length_max=limits.MILESTONE_TITLE_LENGTH_MAX
        )
        if addition.kind not in MilestoneKind.values:
            raise InvalidInput(_("Choose a kind of milestone."), field=f"{field}.kind")
        delta += _checked_amount(addition.amount_jpy, field=f"{field}.amount_jpy")
        if addition.due_on < today:
            raise InvalidInput(_("A due date cannot be in the past."), field=f"{field}.due_on")
    for index, milestone_id in enumerate(removals):
        milestone = milestones.get(milestone_id)
        if milestone is None or removals.count(milestone_id) > 1:
            raise InvalidInput(
                _("Each milestone can be removed once, and only on this contract."),
                field=f"remove[{index}]",
            )
        if milestone.state not in REMOVABLE_STATES:
            raise InvalidInput(
                _("“%(title)s” has been started; cancel it or open a dispute instead.")
                % {"title": milestone.title},
                field=f"remove[{index}]",
            )
        delta -= milestone.amount_jpy
    remaining = len(milestones) - len(removals) + len(additions)
    if remaining <= 0:
        raise InvalidInput(_("A contract keeps at least one milestone."), field="remove")
    if len(milestones) + len(additions) > CONTRACT_MILESTONES_MAX:
        raise InvalidInput(
            _("A contract can have at most %(count)d milestones.")
            % {"count": CONTRACT_MILESTONES_MAX},
            field="add",
        )
    return delta, shortens


def change_propose(
    *,
    actor: User,
    contract_id: int,
    message: str,
    scope: str | None = None,
    edits: Sequence[MilestoneEdit] = (),
    additions: Sequence[MilestoneAddition] = (),
    removals: Sequence[int] = (),
    kill_fee_percent: int | None = None,
) -> ChangeRequest:
    """変更依頼: a change to scope, price, dates or milestones that the other party answers."""
    message = clean_text(
        message, field="message", multiline=True, length_max=limits.CHANGE_MESSAGE_LENGTH_MAX
    )
    if scope is not None:
        scope = clean_text(
            scope, field="scope", multiline=True, length_max=limits.JOB_DESCRIPTION_LENGTH_MAX
        )
    if kill_fee_percent is not None and (
        type(kill_fee_percent) is not int
        or not 0 <= kill_fee_percent <= settings.KILL_FEE_PERCENT_MAX
    ):
        raise InvalidInput(
            _("The kill fee must be 0 to %(max)d percent.")
            % {"max": settings.KILL_FEE_PERCENT_MAX},
            field="kill_fee_percent",
        )
    if len(edits) + len(additions) + len(removals) > limits.CHANGE_MILESTONES_MAX:
        raise InvalidInput(
            _("A change can touch at most %(count)d milestones.")
            % {"count": limits.CHANGE_MILESTONES_MAX},
            field="milestones",
        )
    if scope is None and kill_fee_percent is None and not (edits or additions or removals):
        raise InvalidInput(_("The change does not change anything."), field="milestones")
    with transaction.atomic():
        now = clock.now()
        contract = _contract_for_party(user=actor, contract_id=contract_id)
        if contract.state != ContractState.ACTIVE or contract.cancelled_at is not None:
            raise Conflict(_("Only an active contract can be changed."), code="contract_ended")
        if ChangeRequest.objects.filter(contract=contract, state=ChangeState.PROPOSED).exists():
            raise Conflict(
                _(
                    "A change is already waiting for an answer on this contract. "
                    "Answer or withdraw it first."
                ),
                code="change_pending",
            )
        delta, shortens = _change_effects(
            contract=contract,
            edits=edits,
            additions=additions,
            removals=list(removals),
            today=timezone.localdate(now),
        )
        change = ChangeRequest.objects.create(
            contract=contract,
            proposed_by=actor,
            message=message,
            changes={
                "scope": scope,
                "milestones": [
                    {
                        "id": e.id,
                        "title": e.title,
                        "amount_jpy": e.amount_jpy,
                        "due_on": e.due_on.isoformat() if e.due_on else None,
                    }
                    for e in edits
                ],
                "add": [
                    {
                        "title": a.title.strip(),
                        "kind": a.kind,
                        "amount_jpy": a.amount_jpy,
                        "due_on": a.due_on.isoformat(),
                    }
                    for a in additions
                ],
                "remove": list(removals),
                "kill_fee_percent": kill_fee_percent,
            },
            price_delta_jpy=delta,
            shortens_due_date=shortens,
            based_on_terms_version=contract.terms_version,
            created_at=now,
            expires_at=now + dt.timedelta(days=settings.CHANGE_ANSWER_DAYS),
        )
        event_append(
            contract=contract,
            action="change_proposed",
            actor=actor,
            now=now,
            payload={"change": change.pk, "price_delta_jpy": delta, "shortens_due_date": shortens},
        )
        notices.change_proposed(change=change)
        return change


def _change_for_party(*, user: User, change_id: int) -> tuple[ChangeRequest, Contract]:
    seen = ChangeRequest.objects.filter(pk=change_id).values_list("contract_id", flat=True).first()
    if seen is None:
        raise NotFound(_("No such change request."))
    contract = _contract_for_party(user=user, contract_id=seen)
    change = ChangeRequest.objects.select_for_update().get(pk=change_id)
    return change, contract


def _answerable(change: ChangeRequest, *, user: User, now: dt.datetime) -> None:
    if change.state != ChangeState.PROPOSED:
        raise Conflict(
            _("This change has already been answered or has expired."), code="change_closed"
        )
    if change.expires_at <= now:
        raise Conflict(_("This change request has expired."), code="change_expired")
    if change.proposed_by_id == user.pk:
        raise Forbidden(_("A change is accepted by the other party."), code="not_your_action")


def _edits_of(
    change: ChangeRequest,
) -> tuple[list[MilestoneEdit], list[MilestoneAddition], list[int]]:
    data = change.changes
    edits = [
        MilestoneEdit(
            id=e["id"],
            title=e["title"],
            amount_jpy=e["amount_jpy"],
            due_on=dt.date.fromisoformat(e["due_on"]) if e["due_on"] else None,
        )
        for e in data["milestones"]
    ]
    additions = [
        MilestoneAddition(
            title=a["title"],
            kind=a["kind"],
            amount_jpy=a["amount_jpy"],
            due_on=dt.date.fromisoformat(a["due_on"]),
        )
        for a in data["add"]
    ]
    return edits, additions, list(data["remove"])


def change_accept(*, actor: User, change_id: int) -> ChangeRequest:
    """The other party accepts: the change applies and becomes the next terms version."""
    with transaction.atomic():
        now = clock.now()
        change, contract = _change_for_party(user=actor, change_id=change_id)
        _answerable(change, user=actor, now=now)
        if contract.state != ContractState.ACTIVE or contract.cancelled_at is not None:
            raise Conflict(_("Only an active contract can be changed."), code="contract_ended")
        if change.based_on_terms_version != contract.terms_version:
            raise Conflict(
                _("The terms changed after this request was made; it no longer applies."),
                code="terms_changed",
            )
        edits, additions, removals = _edits_of(change)
        # Checked again under the locks: a milestone may have been funded or started since.
        _change_effects(
            contract=contract,
            edits=edits,
            additions=additions,
            removals=removals,
            today=timezone.localdate(now),
        )
        _change_apply(
            contract,
            change=change,
            edits=edits,
            additions=additions,
            removals=removals,
            actor=actor,
            now=now,
        )
        change.state = ChangeState.ACCEPTED
        change.answered_at = now
        change.resulting_terms_version = contract.terms_version
        change.save(update_fields=["state", "answered_at", "resulting_terms_version"])
        notices.change_answered(change=change)
        _contract_settle(contract, actor=actor, now=now)
        return change


def _change_apply(
    contract: Contract,
    *,
    change: ChangeRequest,
    edits: Sequence[MilestoneEdit],
    additions: Sequence[MilestoneAddition],
    removals: Sequence[int],
    actor: User,
    now: dt.datetime,
) -> None:
    role = _role_or_system(contract, actor)
    contract.terms_version += 1
    if change.changes.get("kill_fee_percent") is not None:
        contract.kill_fee_percent = change.changes["kill_fee_percent"]
    contract.save(update_fields=["terms_version", "kill_fee_percent"])
    for edit in edits:
        milestone = Milestone.objects.select_for_update().get(pk=edit.id)
        before = milestone.amount_jpy
        if edit.title is not None:
            milestone.title = edit.title.strip()
        if edit.due_on is not None:
            milestone.due_on = edit.due_on
        if edit.amount_jpy is not None and edit.amount_jpy != before:
            if before > edit.amount_jpy and milestone.state in PRICE_CUT_STATES:
                # The cut part of the escrow goes back to the client at once.
                ledger.escrow_refund(
                    client=contract.client,
                    escrow_reference=milestone.escrow_reference,
                    amount_jpy=before - edit.amount_jpy,
                    idempotency_key=_ledger_key(
                        milestone, f"refund:terms-v{contract.terms_version}"
                    ),
                )
            milestone.amount_jpy = edit.amount_jpy
        milestone.save()
        event_append(
            contract=contract,
            action="milestone_changed",
            actor=actor,
            now=now,
            milestone=milestone,
            from_state=milestone.state,
            to_state=milestone.state,
            payload={
                "change": change.pk,
                "amount_jpy_before": before,
                "amount_jpy": milestone.amount_jpy,
                "due_on": milestone.due_on,
                "title": milestone.title,
            },
        )
    for milestone_id in removals:
        milestone = Milestone.objects.select_for_update().get(pk=milestone_id)
        locked = Locked(contract=contract, milestone=milestone, role=role)
        if milestone.state == MilestoneState.FUNDED:
            _refund_unstarted(locked, actor=actor, now=now)
        else:
            clocks.clock_stop(milestone)
            transition(
                locked,
                action=Action.CANCEL_UNSTARTED,
                actor=actor,
                now=now,
                effect=lambda lk: {"change": change.pk},
            )
    position = contract.milestones.aggregate(p=Max("position"))["p"] or 0
    for addition in additions:
        position += 1
        milestone = Milestone.objects.create(
            contract=contract,
            position=position,
            title=addition.title.strip(),
            kind=addition.kind,
            amount_jpy=addition.amount_jpy,
            due_on=addition.due_on,
            created_at=now,
            added_in_terms_version=contract.terms_version,
        )
        event_append(
            contract=contract,
            action="milestone_added",
            actor=actor,
            now=now,
            milestone=milestone,
            to_state=milestone.state,
            payload={"change": change.pk, "amount_jpy": milestone.amount_jpy},
        )
    terms = terms_version_create(contract=contract, now=now, change=change)
    event_append(
        contract=contract,
        action="change_accepted",
        actor=actor,
        now=now,
        payload={
            "change": change.pk,
            "terms_version": terms.version,
            "terms_sha256": terms.snapshot_sha256,
        },
    )


def terms_version_create(
    *, contract: Contract, now: dt.datetime, change: ChangeRequest
) -> ContractTerms:
    """The next terms version: the previous one with the change applied (law.md L-14)."""
    previous = ContractTerms.objects.get(contract=contract, version=contract.terms_version - 1)
    snapshot = dict(previous.snapshot)
    if change.changes.get("scope"):
        snapshot["work_content"] = change.changes["scope"]
    inspection = dt.timedelta(days=contract.inspection_days)
    live = [
        m
        for m in Milestone.objects.filter(contract=contract).order_by("position")
        if m.state not in (MilestoneState.CANCELLED, MilestoneState.REFUNDED)
    ]
    snapshot.update(
        version=contract.terms_version,
        kill_fee_percent=contract.kill_fee_percent,
        milestones=[
            {
                "position": m.position,
                "title": m.title,
                "kind": m.kind,
                "amount_jpy": m.amount_jpy,
                "due_on": m.due_on.isoformat(),
                "inspection_complete_by": (m.due_on + inspection).isoformat(),
                "payment_due_on": (m.due_on + inspection).isoformat(),
            }
            for m in live
        ],
        total_jpy=sum(m.amount_jpy for m in live),
        change_request=change.pk,
        previous_sha256=previous.snapshot_sha256,
        agreed_on=timezone.localdate(now).isoformat(),
    )
    return ContractTerms.objects.create(
        contract=contract,
        version=contract.terms_version,
        snapshot=snapshot,
        snapshot_sha256=hashlib.sha256(canonical_json(snapshot)).hexdigest(),
        agreed_at=now,
    )


def change_decline(*, actor: User, change_id: int, note: str = "") -> ChangeRequest:
    note = clean_text(
        note, field="note", multiline=True, length_max=limits.REASON_LENGTH_MAX, required=False
    )
    with transaction.atomic():
        now = clock.now()
        change, contract = _change_for_party(user=actor, change_id=change_id)
        _answerable(change, user=actor, now=now)
        change.state, change.answered_at, change.answer_note = ChangeState.DECLINED, now, note
        change.save(update_fields=["state", "answered_at", "answer_note"])
        event_append(
            contract=contract,
            action="change_declined",
            actor=actor,
            now=now,
            payload={"change": change.pk, "note": note},
        )
        notices.change_answered(change=change)
        return change


def change_withdraw(*, actor: User, change_id: int) -> ChangeRequest:
    with transaction.atomic():
        now = clock.now()
        change, contract = _change_for_party(user=actor, change_id=change_id)
        if change.proposed_by_id != actor.pk:
            raise Forbidden(
                _("Only the party who proposed a change can withdraw it."), code="not_your_action"
            )
        if change.state != ChangeState.PROPOSED:
            raise Conflict(
                _("This change has already been answered or has expired."), code="change_closed"
            )
        change.state, change.answered_at = ChangeState.WITHDRAWN, now
        change.save(update_fields=["state", "answered_at"])
        event_append(
            contract=contract,
            action="change_withdrawn",
            actor=actor,
            now=now,
            payload={"change": change.pk},
        )
        return change


def changes_expire_due(*, batch: int = limits.SWEEP_BATCH_MAX) -> int:
    """Sweep: unanswered change requests lapse at their deadline; the terms stay as they were."""
    now = clock.now()
    due = list(
        ChangeRequest.objects.filter(state=ChangeState.PROPOSED, expires_at__lte=now)
        .order_by("expires_at")
        .values_list("pk", "contract_id")[:batch]
    )
    expired = 0
    for change_id, contract_id in due:
        with transaction.atomic():
            contract = Contract.objects.select_for_update().get(pk=contract_id)
            change = (
                ChangeRequest.objects.select_for_update()
                .filter(pk=change_id, state=ChangeState.PROPOSED)
                .first()
            )
            if change is None:
                continue
            change.state, change.answered_at = ChangeState.EXPIRED, now
            change.save(update_fields=["state", "answered_at"])
            event_append(
                contract=contract,
                action="change_expired",
                actor=None,
                now=now,
                payload={"change": change.pk},
            )
            notices.change_answered(change=change)
            expired += 1
    return expired
