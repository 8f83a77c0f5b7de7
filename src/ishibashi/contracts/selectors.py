"""Reads for contracts: only the two parties and operators ever see one."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import (
    Case,
    CharField,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    prefetch_related_objects,
)
from django.db.models.functions import Cast, Coalesce, Concat
from django.utils.translation import gettext_lazy as _

from ishibashi.accounts.models import User
from ishibashi.contracts import clocks
from ishibashi.contracts.models import (
    ChangeRequest,
    ChangeState,
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
    MILESTONE_HOLDS_ESCROW,
    MILESTONE_TRANSITIONS,
    Action,
    Role,
    role_of,
)
from ishibashi.core.errors import Forbidden, NotFound
from ishibashi.ledger.models import LedgerAccount
from ishibashi.ledger.selectors import BooksProblem


def contract_list_for_user(*, user: User) -> QuerySet[Contract]:
    return (
        Contract.objects.filter(Q(client=user) | Q(worker=user))
        .select_related("client", "worker")
        .order_by("-created_at", "-id")
    )


def contract_get_for_viewer(*, viewer: User, contract_id: int) -> Contract:
    contract = (
        Contract.objects.select_related("client", "worker")
        .prefetch_related("milestones")
        .filter(pk=contract_id)
        .first()
    )
    if contract is None or not (contract.is_party(viewer.pk) or viewer.is_staff):
        raise NotFound(_("No such contract."))
    return contract


def terms_current(*, contract: Contract) -> ContractTerms:
    return ContractTerms.objects.get(contract=contract, version=contract.terms_version)


def contract_events(*, contract: Contract) -> QuerySet[ContractEvent]:
    return (
        ContractEvent.objects.filter(contract=contract).select_related("actor").order_by("sequence")
    )


# --- what a viewer may do and see -----------------------------------------------------------


def milestone_get_for_viewer(*, viewer: User, milestone_id: int) -> Milestone:
    milestone = (
        Milestone.objects.select_related("contract__client", "contract__worker")
        .filter(pk=milestone_id)
        .first()
    )
    if milestone is None or not (milestone.contract.is_party(viewer.pk) or viewer.is_staff):
        raise NotFound(_("No such milestone."))
    return milestone


def milestone_actions(*, viewer: User, contract: Contract, milestone: Milestone) -> list[str]:
    """The actions this viewer may take on this milestone now; pages show these as buttons.

    Derived from the same transition table the services check, plus each use case's own
    conditions, so a button is never shown for a refusal.
    """
    role = role_of(contract, viewer)
    if role is None or contract.state not in (ContractState.ACTIVE, ContractState.IN_DISPUTE):
        return []
    actions: list[str] = []
    for action in (
        Action.REQUEST_FUNDING,
        Action.FUND,
        Action.START,
        Action.DELIVER,
        Action.APPROVE,
        Action.REQUEST_REVISION,
        Action.DISPUTE,
        Action.RESOLVE,
    ):
        rule = MILESTONE_TRANSITIONS.get((MilestoneState(milestone.state), action))
        if rule is None or role not in rule.roles:
            continue
        if action == Action.REQUEST_REVISION and (
            milestone.revisions_used >= contract.revision_rounds
        ):
            continue
        if action == Action.REQUEST_FUNDING and contract.cancelled_at is not None:
            continue
        actions.append(action.value)
    if role is Role.WORKER and milestone.cancellation_requested_at is not None:
        actions.append("accept_cancellation")
    if (
        role is Role.OPERATOR
        and milestone.state == MilestoneState.DISPUTED
        and not (milestone.dispute_frozen)
    ):
        actions.append("freeze_dispute")
    return actions


def contract_actions(*, viewer: User, contract: Contract) -> list[str]:
    role = role_of(contract, viewer)
    if role not in (Role.CLIENT, Role.WORKER) or contract.state not in (
        ContractState.ACTIVE,
        ContractState.IN_DISPUTE,
    ):
        return []
    actions = ["message"]
    if contract.cancelled_at is None:
        if not (contract.is_monthly and role is Role.CLIENT and contract.termination_effective_at):
            actions.append("cancel")
        if contract.state == ContractState.ACTIVE:
            actions.append("propose_change")
    if role is Role.WORKER:
        if not ContractFlag.objects.filter(
            contract=contract, kind=FlagKind.ASKED_BEFORE_ESCROW
        ).exists():
            actions.append("flag")
        if contract.termination_effective_at is not None and contract.cancelled_at is None:
            actions.append("accept_early_termination")
    return actions


@dataclass(frozen=True)
class RunningClock:
    kind: str
    label: str
    deadline: dt.datetime
    # Whole days and hours left, for "検収期限まであと3日"; negative once passed.
    days_left: int
    hours_left: int
    # Who owes the answer: "client" or "worker".
    waiting_on: str


def milestone_clock(*, milestone: Milestone, now: dt.datetime) -> RunningClock | None:
    """The clock that is running on this milestone, or the legal payment deadline."""
    if milestone.clock and milestone.clock_deadline_at is not None:
        deadline, kind = milestone.clock_deadline_at, milestone.clock
        label = str(ClockKind(kind).label)
    elif clocks.legal_deadline_applies(milestone) and milestone.legal_release_due_at is not None:
        deadline, kind = milestone.legal_release_due_at, "legal_release"
        label = str(_("Payment deadline (Freelance Act)"))
    else:
        return None
    left = deadline - now
    waiting_on = "worker" if kind == ClockKind.CANCELLATION_ANSWER else "client"
    return RunningClock(
        kind=kind,
        label=label,
        deadline=deadline,
        days_left=left.days if left.total_seconds() >= 0 else -(-left).days,
        hours_left=int(left.total_seconds() // 3600),
        waiting_on=waiting_on,
    )


def _deliveries_newest_first() -> QuerySet[Delivery]:
    return Delivery.objects.prefetch_related("files").order_by("-version")


def deliveries_prefetch(*, milestones: list[Milestone]) -> None:
    """Read the deliveries and files of every delivered milestone at once: two queries for a
    page that lists them all, after which deliveries_for_milestone answers from memory."""
    delivered = [m for m in milestones if m.first_delivered_at is not None]
    prefetch_related_objects(delivered, Prefetch("deliveries", queryset=_deliveries_newest_first()))


def deliveries_for_milestone(*, milestone: Milestone) -> QuerySet[Delivery]:
    """The milestone's deliveries, newest version first, each with its files."""
    if "deliveries" in getattr(milestone, "_prefetched_objects_cache", {}):
        return milestone.deliveries.all()
    return _deliveries_newest_first().filter(milestone=milestone)


# Once paid, the client may take the full files; before that, only previews.
FULL_FILES_OPEN_STATES = frozenset({MilestoneState.APPROVED, MilestoneState.RELEASED})


def file_is_downloadable(
    *, viewer: User, contract: Contract, milestone: Milestone, file: DeliveryFile
) -> bool:
    """Deliverable lock: the client gets full files only after approval or auto-approval."""
    if viewer.pk == contract.worker_id or (viewer.is_staff and not contract.is_party(viewer.pk)):
        return True
    if viewer.pk != contract.client_id:
        return False
    if file.visibility == FileVisibility.PREVIEW or milestone.state in FULL_FILES_OPEN_STATES:
        return True
    # After a ruling, the client takes the work only if the worker was paid for it.
    return (
        milestone.state == MilestoneState.RESOLVED
        and ContractEvent.objects.filter(
            milestone=milestone, action=Action.RESOLVE.value, payload__worker_amount_jpy__gt=0
        ).exists()
    )


def delivery_file_for_download(*, viewer: User, file_id: int) -> DeliveryFile:
    file = (
        DeliveryFile.objects.select_related(
            "delivery__milestone__contract__client", "delivery__milestone__contract__worker"
        )
        .filter(pk=file_id)
        .first()
    )
    if file is None:
        raise NotFound(_("No such file."))
    milestone = file.delivery.milestone
    contract = milestone.contract
    if not (contract.is_party(viewer.pk) or viewer.is_staff):
        raise NotFound(_("No such file."))
    if not file_is_downloadable(viewer=viewer, contract=contract, milestone=milestone, file=file):
        raise Forbidden(
            _(
                "The full files can be downloaded once you approve the delivery (or it is "
                "approved automatically). The preview is available now."
            ),
            code="deliverable_locked",
        )
    return file


def changes_for_contract(*, contract: Contract) -> QuerySet[ChangeRequest]:
    return (
        ChangeRequest.objects.filter(contract=contract)
        .select_related("proposed_by")
        .order_by("-created_at", "-id")
    )


def messages_for_contract(*, contract: Contract) -> QuerySet[ContractMessage]:
    return ContractMessage.objects.filter(contract=contract).select_related("author").order_by("id")


def terms_versions(*, contract: Contract) -> QuerySet[ContractTerms]:
    return ContractTerms.objects.filter(contract=contract).order_by("-version")


def terms_all(*, contract: Contract) -> list[ContractTerms]:
    """Every version, newest first, read once per contract object: the current terms and the
    list of versions that a page or an API answer both show come from one query."""
    cached: list[ContractTerms] | None = getattr(contract, "_terms_all", None)
    if cached is None:
        cached = list(terms_versions(contract=contract))
        contract._terms_all = cached  # type: ignore[attr-defined]
    return cached


def terms_current_of(versions: list[ContractTerms], *, contract: Contract) -> ContractTerms:
    """The version in force, from terms_all()'s list (a query only if it is not there)."""
    for version in versions:
        if version.version == contract.terms_version:
            return version
    return terms_current(contract=contract)


def escrow_problems(limit: int = 20) -> list[BooksProblem]:
    """Each milestone's escrow holds exactly its amount while funded and unpaid, else nothing.

    One pass over the milestones with an index lookup of each escrow account; part of
    `ishibashi check-books`.
    """
    balance = LedgerAccount.objects.filter(
        key=Concat(Value("escrow:milestone:"), Cast(OuterRef("pk"), output_field=CharField()))
    ).values("balance_jpy")[:1]
    rows = (
        Milestone.objects.annotate(
            escrow=Coalesce(Subquery(balance), Value(0)),
            expected=Case(
                When(state__in=list(MILESTONE_HOLDS_ESCROW), then=F("amount_jpy")),
                default=Value(0),
            ),
        )
        .exclude(escrow=F("expected"))
        .values("pk", "state", "amount_jpy", "escrow")
        .order_by("pk")[:limit]
    )
    return [
        BooksProblem(
            "escrow_matches_milestone",
            f"milestone {row['pk']} ({row['state']}, ¥{row['amount_jpy']}): "
            f"escrow holds ¥{row['escrow']}",
        )
        for row in rows
    ]


def change_actions(
    *, viewer: User, contract: Contract, change: ChangeRequest, now: dt.datetime
) -> list[str]:
    """What this viewer may do with a change request now; pages show these as buttons.

    The same conditions as change_accept, change_decline and change_withdraw check first, so
    a button is never shown for a refusal (a milestone started since the proposal can still
    make an acceptance refused, with the reason).
    """
    if not contract.is_party(viewer.pk) or change.state != ChangeState.PROPOSED:
        return []
    if change.proposed_by_id == viewer.pk:
        return ["withdraw"]
    if change.expires_at <= now:
        return []
    actions = []
    if (
        contract.state == ContractState.ACTIVE
        and contract.cancelled_at is None
        and change.based_on_terms_version == contract.terms_version
    ):
        actions.append("accept")
    actions.append("decline")
    return actions
