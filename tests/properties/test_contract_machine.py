"""Contracts as a state machine: random people doing random things, the sweeper and time passing.

A client, a worker, a stranger and an operator act on two contracts (the seed's four-part split
without withholding, and a two-part design job with withholding); the sweeper runs after random
jumps of the clock. Each action either goes through or is refused with an ApplicationError that
changes nothing. After every step:

- the books hold, and each milestone's escrow holds its price exactly while the table says
  escrow holds money (funded … approved, disputed), and nothing otherwise;
- every milestone is in a state the transition table can reach, and every state change recorded
  is a (state, action) → state row of MILESTONE_TRANSITIONS taken by a role the row allows;
- a milestone was paid out at most once, and a released one exactly once;
- each contract's event chain verifies.
"""

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from conftest import STRONG_PASSWORD
from ishibashi.accounts.services import user_signup
from ishibashi.contracts import selectors
from ishibashi.contracts import services as cs
from ishibashi.contracts.models import (
    ChangeRequest,
    Contract,
    ContractEvent,
    Delivery,
    Milestone,
    MilestoneState,
)
from ishibashi.contracts.services import DeliveryUpload, MilestoneAddition, MilestoneEdit
from ishibashi.contracts.states import (
    MILESTONE_HOLDS_ESCROW,
    MILESTONE_TRANSITIONS,
    Action,
    Role,
    role_of,
)
from ishibashi.contracts.tests.factories import SEED_SPLIT, deposit, hire
from ishibashi.core.errors import ApplicationError
from ishibashi.ledger.models import LedgerAccount, Transfer
from ishibashi.ledger.selectors import books_check

NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
S = MilestoneState
ACTIONS = {action.value for action in Action}


def _reachable() -> frozenset[str]:
    # A contract starts with its first milestone awaiting escrow and the rest as drafts.
    seen = {S.DRAFT, S.AWAITING_FUNDING}
    while True:
        more = {
            rule.to_state for (state, _a), rule in MILESTONE_TRANSITIONS.items() if state in seen
        }
        if more <= seen:
            return frozenset(seen)
        seen |= more


REACHABLE = _reachable()

actors = st.sampled_from(["client", "worker", "third", "operator"])
contracts = st.integers(min_value=0, max_value=1)
# None: the milestone the contract is on (its first open one), so that work moves forward;
# a number: any milestone, for the actions that must be refused.
milestones = st.one_of(st.none(), st.integers(min_value=0, max_value=4))
# Mostly small steps, to reach the reminders one by one; then the periods the product names.
hours = (1, 1, 6, 12, 24, 24, 84, 143, 144, 168, 24 * 60)
jumps = st.sampled_from([dt.timedelta(hours=h) for h in hours])


def actor_for(natural: str) -> st.SearchStrategy[str]:
    """The person whose action it is, half the time; anybody otherwise."""
    return st.one_of(st.just(natural), actors)


class ContractMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.savepoint = transaction.savepoint()
        self.clock = time_machine.travel(NOW, tick=False)
        self.traveller = self.clock.start()
        self.now = NOW
        run = uuid.uuid4().hex[:10]
        self.people = {
            "client": self._signup(f"client-{run}", is_worker=False, entity_type="corporation"),
            "worker": self._signup(f"worker-{run}", is_client=False),
            "third": self._signup(f"third-{run}"),
            "operator": self._signup(f"operator-{run}"),
        }
        self.people["operator"].is_staff = True
        self.people["operator"].save(update_fields=["is_staff"])
        client, worker = self.people["client"], self.people["worker"]
        client.is_withholding_agent = True
        client.save(update_fields=["is_withholding_agent"])
        deposit(client, 1_000_000)
        self.contracts = [
            hire(client, worker, split=SEED_SPLIT, kill_fee_percent=30, revision_rounds=1),
            hire(client, worker, category="design", kill_fee_percent=20, inspection_days=3),
        ]
        assert [c.withholding_applies for c in self.contracts] == [False, True]
        self.people_by_id = {user.pk: user for user in self.people.values()}
        self.last_event = 0
        self.last_state: dict[int | None, str] = {}
        self.checked = None

    def teardown(self):
        transaction.savepoint_rollback(self.savepoint)
        self.clock.stop()

    def _signup(self, name, *, is_client=True, is_worker=True, entity_type="individual"):
        return user_signup(
            email=f"{name}@example.jp", password=STRONG_PASSWORD, display_name=name,
            is_client=is_client, is_worker=is_worker, entity_type=entity_type,
            email_verified=True,
        )  # fmt: skip

    # --- helpers ------------------------------------------------------------------------------

    def _milestones(self, contract):
        return list(Milestone.objects.filter(contract=contract).order_by("position"))

    def _milestone(self, c, m):
        ms = self._milestones(self.contracts[c])
        if m is None:
            ended = {S.RELEASED, S.CANCELLED, S.REFUNDED, S.RESOLVED}
            return next((x for x in ms if x.state not in ended), ms[-1])
        return ms[m % len(ms)]

    def _world(self):
        ids = [c.pk for c in self.contracts]
        return (
            list(Milestone.objects.filter(contract__in=ids).order_by("pk").values()),
            list(Contract.objects.filter(pk__in=ids).order_by("pk").values()),
            ContractEvent.objects.filter(contract__in=ids).count(),
            sorted(LedgerAccount.objects.values_list("key", "balance_jpy")),
            Transfer.objects.count(),
            Delivery.objects.filter(milestone__contract__in=ids).count(),
            list(ChangeRequest.objects.filter(contract__in=ids).order_by("pk").values()),
        )

    def _attempt(self, who, call, /, **arguments):
        """Run one use case; a refusal must say why and leave everything as it was."""
        before = self._world()
        refusal = None
        try:
            result = call(**arguments)
        except ApplicationError as error:
            refusal = error
        if refusal is not None:
            assert str(refusal.message).strip()
            assert refusal.code
            assert self._world() == before, f"{call.__name__} refused but changed something"
            return None
        assert who != "third", f"a stranger did {call.__name__}"
        return result

    def _upload(self):
        return [DeliveryUpload(file=SimpleUploadedFile("work.zip", b"PK work"), visibility="full")]

    # --- milestone actions --------------------------------------------------------------------

    @rule(actor=actor_for("worker"), c=contracts, m=milestones)
    def request_funding(self, actor, c, m):
        milestone = self._milestone(c, m)
        self._attempt(
            actor, cs.milestone_request_funding, actor=self.people[actor], milestone_id=milestone.pk
        )

    @rule(actor=actor_for("client"), c=contracts, m=milestones)
    def fund(self, actor, c, m):
        milestone = self._milestone(c, m)
        self._attempt(
            actor, cs.milestone_fund, client=self.people[actor], milestone_id=milestone.pk
        )

    @rule(actor=actor_for("worker"), c=contracts, m=milestones)
    def start(self, actor, c, m):
        milestone = self._milestone(c, m)
        before = milestone.state
        done = self._attempt(
            actor, cs.milestone_start, worker=self.people[actor], milestone_id=milestone.pk
        )
        if done is not None:
            assert before == S.FUNDED, "work started on a milestone that was not funded"

    @rule(actor=actor_for("worker"), c=contracts, m=milestones, with_files=st.booleans())
    def deliver(self, actor, c, m, with_files):
        milestone = self._milestone(c, m)
        self._attempt(
            actor, cs.delivery_create, worker=self.people[actor], milestone_id=milestone.pk,
            message="納品します", uploads=self._upload() if with_files else [],
        )  # fmt: skip

    def _delivery_id(self, c, m, latest):
        deliveries = Delivery.objects.filter(milestone=self._milestone(c, m)).order_by(
            "-version" if latest else "version"
        )
        first = deliveries.first()
        return first.pk if first else 10**9

    @rule(actor=actor_for("client"), c=contracts, m=milestones, latest=st.booleans())
    def approve(self, actor, c, m, latest):
        self._attempt(
            actor, cs.delivery_approve, client=self.people[actor],
            delivery_id=self._delivery_id(c, m, latest),
        )  # fmt: skip

    @rule(
        actor=actor_for("client"),
        c=contracts,
        m=milestones,
        reason=st.sampled_from(["表示崩れ", " "]),
    )
    def request_revision(self, actor, c, m, reason):
        self._attempt(
            actor, cs.delivery_request_revision, client=self.people[actor],
            delivery_id=self._delivery_id(c, m, True), reason=reason,
        )  # fmt: skip

    @rule(actor=actor_for("worker"), c=contracts, m=milestones)
    def dispute(self, actor, c, m):
        milestone = self._milestone(c, m)
        self._attempt(
            actor,
            cs.milestone_dispute,
            actor=self.people[actor],
            milestone_id=milestone.pk,
            reason="支払われない",
        )

    @rule(actor=actor_for("operator"), c=contracts, m=milestones)
    def freeze(self, actor, c, m):
        milestone = self._milestone(c, m)
        self._attempt(
            actor,
            cs.milestone_dispute_freeze,
            operator=self.people[actor],
            milestone_id=milestone.pk,
            note="審査",
        )

    @rule(
        actor=actor_for("operator"),
        c=contracts,
        m=milestones,
        share=st.sampled_from([0, 0.3, 1, 1.5]),
    )
    def resolve(self, actor, c, m, share):
        milestone = self._milestone(c, m)
        amount = int(milestone.amount_jpy * share) if share <= 1 else milestone.amount_jpy + 1
        self._attempt(
            actor, cs.milestone_dispute_resolve, operator=self.people[actor],
            milestone_id=milestone.pk, worker_amount_jpy=amount, note="裁定",
        )  # fmt: skip

    @rule(actor=actor_for("worker"), c=contracts, m=milestones)
    def accept_cancellation(self, actor, c, m):
        milestone = self._milestone(c, m)
        self._attempt(
            actor,
            cs.milestone_cancellation_accept,
            worker=self.people[actor],
            milestone_id=milestone.pk,
        )

    @rule(c=contracts, steps=st.integers(min_value=1, max_value=3))
    def work_goes_on(self, c, steps):
        """The next ordinary step on the contract's open milestone, by the person whose it is."""
        client, worker = self.people["client"], self.people["worker"]
        for _step in range(steps):
            milestone = self._milestone(c, None)
            if milestone.state in (S.DRAFT, S.AWAITING_FUNDING):
                self._attempt("client", cs.milestone_fund, client=client, milestone_id=milestone.pk)
            elif milestone.state == S.FUNDED:
                self._attempt(
                    "worker", cs.milestone_start, worker=worker, milestone_id=milestone.pk
                )
            elif milestone.state in (S.IN_PROGRESS, S.REVISION_REQUESTED):
                self._attempt(
                    "worker", cs.delivery_create, worker=worker, milestone_id=milestone.pk,
                    message="納品します", uploads=self._upload(),
                )  # fmt: skip
            elif milestone.state == S.DELIVERED:
                self._attempt(
                    "client", cs.delivery_approve, client=client,
                    delivery_id=self._delivery_id(c, milestone.position - 1, True),
                )  # fmt: skip
            else:
                return

    # --- contract actions ---------------------------------------------------------------------

    @rule(actor=actor_for("client"), c=contracts, reason=st.sampled_from(["中止", " "]))
    def cancel(self, actor, c, reason):
        self._attempt(
            actor,
            cs.contract_cancel,
            actor=self.people[actor],
            contract_id=self.contracts[c].pk,
            reason=reason,
        )

    @rule(actor=actor_for("worker"), c=contracts)
    def message(self, actor, c):
        self._attempt(
            actor,
            cs.contract_message_post,
            author=self.people[actor],
            contract_id=self.contracts[c].pk,
            body="ご確認ください",
        )

    @rule(actor=actor_for("worker"), c=contracts)
    def flag(self, actor, c):
        self._attempt(
            actor, cs.contract_flag, worker=self.people[actor], contract_id=self.contracts[c].pk,
            kind="asked_before_escrow",
        )  # fmt: skip

    @rule(
        actor=actor_for("client"), c=contracts, m=milestones,
        kind=st.sampled_from(["add", "cut", "raise", "remove", "shorten", "kill_fee"]),
    )  # fmt: skip
    def propose_change(self, actor, c, m, kind):
        milestone = self._milestone(c, m)
        today = self.now.astimezone(ZoneInfo("Asia/Tokyo")).date()
        arguments = {
            "add": {"additions": [MilestoneAddition(title="追加作業", kind="main_work", amount_jpy=10_000, due_on=today + dt.timedelta(days=30))]},
            "cut": {"edits": [MilestoneEdit(id=milestone.pk, amount_jpy=max(1_000, milestone.amount_jpy - 5_000))]},
            "raise": {"edits": [MilestoneEdit(id=milestone.pk, amount_jpy=milestone.amount_jpy + 5_000)]},
            "remove": {"removals": [milestone.pk]},
            "shorten": {"edits": [MilestoneEdit(id=milestone.pk, due_on=today + dt.timedelta(days=1))]},
            "kill_fee": {"kill_fee_percent": 50},
        }[kind]  # fmt: skip
        self._attempt(
            actor, cs.change_propose, actor=self.people[actor], contract_id=self.contracts[c].pk,
            message="変更のお願い", **arguments,
        )  # fmt: skip

    @rule(actor=actors, c=contracts, answer=st.sampled_from(["accept", "decline", "withdraw"]))
    def answer_change(self, actor, c, answer):
        change = ChangeRequest.objects.filter(contract=self.contracts[c]).order_by("-pk").first()
        call = {
            "accept": cs.change_accept,
            "decline": cs.change_decline,
            "withdraw": cs.change_withdraw,
        }[answer]
        self._attempt(
            actor, call, actor=self.people[actor], change_id=change.pk if change else 10**9
        )

    # --- time and the sweeper -----------------------------------------------------------------

    @rule(jump=jumps)
    def time_passes(self, jump):
        self.now += jump
        self.traveller.move_to(self.now)
        for _round in range(20):
            if not cs.milestones_sweep_due():
                break
        else:
            raise AssertionError("the sweeper keeps finding work at one moment")
        cs.changes_expire_due()
        cs.contracts_terminate_due()

    # --- invariants ---------------------------------------------------------------------------

    @invariant()
    def contracts_and_books_hold(self):
        # A refused step was already shown to change nothing; re-reading everything after it
        # would prove the same thing again, so the checks run when something was written.
        ids = [c.pk for c in self.contracts]
        written = (
            ContractEvent.objects.filter(contract__in=ids).count(),
            Transfer.objects.count(),
        )
        if written == self.checked:
            return
        self.checked = written
        assert books_check() == []
        assert selectors.escrow_problems() == []
        milestones = list(Milestone.objects.filter(contract__in=ids).order_by("pk"))
        self._escrow_holds_each_price_while_funded_and_unpaid(milestones)
        self._state_changes_follow_the_table(milestones)
        self._money_leaves_each_escrow_once(milestones)
        for contract in self.contracts:
            assert cs.events_verify(contract=contract) is None

    def _escrow_holds_each_price_while_funded_and_unpaid(self, milestones):
        held = dict(
            LedgerAccount.objects.filter(
                key__in=[f"escrow:{m.escrow_reference}" for m in milestones]
            ).values_list("key", "balance_jpy")
        )
        for milestone in milestones:
            expected = milestone.amount_jpy if milestone.state in MILESTONE_HOLDS_ESCROW else 0
            actual = held.get(f"escrow:{milestone.escrow_reference}", 0)
            assert actual == expected, (milestone.pk, milestone.state, actual, expected)

    def _state_changes_follow_the_table(self, milestones):
        roles = {c.pk: c for c in self.contracts}
        events = ContractEvent.objects.filter(contract__in=roles, pk__gt=self.last_event).order_by(
            "pk"
        )
        for event in events:
            self.last_event = event.pk
            self.last_state[event.milestone_id] = event.to_state or self.last_state.get(
                event.milestone_id, ""
            )
            if (
                event.milestone_id is None
                or not event.from_state
                or event.from_state == event.to_state
            ):
                continue
            if event.action == "funding_requested":  # the hire's own request, before any rule
                assert (event.from_state, event.to_state) == (S.DRAFT, S.AWAITING_FUNDING)
                continue
            assert event.action in ACTIONS, event.action
            row = MILESTONE_TRANSITIONS.get(
                (MilestoneState(event.from_state), Action(event.action))
            )
            assert row is not None, (event.from_state, event.action)
            assert row.to_state == event.to_state, (event.from_state, event.action, event.to_state)
            actor = self.people_by_id.get(event.actor_id)
            role = role_of(roles[event.contract_id], actor) if actor else Role.SYSTEM
            assert role in row.roles, (event.action, role)
        for milestone in milestones:
            assert milestone.state in REACHABLE, milestone.state
            # A draft of the hire has no event of its own; every later state has one.
            recorded = self.last_state.get(milestone.pk) or S.DRAFT
            assert recorded == milestone.state, ("a state change without its event", milestone.pk)

    def _money_leaves_each_escrow_once(self, milestones):
        moved: dict[str, list[str]] = {}
        for reference, reason in Transfer.objects.filter(
            reference__in=[m.escrow_reference for m in milestones]
        ).values_list("reference", "reason"):
            moved.setdefault(reference, []).append(reason)
        released = set(
            ContractEvent.objects.filter(milestone__in=milestones, action="release").values_list(
                "milestone_id", flat=True
            )
        )
        for milestone in milestones:
            reasons = moved.get(milestone.escrow_reference, [])
            releases, splits = reasons.count("escrow_release"), reasons.count("escrow_split")
            assert reasons.count("escrow_fund") <= 1
            assert releases + splits <= 1
            assert releases == (1 if milestone.state == S.RELEASED else 0)
            assert (milestone.pk in released) == (milestone.state == S.RELEASED)


@pytest.mark.django_db
def test_any_sequence_of_actions_keeps_the_contracts_and_the_books_consistent(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    run_state_machine_as_test(
        ContractMachine,
        settings=hypothesis_settings(
            max_examples=10, stateful_step_count=40, deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )  # fmt: skip
