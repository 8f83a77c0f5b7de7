"""Escrow (仮払い): fund, release (one or many), refund, and the kill-fee split."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from ishibashi.accounts.models import User
from ishibashi.ledger import rules
from ishibashi.ledger.errors import (
    LedgerErrorCode,
)
from ishibashi.ledger.models import (
    AccountKind,
    LedgerAccount,
    Transfer,
    TransferReason,
)
from ishibashi.ledger.services.accounts import (
    account_get_or_create,
    account_ids_by_key,
    ledger_account_key,
)
from ishibashi.ledger.services.batch import TransferRequest, transfers_create
from ishibashi.ledger.services.transfer import (
    Leg,
    ledger_refusal,
    positive_amount,
    transfer_between,
    transfer_create,
)


def escrow_fund(
    *, client: User, escrow_reference: str, amount_jpy: int, idempotency_key: str
) -> Transfer:
    """仮払い: move money from the client's wallet into the escrow account of one milestone."""
    amount_jpy = positive_amount(amount_jpy)
    wallet = account_get_or_create(kind=AccountKind.WALLET, owner=client)
    escrow = account_get_or_create(
        kind=AccountKind.ESCROW, owner=client, reference=escrow_reference
    )
    return transfer_between(
        source=wallet,
        target=escrow,
        amount_jpy=amount_jpy,
        reason=TransferReason.ESCROW_FUND,
        idempotency_key=idempotency_key,
        reference=escrow_reference,
    )


def _escrow_account(*, client: User, escrow_reference: str) -> LedgerAccount:
    return account_get_or_create(kind=AccountKind.ESCROW, owner=client, reference=escrow_reference)


def _release_legs(
    *,
    escrow: LedgerAccount,
    client: User,
    worker: User,
    gross_jpy: int,
    fee_rate_bps: int,
    withholding_applies: bool,
) -> list[Leg]:
    split = rules.release_split(
        gross_jpy=gross_jpy, fee_rate_bps=fee_rate_bps, withholding_applies=withholding_applies
    )
    legs = [Leg(escrow.pk, -gross_jpy)]
    if split.net_jpy:
        legs.append(
            Leg(account_get_or_create(kind=AccountKind.EARNINGS, owner=worker).pk, split.net_jpy)
        )
    if split.fee_jpy:
        legs.append(Leg(account_get_or_create(kind=AccountKind.PLATFORM_FEES).pk, split.fee_jpy))
    if split.withholding_jpy:
        payable = account_get_or_create(kind=AccountKind.WITHHOLDING_PAYABLE, owner=client)
        legs.append(Leg(payable.pk, split.withholding_jpy))
    return legs


def escrow_release(
    *,
    client: User,
    worker: User,
    escrow_reference: str,
    amount_jpy: int,
    fee_rate_bps: int,
    withholding_applies: bool,
    idempotency_key: str,
) -> Transfer:
    """支払い: escrow to the worker's earnings, less the platform fee and any withholding tax."""
    amount_jpy = positive_amount(amount_jpy)
    escrow = _escrow_account(client=client, escrow_reference=escrow_reference)
    return transfer_create(
        idempotency_key=idempotency_key,
        reason=TransferReason.ESCROW_RELEASE,
        reference=escrow_reference,
        legs=_release_legs(
            escrow=escrow,
            client=client,
            worker=worker,
            gross_jpy=amount_jpy,
            fee_rate_bps=fee_rate_bps,
            withholding_applies=withholding_applies,
        ),
    )


@dataclass(frozen=True)
class EscrowRelease:
    """One release of a batch for escrow_release_many: the arguments of escrow_release."""

    client: User
    worker: User
    escrow_reference: str
    amount_jpy: int
    fee_rate_bps: int
    withholding_applies: bool
    idempotency_key: str


def escrow_release_many(releases: Sequence[EscrowRelease]) -> list[Transfer]:
    """escrow_release for many escrows in one go (the sweeper's batch): the same legs, keys and
    refusals, the accounts read in one query and the transfers made by transfers_create."""
    wanted: dict[str, tuple[AccountKind, User | None, str]] = {}

    def key(kind: AccountKind, owner: User | None, reference: str = "") -> str:
        account_key = ledger_account_key(kind, owner=owner, reference=reference)
        wanted[account_key] = (kind, owner, reference)
        return account_key

    planned = []
    for release in releases:
        amount = positive_amount(release.amount_jpy)
        split = rules.release_split(
            gross_jpy=amount, fee_rate_bps=release.fee_rate_bps,
            withholding_applies=release.withholding_applies,
        )  # fmt: skip
        legs = [(key(AccountKind.ESCROW, release.client, release.escrow_reference), -amount)]
        if split.net_jpy:
            legs.append((key(AccountKind.EARNINGS, release.worker), split.net_jpy))
        if split.fee_jpy:
            legs.append((key(AccountKind.PLATFORM_FEES, None), split.fee_jpy))
        if split.withholding_jpy:
            legs.append(
                (key(AccountKind.WITHHOLDING_PAYABLE, release.client), split.withholding_jpy)
            )
        planned.append((release, legs))
    ids = account_ids_by_key(wanted)
    return transfers_create(
        [
            TransferRequest(
                idempotency_key=release.idempotency_key,
                reason=TransferReason.ESCROW_RELEASE,
                reference=release.escrow_reference,
                legs=[Leg(ids[account_key], amount) for account_key, amount in legs],
            )
            for release, legs in planned
        ]
    )


def escrow_refund(
    *, client: User, escrow_reference: str, amount_jpy: int, idempotency_key: str
) -> Transfer:
    """返金: escrow back to the client's wallet."""
    amount_jpy = positive_amount(amount_jpy)
    escrow = _escrow_account(client=client, escrow_reference=escrow_reference)
    wallet = account_get_or_create(kind=AccountKind.WALLET, owner=client)
    return transfer_between(
        source=escrow,
        target=wallet,
        amount_jpy=amount_jpy,
        reason=TransferReason.ESCROW_REFUND,
        idempotency_key=idempotency_key,
        reference=escrow_reference,
    )


def escrow_split(
    *,
    client: User,
    worker: User,
    escrow_reference: str,
    worker_amount_jpy: int,
    client_amount_jpy: int,
    fee_rate_bps: int,
    withholding_applies: bool,
    idempotency_key: str,
) -> Transfer:
    """One transfer that pays the worker part (fee and withholding applied) and refunds the rest.

    Used by dispute rulings and kill fees; either part may be zero, not both.
    """
    for field, value in (
        ("worker_amount_jpy", worker_amount_jpy),
        ("client_amount_jpy", client_amount_jpy),
    ):
        if type(value) is not int:
            raise ledger_refusal(
                LedgerErrorCode.AMOUNT_MUST_BE_INTEGER, _("Amounts are whole yen."), field
            )
        if value < 0:
            raise ledger_refusal(
                LedgerErrorCode.AMOUNT_MUST_BE_POSITIVE, _("An amount cannot be negative."), field
            )
    total = positive_amount(worker_amount_jpy + client_amount_jpy)
    escrow = _escrow_account(client=client, escrow_reference=escrow_reference)
    legs = [Leg(escrow.pk, -total)]
    if worker_amount_jpy:
        worker_legs = _release_legs(
            escrow=escrow,
            client=client,
            worker=worker,
            gross_jpy=worker_amount_jpy,
            fee_rate_bps=fee_rate_bps,
            withholding_applies=withholding_applies,
        )
        legs.extend(worker_legs[1:])
    if client_amount_jpy:
        wallet = account_get_or_create(kind=AccountKind.WALLET, owner=client)
        legs.append(Leg(wallet.pk, client_amount_jpy))
    return transfer_create(
        idempotency_key=idempotency_key,
        reason=TransferReason.ESCROW_SPLIT,
        reference=escrow_reference,
        legs=legs,
    )
