"""Inspection (検収): the client approves, or asks for a revision within the rounds."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from ishibashi.accounts.models import User
from ishibashi.contracts import clocks, notices
from ishibashi.contracts.models import (
    Delivery,
    Milestone,
)
from ishibashi.contracts.services.settlement import approve_and_release, latest_delivery
from ishibashi.contracts.states import (
    Action,
    Locked,
    check,
    lock,
    transition,
)
from ishibashi.core import clock, limits
from ishibashi.core.errors import Conflict, NotFound
from ishibashi.core.text import clean_text
from ishibashi.notifications.notices import notices_batched


def _delivery_for_client(*, client: User, delivery_id: int) -> Delivery:
    delivery = Delivery.objects.select_related("milestone__contract").filter(pk=delivery_id).first()
    if delivery is None or not delivery.milestone.contract.is_party(client.pk):
        raise NotFound(_("No such delivery."))
    return delivery


def _check_latest(delivery: Delivery, milestone: Milestone) -> None:
    latest = latest_delivery(milestone)
    if latest is None or latest.pk != delivery.pk:
        raise Conflict(
            _("A newer version of this delivery exists. Inspect the latest one."),
            code="delivery_superseded",
        )


def delivery_approve(*, client: User, delivery_id: int) -> Milestone:
    """検収: the client accepts the delivery; the escrow is released at once."""
    delivery = _delivery_for_client(client=client, delivery_id=delivery_id)
    with transaction.atomic(), notices_batched():
        now = clock.now()
        locked = lock(milestone_id=delivery.milestone_id, actor=client)
        check(
            contract=locked.contract,
            milestone=locked.milestone,
            action=Action.APPROVE,
            role=locked.role,
        )
        _check_latest(delivery, locked.milestone)
        return approve_and_release(
            locked, action=Action.APPROVE, actor=client, now=now, payload={"delivery": delivery.pk}
        )


def delivery_request_revision(*, client: User, delivery_id: int, reason: str) -> Milestone:
    """修正依頼: with a written reason, within the contract's revision rounds."""
    reason = clean_text(reason, field="reason", multiline=True, length_max=limits.REASON_LENGTH_MAX)
    delivery = _delivery_for_client(client=client, delivery_id=delivery_id)
    with transaction.atomic(), notices_batched():
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
