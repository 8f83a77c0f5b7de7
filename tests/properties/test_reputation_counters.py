"""Reputation counters as a state machine: random histories through the real services.

Two clients and a worker hire, fund, start, deliver, approve, ask for revisions, talk, flag,
cancel, dispute (with an operator's ruling), post and close jobs, buy consultations, while the
clock jumps and the sweeper runs (automatic approvals, unanswered escrow requests, silences).
After every step the counters kept in each event's transaction equal what
`ishibashi rebuild-reputation` recounts from the event log, the flags, the threads and the jobs;
at the end the command itself exits 0.
"""

import contextlib
import datetime as dt
import uuid
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from conftest import STRONG_PASSWORD
from ishibashi.accounts.services import user_signup
from ishibashi.contracts import services as cs
from ishibashi.contracts.models import Delivery, Milestone
from ishibashi.contracts.tests.factories import deposit, hire
from ishibashi.core import clock
from ishibashi.core.errors import ApplicationError
from ishibashi.jobs import services as jobs
from ishibashi.jobs.services import JobInput, MilestoneInput, ProposalInput
from ishibashi.reputation.services import reputation_rebuild

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
# Report-only kinds: delivered without files, so the machine needs no storage.
SPLIT = (("事前調査", "research", 10_000), ("深夜待機", "standby", 20_000))

clients = st.sampled_from(["a", "b"])
slots = st.integers(min_value=0, max_value=2)  # few contracts, so each gets far
hours = (1, 1, 3, 3, 6, 24, 24 * 7 + 1, 24 * 8)
jumps = st.sampled_from([dt.timedelta(hours=h) for h in hours])


class ReputationMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.savepoint = transaction.savepoint()
        self.traveller = time_machine.travel(NOW, tick=False)
        self.coordinates = self.traveller.start()
        self.now = NOW
        run = uuid.uuid4().hex[:10]
        self.people = {
            "a": self._signup(f"a-{run}", is_worker=False),
            "b": self._signup(f"b-{run}", is_worker=False),
            "worker": self._signup(f"w-{run}", is_client=False),
            "operator": self._signup(f"o-{run}"),
        }
        self.people["operator"].is_staff = True
        self.people["operator"].save(update_fields=["is_staff"])
        for name in ("a", "b"):
            deposit(self.people[name], 2_000_000)
        self.contracts = []

    def teardown(self):
        try:
            out = StringIO()
            call_command("rebuild_reputation", stdout=out)  # raises (exit 1) on a difference
            assert "OK" in out.getvalue()
        finally:
            transaction.savepoint_rollback(self.savepoint)
            self.traveller.stop()

    def _signup(self, name, *, is_client=True, is_worker=True):
        return user_signup(
            email=f"{name}@example.jp", password=STRONG_PASSWORD, display_name=name,
            is_client=is_client, is_worker=is_worker, email_verified=True,
        )  # fmt: skip

    def _try(self, action, **kwargs):
        # A refusal changes nothing, counters included.
        with contextlib.suppress(ApplicationError):
            action(**kwargs)

    def _contract(self, n):
        return self.contracts[n % len(self.contracts)] if self.contracts else None

    def _open_milestone(self, contract):
        return (
            Milestone.objects.filter(contract=contract)
            .exclude(state__in=("released", "cancelled", "refunded", "resolved"))
            .order_by("position")
            .first()
        )

    def _job(self, client):
        return jobs.job_create(
            client=client,
            data=JobInput(
                title="サーバー移行", description="移行作業です。", category="server_infrastructure",
                contract_type="fixed", budget_min_jpy=10_000, budget_max_jpy=50_000,
                recruiting_deadline=clock.now() + dt.timedelta(days=7),
                desired_delivery_on=jobs.today() + dt.timedelta(days=30),
                scope_deliverables="報告", scope_acceptance_criteria="報告があること",
                scope_out_of_scope="なし", revision_rounds=1,
            ),
            publish=True,
        )  # fmt: skip

    # --- rules --------------------------------------------------------------------------------

    @rule(who=clients)
    def hire(self, who):
        if len(self.contracts) >= 4:  # enough to go around: the others get further instead
            return
        self.contracts.append(hire(self.people[who], self.people["worker"], split=SPLIT))

    @rule(who=clients, consult=st.booleans())
    def post_and_close_a_job(self, who, consult):
        client = self.people[who]
        job = self._job(client)
        if consult:
            proposal = jobs.proposal_create(
                worker=self.people["worker"],
                job_id=job.pk,
                data=ProposalInput(
                    cover_letter="ご相談から。", total_jpy=5_000, kind="consultation",
                    milestones=[MilestoneInput(title="相談", kind="consultation",
                                               amount_jpy=5_000, due_on=jobs.today() + dt.timedelta(days=3))],
                ),
            )  # fmt: skip
            cs.proposal_hire(client=client, proposal_id=proposal.pk)
        self._try(jobs.job_close, client=client, job_id=job.pk)

    @rule(n=slots, choices=st.lists(st.integers(min_value=0, max_value=2), min_size=1, max_size=4))
    def advance(self, n, choices):
        """The next steps of the contract's open milestone, as the parties would take them."""
        for choice in choices:
            self._step(n, choice)

    def _step(self, n, choice):
        contract = self._contract(n)
        if contract is None or (m := self._open_milestone(contract)) is None:
            return
        client, worker = contract.client, contract.worker
        if m.state in ("draft", "awaiting_funding"):
            self._try(cs.milestone_fund, client=client, milestone_id=m.pk)
        elif m.state == "funded":
            self._try(cs.milestone_start, worker=worker, milestone_id=m.pk)
        elif m.state in ("in_progress", "revision_requested"):
            if choice == 0:
                self._try(cs.contract_message_post, author=worker, contract_id=contract.pk,
                          body="確認をお願いします。")  # fmt: skip
            else:
                self._try(cs.delivery_create, worker=worker, milestone_id=m.pk, message="報告")
        elif m.state == "delivered" and choice < 2:
            delivery = Delivery.objects.filter(milestone=m).order_by("-version").first()
            assert delivery is not None
            if choice == 0:
                self._try(cs.delivery_approve, client=client, delivery_id=delivery.pk)
            else:
                self._try(cs.delivery_request_revision, client=client,
                          delivery_id=delivery.pk, reason="修正してください")  # fmt: skip

    @rule(n=slots, by_client=st.booleans())
    def message(self, n, by_client):
        contract = self._contract(n)
        if contract is None:
            return
        author = contract.client if by_client else contract.worker
        self._try(cs.contract_message_post, author=author, contract_id=contract.pk, body="連絡")

    @rule(n=slots)
    def flag(self, n):
        contract = self._contract(n)
        if contract is not None:
            self._try(
                cs.contract_flag,
                worker=contract.worker,
                contract_id=contract.pk,
                kind="asked_before_escrow",
            )

    @rule(n=slots, by_client=st.booleans())
    def cancel(self, n, by_client):
        contract = self._contract(n)
        if contract is not None:
            actor = contract.client if by_client else contract.worker
            self._try(cs.contract_cancel, actor=actor, contract_id=contract.pk, reason="都合により")

    @rule(n=slots, share=st.sampled_from([0, 1, 2]))
    def dispute_and_rule(self, n, share):
        contract = self._contract(n)
        if contract is None or (m := self._open_milestone(contract)) is None:
            return
        self._try(cs.milestone_dispute, actor=contract.worker, milestone_id=m.pk, reason="連絡なし")
        m.refresh_from_db()
        if m.state == "disputed":
            self._try(
                cs.milestone_dispute_resolve,
                operator=self.people["operator"],
                milestone_id=m.pk,
                worker_amount_jpy=(0, m.amount_jpy // 2, m.amount_jpy)[share],
                note="判断",
            )

    @rule(jump=jumps)
    def time_passes(self, jump):
        self._move(jump)

    @rule(n=slots)
    def client_stays_silent(self, n):
        """The clock moves past the deadline the contract's open milestone waits on (escrow,
        inspection, the reply to the worker): the sweeper acts for the silent client."""
        contract = self._contract(n)
        if contract is None or (m := self._open_milestone(contract)) is None:
            return
        if m.clock_deadline_at is not None and m.clock_deadline_at > self.now:
            self._move(m.clock_deadline_at - self.now + dt.timedelta(minutes=1))

    def _move(self, jump):
        self.now += jump
        self.coordinates.move_to(self.now)
        for _round in range(10):
            if not cs.milestones_sweep_due():
                break

    @invariant()
    def counters_equal_the_recount(self):
        assert reputation_rebuild() == []


@pytest.mark.django_db
def test_any_history_keeps_the_reputation_counters_equal_to_their_recount(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    # The hourly limits on new accounts would refuse the worker's proposals, not a counter.
    settings.ACCOUNT_ABUSE_LIMITS = False
    run_state_machine_as_test(
        ReputationMachine,
        settings=hypothesis_settings(
            max_examples=25, stateful_step_count=40, deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )  # fmt: skip
