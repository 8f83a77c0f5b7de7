"""Reads for contracts: only the two parties and operators ever see one."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from ishibashi.accounts.models import User
from ishibashi.contracts.models import Contract, ContractEvent, ContractTerms
from ishibashi.core.errors import NotFound


def contract_list_for_user(*, user: User) -> QuerySet[Contract]:
    return (
        Contract.objects.filter(Q(client=user) | Q(worker=user))
        .select_related("client", "worker")
        .order_by("-created_at", "-id")
    )


def contract_get_for_viewer(*, viewer: User, contract_id: int) -> Contract:
    contract = (
        Contract.objects.select_related("client", "worker", "job")
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
