"""The ledger as a state machine: any sequence of use cases keeps the books and matches a model.

A Python model holds the balance every account should have. Each rule runs one use case in its
own transaction; one the model says would overdraw a person's account must be refused with
exceeds_balance and change nothing. After every step the books hold and the database agrees
with the model.
"""

import uuid

import pytest
from django.db import transaction
from django.test import override_settings
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from conftest import STRONG_PASSWORD
from ishibashi.accounts.services import user_signup
from ishibashi.ledger import rules as money_rules
from ishibashi.ledger import selectors, services
from ishibashi.ledger.errors import InsufficientFunds, LedgerErrorCode, LedgerInputError
from ishibashi.ledger.models import LedgerAccount, Transfer

GUARDED_PREFIXES = ("wallet:", "escrow:", "earnings:", "payout_pending:")
SHARED_KEYS = ("provider_clearing", "platform_fees")

people = st.integers(min_value=0, max_value=1)
escrows = st.integers(min_value=0, max_value=1)
amounts = st.integers(min_value=1, max_value=30_000)
parts = st.integers(min_value=0, max_value=20_000)
fee_rates = st.integers(min_value=0, max_value=3000)


class LedgerMachine(RuleBasedStateMachine):
    transfers = Bundle("transfers")

    def __init__(self):
        super().__init__()
        self.run = uuid.uuid4().hex[:12]
        self.clients = [self._signup(f"client{n}", is_client=True) for n in range(2)]
        self.workers = [self._signup(f"worker{n}", is_client=False) for n in range(2)]
        # The shared platform accounts carry what earlier examples left in them.
        existing = dict(
            LedgerAccount.objects.filter(key__in=SHARED_KEYS).values_list("key", "balance_jpy")
        )
        self.expected = {key: existing.get(key, 0) for key in SHARED_KEYS}
        self.keys_issued = 0
        self.transfers_written = 0

    def _signup(self, role, *, is_client):
        return user_signup(
            email=f"{role}-{self.run}@example.jp", password=STRONG_PASSWORD,
            display_name=role, is_client=is_client, is_worker=not is_client,
            email_verified=True,
        )  # fmt: skip

    # --- the model ----------------------------------------------------------------------------

    def _new_key(self):
        self.keys_issued += 1
        return f"{self.run}:{self.keys_issued}"

    def _escrow_reference(self, client, escrow):
        return f"{self.run}:c{client}:m{escrow}"

    def _overdraws(self, changes):
        return any(
            key.startswith(GUARDED_PREFIXES) and self.expected.get(key, 0) + delta < 0
            for key, delta in changes.items()
        )

    def _attempt(self, use_case, arguments, changes):
        """Run one use case; the model decides whether it must succeed or be refused."""
        overdraws = self._overdraws(changes)
        try:
            with transaction.atomic():
                transfer = use_case(**arguments)
        except InsufficientFunds as error:
            refusal = error
        else:
            refusal = None
        if refusal is not None:
            assert overdraws, f"refused although the model has the money: {changes}"
            assert refusal.code == LedgerErrorCode.EXCEEDS_BALANCE
            return multiple()
        assert not overdraws, f"the model says this overdraws: {changes}"
        self.transfers_written += 1
        for key, delta in changes.items():
            self.expected[key] = self.expected.get(key, 0) + delta
        return (use_case, arguments, transfer.pk)

    def _release_changes(self, *, client, worker, escrow_key, gross_jpy, fee_rate_bps, withholding):
        split = money_rules.release_split(
            gross_jpy=gross_jpy, fee_rate_bps=fee_rate_bps, withholding_applies=withholding
        )
        return {
            escrow_key: -gross_jpy,
            f"earnings:user:{worker.pk}": split.net_jpy,
            "platform_fees": split.fee_jpy,
            f"withholding_payable:user:{client.pk}": split.withholding_jpy,
        }

    # --- rules --------------------------------------------------------------------------------

    @rule(target=transfers, client=people, amount=amounts)
    def deposit(self, client, amount):
        user = self.clients[client]
        return self._attempt(
            services.deposit_credit,
            {"user": user, "amount_jpy": amount, "idempotency_key": self._new_key(),
             "reference": f"deposit:{self.run}"},
            {f"wallet:user:{user.pk}": amount, "provider_clearing": -amount},
        )  # fmt: skip

    @rule(target=transfers, client=people, escrow=escrows, amount=amounts)
    def fund_escrow(self, client, escrow, amount):
        user, reference = self.clients[client], self._escrow_reference(client, escrow)
        return self._attempt(
            services.escrow_fund,
            {"client": user, "escrow_reference": reference, "amount_jpy": amount,
             "idempotency_key": self._new_key()},
            {f"wallet:user:{user.pk}": -amount, f"escrow:{reference}": amount},
        )  # fmt: skip

    @rule(
        target=transfers, client=people, escrow=escrows, worker=people, amount=amounts,
        fee_rate_bps=fee_rates, withholding=st.booleans(),
    )  # fmt: skip
    def release(self, client, escrow, worker, amount, fee_rate_bps, withholding):
        user, reference = self.clients[client], self._escrow_reference(client, escrow)
        return self._attempt(
            services.escrow_release,
            {"client": user, "worker": self.workers[worker], "escrow_reference": reference,
             "amount_jpy": amount, "fee_rate_bps": fee_rate_bps,
             "withholding_applies": withholding, "idempotency_key": self._new_key()},
            self._release_changes(
                client=user, worker=self.workers[worker], escrow_key=f"escrow:{reference}",
                gross_jpy=amount, fee_rate_bps=fee_rate_bps, withholding=withholding,
            ),
        )  # fmt: skip

    @rule(target=transfers, client=people, escrow=escrows, amount=amounts)
    def refund(self, client, escrow, amount):
        user, reference = self.clients[client], self._escrow_reference(client, escrow)
        return self._attempt(
            services.escrow_refund,
            {"client": user, "escrow_reference": reference, "amount_jpy": amount,
             "idempotency_key": self._new_key()},
            {f"escrow:{reference}": -amount, f"wallet:user:{user.pk}": amount},
        )  # fmt: skip

    @rule(
        target=transfers, client=people, escrow=escrows, worker=people, worker_amount=parts,
        client_amount=parts, fee_rate_bps=fee_rates, withholding=st.booleans(),
    )  # fmt: skip
    def split(
        self, client, escrow, worker, worker_amount, client_amount, fee_rate_bps, withholding
    ):
        user, reference = self.clients[client], self._escrow_reference(client, escrow)
        arguments = {
            "client": user, "worker": self.workers[worker], "escrow_reference": reference,
            "worker_amount_jpy": worker_amount, "client_amount_jpy": client_amount,
            "fee_rate_bps": fee_rate_bps, "withholding_applies": withholding,
            "idempotency_key": self._new_key(),
        }  # fmt: skip
        if worker_amount == client_amount == 0:
            with pytest.raises(LedgerInputError) as refusal, transaction.atomic():
                services.escrow_split(**arguments)
            assert refusal.value.code == LedgerErrorCode.AMOUNT_MUST_BE_POSITIVE
            return multiple()
        escrow_key = f"escrow:{reference}"
        changes = {escrow_key: -client_amount, f"wallet:user:{user.pk}": client_amount}
        if worker_amount:
            for key, delta in self._release_changes(
                client=user, worker=self.workers[worker], escrow_key=escrow_key,
                gross_jpy=worker_amount, fee_rate_bps=fee_rate_bps, withholding=withholding,
            ).items():  # fmt: skip
                changes[key] = changes.get(key, 0) + delta
        return self._attempt(services.escrow_split, arguments, changes)

    def _payout(self, use_case, worker, amount, changes):
        return self._attempt(
            use_case,
            {"user": self.workers[worker], "amount_jpy": amount,
             "idempotency_key": self._new_key(), "reference": f"payout:{self.run}"},
            changes,
        )  # fmt: skip

    @rule(target=transfers, worker=people, amount=amounts)
    def payout_reserve(self, worker, amount):
        pk = self.workers[worker].pk
        return self._payout(
            services.payout_reserve, worker, amount,
            {f"earnings:user:{pk}": -amount, f"payout_pending:user:{pk}": amount},
        )  # fmt: skip

    @rule(target=transfers, worker=people, amount=amounts)
    def payout_settle(self, worker, amount):
        pk = self.workers[worker].pk
        return self._payout(
            services.payout_settle, worker, amount,
            {f"payout_pending:user:{pk}": -amount, "provider_clearing": amount},
        )  # fmt: skip

    @rule(target=transfers, worker=people, amount=amounts)
    def payout_return(self, worker, amount):
        pk = self.workers[worker].pk
        return self._payout(
            services.payout_return, worker, amount,
            {f"payout_pending:user:{pk}": -amount, f"earnings:user:{pk}": amount},
        )  # fmt: skip

    @rule(record=transfers)
    def retry(self, record):
        """A replay with the same key and arguments returns the first transfer, moves nothing."""
        use_case, arguments, transfer_id = record
        with transaction.atomic():
            replayed = use_case(**arguments)
        assert replayed.pk == transfer_id

    # --- invariants ---------------------------------------------------------------------------

    @invariant()
    def books_hold(self):
        assert selectors.books_check() == []

    @invariant()
    def database_matches_the_model(self):
        actual = dict(
            LedgerAccount.objects.filter(key__in=self.expected).values_list("key", "balance_jpy")
        )
        assert {key: actual.get(key, 0) for key in self.expected} == self.expected
        written = Transfer.objects.filter(idempotency_key__startswith=f"{self.run}:").count()
        assert written == self.transfers_written


@pytest.mark.django_db
@override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
def test_any_sequence_of_use_cases_keeps_the_books_and_matches_the_model():
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=25, stateful_step_count=25, deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )  # fmt: skip
