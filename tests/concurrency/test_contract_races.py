"""Contract races: a person and the sweeper (or two people) acting on one milestone at once.

Each thread runs a real use case on its own connection. Whatever the order the database picks,
exactly one outcome wins, the money moves once (one transfer of a kind per escrow), the books
hold, every escrow matches its milestone and the event chain verifies.

On PostgreSQL the writers queue on the contract's row lock; SQLite runs them one at a time.
Both must give one of the allowed outcomes, so these run on both, like the other race tests.
"""

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction

from ishibashi.contracts import selectors
from ishibashi.contracts import services as cs
from ishibashi.contracts.models import (
    ChangeState,
    ClientContractStats,
    ContractEvent,
    Delivery,
    DeliveryFile,
    Milestone,
    MilestoneState,
)
from ishibashi.contracts.services import DeliveryUpload, MilestoneEdit, settlement
from ishibashi.contracts.tests.factories import deposit, hire
from ishibashi.ledger import services as ledger_services
from ishibashi.ledger.models import LedgerAccount, Transfer
from ishibashi.ledger.selectors import books_check
from tests.concurrency.racing import race

pytestmark = pytest.mark.django_db(transaction=True)

NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
ROUNDS = 3
S = MilestoneState


@pytest.fixture(autouse=True)
def _fixed_now(time_machine, settings, tmp_path):
    time_machine.move_to(NOW, tick=False)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def hanako(make_user):
    user = make_user(email="hanako@example.jp", is_worker=False, entity_type="corporation")
    with transaction.atomic():
        deposit(user, 2_000_000)
    return user


@pytest.fixture
def taro(make_user):
    return make_user(email="taro@example.jp", is_client=False)


def _fresh(milestone):
    return Milestone.objects.get(pk=milestone.pk)


def _first(contract):
    return Milestone.objects.filter(contract=contract).order_by("position").first()


def _escrow(milestone):
    account = LedgerAccount.objects.filter(key=f"escrow:{milestone.escrow_reference}").first()
    return account.balance_jpy if account else 0


def _moved(milestone, reason):
    return Transfer.objects.filter(reference=milestone.escrow_reference, reason=reason).count()


def _events(contract, *actions):
    return ContractEvent.objects.filter(contract=contract, action__in=actions).count()


def _files():
    return [DeliveryUpload(file=SimpleUploadedFile("site.zip", b"PK site"), visibility="full")]


def _delivered(contract, hanako, taro):
    milestone = _first(contract)
    cs.milestone_fund(client=hanako, milestone_id=milestone.pk)
    cs.milestone_start(worker=taro, milestone_id=milestone.pk)
    return cs.delivery_create(
        worker=taro, milestone_id=milestone.pk, message="納品します", uploads=_files()
    )


def _books_hold(*contracts):
    assert books_check() == []
    assert selectors.escrow_problems() == []
    for contract in contracts:
        assert cs.events_verify(contract=contract) is None


def test_a_client_approving_at_the_deadline_and_the_sweeper_release_once(
    hanako, taro, time_machine
):
    sweeper_won = 0
    for _round in range(ROUNDS):
        time_machine.move_to(NOW, tick=False)
        contract = hire(hanako, taro)
        delivery = _delivered(contract, hanako, taro)
        time_machine.move_to(NOW + dt.timedelta(days=7), tick=False)

        def act(n, delivery=delivery):
            if n == 0:
                return cs.delivery_approve(client=hanako, delivery_id=delivery.pk).state
            return cs.milestones_sweep_due()

        outcomes = race(2, act)

        milestone = _fresh(delivery.milestone)
        assert milestone.state == S.RELEASED
        assert _moved(milestone, "escrow_release") == 1
        approvals = _events(contract, "approve"), _events(contract, "auto_approve")
        assert sorted(approvals) == [0, 1]
        client_won = approvals == (1, 0)
        if client_won:
            assert outcomes[0] == ("ok", S.RELEASED)
        else:
            assert outcomes[0][0] == "refused"
            assert outcomes[0][1].code == "milestone_state"
            sweeper_won += 1
        assert _events(contract, "release") == 1
        _books_hold(contract)
    stats = ClientContractStats.objects.get(client=hanako)
    assert (stats.inspections, stats.auto_approvals) == (ROUNDS, sweeper_won)


def test_many_sweepers_at_once_approve_each_milestone_once(hanako, taro, time_machine):
    contracts = [hire(hanako, taro) for _ in range(3)]
    deliveries = [_delivered(contract, hanako, taro) for contract in contracts]
    time_machine.move_to(NOW + dt.timedelta(days=7), tick=False)

    outcomes = race(4, lambda n: cs.milestones_sweep_due())

    assert sum(value for _kind, value in outcomes) == 3
    for contract, delivery in zip(contracts, deliveries, strict=True):
        milestone = _fresh(delivery.milestone)
        assert milestone.state == S.RELEASED
        assert _moved(milestone, "escrow_release") == 1
        assert _events(contract, "auto_approve") == 1
    assert ClientContractStats.objects.get(client=hanako).auto_approvals == 3
    _books_hold(*contracts)


def test_a_milestone_funded_twice_at_once_is_funded_once(hanako, taro):
    for _round in range(ROUNDS):
        contract = hire(hanako, taro)
        milestone = _first(contract)
        wallet_before = LedgerAccount.objects.get(key=f"wallet:user:{hanako.pk}").balance_jpy

        outcomes = race(
            4, lambda n, m=milestone: cs.milestone_fund(client=hanako, milestone_id=m.pk).state
        )

        assert [kind for kind, _value in outcomes].count("ok") == 1
        assert {value.code for kind, value in outcomes if kind == "refused"} == {
            "milestone_not_fundable"
        }
        assert _fresh(milestone).state == S.FUNDED
        assert _moved(milestone, "escrow_fund") == 1
        assert _escrow(milestone) == 60_000
        wallet_after = LedgerAccount.objects.get(key=f"wallet:user:{hanako.pk}").balance_jpy
        assert wallet_before - wallet_after == 60_000
        assert _events(contract, "fund") == 1
        _books_hold(contract)


def test_a_revision_request_at_the_deadline_and_the_automatic_approval_one_wins(
    hanako, taro, time_machine
):
    seen = set()
    for _round in range(ROUNDS):
        time_machine.move_to(NOW, tick=False)
        contract = hire(hanako, taro)
        delivery = _delivered(contract, hanako, taro)
        time_machine.move_to(NOW + dt.timedelta(days=7), tick=False)

        def act(n, delivery=delivery):
            if n == 0:
                return cs.delivery_request_revision(
                    client=hanako, delivery_id=delivery.pk, reason="表示が崩れています"
                ).state
            return cs.milestones_sweep_due()

        outcomes = race(2, act)

        milestone = _fresh(delivery.milestone)
        seen.add(milestone.state)
        if milestone.state == S.REVISION_REQUESTED:
            assert outcomes[0] == ("ok", S.REVISION_REQUESTED)
            assert _moved(milestone, "escrow_release") == 0
            assert _escrow(milestone) == 60_000
            assert _events(contract, "auto_approve") == 0
            assert milestone.revisions_used == 1
        else:
            assert milestone.state == S.RELEASED
            assert outcomes[0][0] == "refused"
            assert _moved(milestone, "escrow_release") == 1
            assert _events(contract, "request_revision") == 0
        _books_hold(contract)
    assert seen <= {S.REVISION_REQUESTED, S.RELEASED}


@pytest.mark.parametrize("change", ["raise_price", "remove"])
def test_accepting_a_change_while_the_milestone_is_funded_keeps_escrow_equal_to_the_price(
    hanako, taro, change
):
    for _round in range(ROUNDS):
        contract = hire(hanako, taro)
        milestone = _first(contract)
        if change == "raise_price":
            request = cs.change_propose(
                actor=taro, contract_id=contract.pk, message="工数増のため",
                edits=[MilestoneEdit(id=milestone.pk, amount_jpy=70_000)],
            )  # fmt: skip
        else:
            request = cs.change_propose(
                actor=taro, contract_id=contract.pk, message="実作業は不要",
                removals=[milestone.pk],
            )  # fmt: skip

        def act(n, request=request, milestone=milestone):
            if n == 0:
                return cs.change_accept(actor=hanako, change_id=request.pk).state
            return cs.milestone_fund(client=hanako, milestone_id=milestone.pk).state

        outcomes = race(2, act)

        request.refresh_from_db()
        milestone = _fresh(milestone)
        accepted = request.state == ChangeState.ACCEPTED
        funded = outcomes[1][0] == "ok"
        assert accepted or funded
        if change == "raise_price":
            if accepted:
                assert milestone.amount_jpy == 70_000
            else:
                # Funded first: a raise on money in escrow must come as a new milestone.
                assert outcomes[0][1].field == "milestones[0].amount_jpy"
                assert milestone.amount_jpy == 60_000
            if funded:
                assert _escrow(milestone) == milestone.amount_jpy
        elif accepted and funded:
            assert milestone.state == S.REFUNDED  # funded, then removed: the money went back
            assert _moved(milestone, "escrow_refund") == 1
        elif accepted:
            assert milestone.state == S.CANCELLED
            assert _moved(milestone, "escrow_fund") == 0
        assert _moved(milestone, "escrow_fund") == (1 if funded else 0)
        _books_hold(contract)


@pytest.mark.parametrize("started", [True, False])
def test_a_client_cancelling_while_the_worker_delivers_ends_one_way(hanako, taro, started):
    for _round in range(ROUNDS):
        contract = hire(
            hanako, taro, kill_fee_percent=30,
            split=(("深夜待機", "standby", 30_000), ("実作業", "main_work", 60_000)),
        )  # fmt: skip
        milestone = _first(contract)
        cs.milestone_fund(client=hanako, milestone_id=milestone.pk)
        if started:
            cs.milestone_start(worker=taro, milestone_id=milestone.pk)

        def act(n, milestone=milestone, contract=contract):
            if n == 0:
                cs.contract_cancel(actor=hanako, contract_id=contract.pk, reason="不要になった")
                return "cancelled"
            return cs.delivery_create(
                worker=taro, milestone_id=milestone.pk, message="待機しました", uploads=_files()
            ).pk

        outcomes = race(2, act)

        milestone = _fresh(milestone)
        assert outcomes[0] == ("ok", "cancelled")
        delivered = outcomes[1][0] == "ok"
        if delivered:
            # Delivered work is left to its inspection, whichever came first.
            assert milestone.state == S.DELIVERED
            assert _escrow(milestone) == 30_000
            assert milestone.cancellation_requested_at is None
        elif not started:
            assert milestone.state == S.REFUNDED
            assert _moved(milestone, "escrow_refund") == 1
            assert outcomes[1][1].code == "milestone_state"
        else:
            pytest.fail("started work can always be delivered after a client's cancellation")
        assert Delivery.objects.filter(milestone=milestone).count() == (1 if delivered else 0)
        assert DeliveryFile.objects.filter(delivery__milestone=milestone).count() == (
            1 if delivered else 0
        )
        assert _moved(milestone, "escrow_release") == 0
        _books_hold(contract)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no row locks to order")
def test_an_approval_and_a_dispute_ruling_for_one_client_at_once_do_not_deadlock(
    hanako, taro, make_user, monkeypatch
):
    """Two contracts of one client: one approval, one ruling that completes the other contract.

    The approval bumps the client's stats row and then locks the platform-fee account; the
    ruling locks the fee account (its split) and then bumps the stats row as the contract
    completes. The hooks below only hold each thread at the point between its two locks until
    the other got its first, which is what heavy traffic does by chance.
    """
    operator = make_user(email="ops@example.jp")
    operator.is_staff = True
    operator.save(update_fields=["is_staff"])
    split = (("実作業", "main_work", 60_000),)
    # An earlier payment: the fee and earnings accounts exist, as they do on a live platform.
    earlier = _delivered(hire(hanako, taro, split=split), hanako, taro)
    cs.delivery_approve(client=hanako, delivery_id=earlier.pk)
    approving = _delivered(hire(hanako, taro, split=split), hanako, taro)
    disputed = _delivered(hire(hanako, taro, split=split), hanako, taro)
    cs.milestone_dispute(actor=taro, milestone_id=disputed.milestone_id, reason="検収されない")
    stats_held, fees_held = threading.Event(), threading.Event()
    approver = {}
    real_bump, real_split = settlement.stats_bump, ledger_services.escrow_split

    def bump(client_id, **deltas):
        real_bump(client_id, **deltas)
        if threading.get_ident() == approver.get("thread") and not stats_held.is_set():
            stats_held.set()
            fees_held.wait(timeout=3)

    def escrow_split(**arguments):
        stats_held.wait(timeout=3)
        transfer = real_split(**arguments)
        fees_held.set()
        return transfer

    monkeypatch.setattr(settlement, "stats_bump", bump)
    monkeypatch.setattr(ledger_services, "escrow_split", escrow_split)

    def act(n):
        if n == 0:
            approver["thread"] = threading.get_ident()
            return cs.delivery_approve(client=hanako, delivery_id=approving.pk).state
        return cs.milestone_dispute_resolve(
            operator=operator, milestone_id=disputed.milestone_id, worker_amount_jpy=30_000,
            note="半額",
        ).state  # fmt: skip

    outcomes = race(2, act)

    assert outcomes == [("ok", S.RELEASED), ("ok", S.RESOLVED)]
    assert ClientContractStats.objects.get(client=hanako).contracts_completed == 3
    assert connection.vendor == "postgresql"
    _books_hold()
