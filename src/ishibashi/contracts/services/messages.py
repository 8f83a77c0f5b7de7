"""The contract thread and the worker's flags (a worker's message starts the reply clock)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from ishibashi.accounts.models import User
from ishibashi.accounts.selectors import check_new_account_rate
from ishibashi.contracts import clocks, notices, timing
from ishibashi.contracts.events import event_append
from ishibashi.contracts.models import (
    ClockKind,
    Contract,
    ContractFlag,
    ContractMessage,
    ContractState,
    FlagKind,
    Milestone,
    MilestoneState,
)
from ishibashi.contracts.services.settlement import contract_for_party, stats_bump
from ishibashi.core import clock, limits
from ishibashi.core.errors import Conflict, Forbidden, InvalidInput
from ishibashi.core.text import clean_text
from ishibashi.guards import detect
from ishibashi.notifications.notices import notices_batched


def contract_flag(
    *, worker: User, contract_id: int, kind: str, note: str = "", message_id: int | None = None
) -> ContractFlag:
    """The worker reports that the client asked for work before escrow; counted on the profile.

    `message_id` names the client's message in the thread the report was made from (the caution
    banner's one-click button); once per contract, whichever way it is made.
    """
    note = clean_text(
        note, field="note", multiline=True, length_max=limits.REASON_LENGTH_MAX, required=False
    )
    if kind not in FlagKind.values:
        raise InvalidInput(_("Unknown kind of report."), field="kind")
    with transaction.atomic(), notices_batched():
        now = clock.now()
        contract = contract_for_party(user=worker, contract_id=contract_id)
        if contract.worker_id != worker.pk:
            raise Forbidden(_("Only the worker can report this."), code="not_your_action")
        if ContractFlag.objects.filter(contract=contract, kind=kind).exists():
            raise Conflict(
                _("You have already reported this on this contract."), code="already_flagged"
            )
        message = None
        if message_id is not None:
            message = ContractMessage.objects.filter(
                pk=message_id, contract=contract, author_id=contract.client_id
            ).first()
            if message is None:
                raise InvalidInput(
                    _("No such message from the client in this contract's thread."),
                    field="message_id",
                )
        flag = ContractFlag.objects.create(
            contract=contract,
            kind=kind,
            reported_by=worker,
            note=note,
            message=message,
            created_at=now,
        )
        stats_bump(contract.client_id, escrow_before_work_flags=1)
        payload: dict[str, object] = {"kind": kind, "note": note}
        if message is not None:
            payload["message_id"] = message.pk
        event_append(
            contract=contract,
            action="flagged",
            actor=worker,
            now=now,
            payload=payload,
        )
        return flag


def client_reply_wait(*, contract: Contract, now: dt.datetime) -> int | None:
    """Seconds since the worker's first message the client has not answered yet (None: none).

    The reply clock of the profile's median reply time: from a worker's message to the
    client's next message in the same thread. Two indexed reads of the thread's newest rows.
    """
    thread = ContractMessage.objects.filter(contract=contract)
    last_client = (
        thread.filter(author_id=contract.client_id)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )
    waiting_since = (
        thread.filter(author_id=contract.worker_id, id__gt=last_client or 0)
        .order_by("id")
        .values_list("created_at", flat=True)
        .first()
    )
    if waiting_since is None:
        return None
    return int((now - waiting_since).total_seconds())


def contract_message_post(*, author: User, contract_id: int, body: str) -> ContractMessage:
    """A message in the contract's thread.

    A worker's message while work is in progress starts the client's reply clock on that work
    (unless one runs already); the client's reply stops it. A new account sends a bounded
    number of messages an hour. The message guards' result is stored with it; a hit is never
    a refusal (product spec, "Messages and guards").
    """
    body = clean_text(
        body, field="body", multiline=True, length_max=limits.CONTRACT_MESSAGE_LENGTH_MAX
    )
    with transaction.atomic(), notices_batched():
        now = clock.now()
        contract = contract_for_party(user=author, contract_id=contract_id)
        if contract.state not in (ContractState.ACTIVE, ContractState.IN_DISPUTE):
            raise Conflict(_("This contract has ended."), code="contract_ended")
        check_new_account_rate(
            author,
            recent=ContractMessage.objects.filter(author=author),
            limit=limits.NEW_ACCOUNT_MESSAGES_PER_HOUR,
            kind="messages",
        )
        if author.pk == contract.client_id:
            waited = client_reply_wait(contract=contract, now=now)
            if waited is not None:
                stats_bump(contract.client_id, **timing.bump_for("reply", waited))
        # Checked, never refused or edited: the reader sees a caution on what was found.
        guard = detect(body)
        message = ContractMessage.objects.create(
            contract=contract,
            author=author,
            body=body,
            guard_categories=guard.categories,
            guard_version=guard.version,
            created_at=now,
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
