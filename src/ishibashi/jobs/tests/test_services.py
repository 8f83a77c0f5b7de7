"""Jobs, proposals and hiring through the services: each rule, and each refusal changing nothing."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
import time_machine

from ishibashi.accounts.models import User
from ishibashi.contracts.models import Contract, ContractEvent, ContractState, MilestoneState
from ishibashi.contracts.selectors import terms_current
from ishibashi.contracts.services import canonical_json, events_verify, hiring
from ishibashi.core import clock
from ishibashi.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from ishibashi.jobs import services
from ishibashi.jobs.models import (
    ClientJobStats,
    Job,
    JobState,
    Proposal,
    ProposalMessage,
    ProposalState,
    ProposedMilestone,
)
from ishibashi.jobs.services import MilestoneInput
from ishibashi.jobs.tests.conftest import job_input, one_milestone, proposal_input
from ishibashi.operations.sweeps import sweep_once


def _snapshot():
    """What a refusal must leave alone."""
    return (
        list(Job.objects.order_by("pk").values_list("pk", "state", "title", "proposal_count")),
        list(Proposal.objects.order_by("pk").values_list("pk", "state")),
        list(ClientJobStats.objects.order_by("pk").values()),
    )


def _refused(error_class, call, **arguments):
    before = _snapshot()
    with pytest.raises(error_class) as refusal:
        call(**arguments)
    assert _snapshot() == before
    return refusal.value


def _stats(user):
    return ClientJobStats.objects.get(client=user)


# --- posting ----------------------------------------------------------------------------------


def test_a_draft_is_private_until_published_and_publishing_counts_a_posted_job(client_user):
    job = services.job_create(client=client_user, data=job_input())
    assert job.state == JobState.DRAFT
    assert job.published_at is None
    assert not ClientJobStats.objects.filter(client=client_user, jobs_posted__gt=0).exists()

    with time_machine.travel(clock.now() + dt.timedelta(hours=1), tick=False):
        services.job_publish(client=client_user, job_id=job.pk)
        published = clock.now()

    job.refresh_from_db()
    assert job.state == JobState.OPEN
    assert job.published_at == published
    assert _stats(client_user).jobs_posted == 1


def test_a_worker_only_account_cannot_post_a_job(worker):
    error = _refused(InvalidInput, services.job_create, client=worker, data=job_input())
    assert error.code == "not_a_client"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": "   "}, "title"),
        ({"title": "案" * 101}, "title"),
        ({"title": "移行\x00作業"}, "title"),
        ({"description": ""}, "description"),
        ({"category": "astrology"}, "category"),
        ({"contract_type": "hourly"}, "contract_type"),
        ({"budget_min_jpy": 0}, "budget_min_jpy"),
        ({"budget_min_jpy": 50_000.5}, "budget_min_jpy"),
        ({"budget_min_jpy": True}, "budget_min_jpy"),
        ({"budget_max_jpy": 10**12}, "budget_max_jpy"),
        ({"budget_min_jpy": 90_000, "budget_max_jpy": 80_000}, "budget_max_jpy"),
        ({"recruiting_deadline": dt.datetime(2020, 1, 1, tzinfo=dt.UTC)}, "recruiting_deadline"),
        ({"recruiting_deadline": dt.datetime(2099, 1, 1)}, "recruiting_deadline"),  # noqa: DTZ001 (naive: refused)
        ({"scope_deliverables": ""}, "scope_deliverables"),
        ({"scope_acceptance_criteria": " "}, "scope_acceptance_criteria"),
        ({"revision_rounds": -1}, "revision_rounds"),
        ({"revision_rounds": 11}, "revision_rounds"),
    ],
)
def test_bad_job_input_is_refused_with_its_field_and_nothing_is_saved(client_user, changes, field):
    error = _refused(
        InvalidInput, services.job_create, client=client_user, data=job_input(**changes)
    )
    assert error.field == field


def test_recruiting_longer_than_ninety_days_or_delivery_before_the_deadline_is_refused(client_user):
    far = clock.now() + dt.timedelta(days=91)
    error = _refused(
        InvalidInput, services.job_create, client=client_user,
        data=job_input(recruiting_deadline=far, desired_delivery_on=services.today() + dt.timedelta(days=120)),
    )  # fmt: skip
    assert error.field == "recruiting_deadline"
    error = _refused(
        InvalidInput, services.job_create, client=client_user,
        data=job_input(desired_delivery_on=services.today() + dt.timedelta(days=2)),
    )  # fmt: skip
    assert error.field == "desired_delivery_on"


def test_the_client_edits_a_job_until_the_first_proposal_arrives(client_user, worker, open_job):
    services.job_update(
        client=client_user, job_id=open_job.pk, data=job_input(title="修正後の題名")
    )
    open_job.refresh_from_db()
    assert open_job.title == "修正後の題名"

    services.proposal_create(worker=worker, job_id=open_job.pk, data=proposal_input())

    error = _refused(
        Conflict, services.job_update, client=client_user, job_id=open_job.pk,
        data=job_input(budget_max_jpy=60_000),
    )  # fmt: skip
    assert error.code == "job_has_proposals"


def test_only_the_posting_client_can_edit_publish_or_close(make_user, client_user, open_job):
    other = make_user(email="other@example.jp")
    draft = services.job_create(client=client_user, data=job_input())

    assert _refused(Forbidden, services.job_close, client=other, job_id=open_job.pk).code == (
        "not_owner"
    )
    _refused(Forbidden, services.job_update, client=other, job_id=open_job.pk, data=job_input())
    # A draft is not even admitted to exist.
    _refused(NotFound, services.job_publish, client=other, job_id=draft.pk)
    _refused(NotFound, services.job_close, client=other, job_id=10**9)


def test_closing_a_job_declines_its_proposals_tells_the_workers_and_counts_on_the_profile(
    client_user, worker, open_job, mailoutbox, django_capture_on_commit_callbacks
):
    proposal = services.proposal_create(worker=worker, job_id=open_job.pk, data=proposal_input())
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.job_close(client=client_user, job_id=open_job.pk)

    open_job.refresh_from_db()
    proposal.refresh_from_db()
    assert open_job.state == JobState.CLOSED_WITHOUT_HIRE
    assert proposal.state == ProposalState.DECLINED
    assert [mail.to for mail in mailoutbox] == [[worker.email]]
    assert _stats(client_user).jobs_closed_without_hire == 1
    assert _refused(Conflict, services.job_close, client=client_user, job_id=open_job.pk).code == (
        "job_not_open"
    )


def test_a_draft_cannot_be_closed(client_user):
    draft = services.job_create(client=client_user, data=job_input())
    _refused(Conflict, services.job_close, client=client_user, job_id=draft.pk)


def test_the_sweep_expires_jobs_past_their_recruiting_deadline_once(client_user, worker, open_job):
    later = services.job_create(
        client=client_user, publish=True,
        data=job_input(recruiting_deadline=clock.now() + dt.timedelta(days=30)),
    )  # fmt: skip
    proposal = services.proposal_create(worker=worker, job_id=open_job.pk, data=proposal_input())

    with time_machine.travel(clock.now() + dt.timedelta(days=8)):
        assert sweep_once()["jobs_expire"] == 1
        assert sweep_once()["jobs_expire"] == 0

    open_job.refresh_from_db()
    later.refresh_from_db()
    proposal.refresh_from_db()
    assert (open_job.state, later.state) == (JobState.EXPIRED, JobState.OPEN)
    assert proposal.state == ProposalState.DECLINED
    assert _stats(client_user).jobs_expired_without_hire == 1


# --- proposals --------------------------------------------------------------------------------


def test_a_worker_proposes_with_the_four_part_split_and_the_job_counts_it(worker, open_job):
    proposal = services.proposal_create(worker=worker, job_id=open_job.pk, data=proposal_input())

    plan = [(m.title, m.kind, m.amount_jpy) for m in proposal.milestones.all()]
    assert plan == [
        ("事前調査", "research", 16_000),
        ("待機・深夜対応", "standby", 16_000),
        ("実作業", "main_work", 40_000),
        ("作業完了確認", "completion_check", 8_000),
    ]
    open_job.refresh_from_db()
    assert open_job.proposal_count == 1


def test_the_split_plan_adds_up_exactly_for_any_total():
    for total in (500, 1_001, 99_999, 123_457):
        parts = services.split_pay_plan(total_jpy=total, due_on=dt.date(2030, 1, 1))
        assert sum(part.amount_jpy for part in parts) == total


def test_a_worker_cannot_propose_on_their_own_job(make_user):
    both = make_user(email="both@example.jp", is_client=True, is_worker=True)
    job = services.job_create(client=both, data=job_input(), publish=True)
    error = _refused(
        InvalidInput, services.proposal_create, worker=both, job_id=job.pk, data=proposal_input()
    )
    assert error.code == "own_job"


def test_a_client_only_account_cannot_propose(make_user, open_job):
    client_only = make_user(email="c2@example.jp", is_worker=False)
    error = _refused(
        InvalidInput, services.proposal_create, worker=client_only, job_id=open_job.pk,
        data=proposal_input(),
    )  # fmt: skip
    assert error.code == "not_a_worker"


def test_no_proposal_on_a_draft_a_closed_job_or_after_the_deadline(client_user, worker, open_job):
    draft = services.job_create(client=client_user, data=job_input())
    _refused(
        NotFound, services.proposal_create, worker=worker, job_id=draft.pk, data=proposal_input()
    )
    with time_machine.travel(open_job.recruiting_deadline + dt.timedelta(minutes=1)):
        # The sweep has not run yet: the deadline alone closes the door.
        _refused(
            Conflict, services.proposal_create, worker=worker, job_id=open_job.pk,
            data=proposal_input(total=80_000, milestones=[one_milestone(80_000, days=20)]),
        )  # fmt: skip
    services.job_close(client=client_user, job_id=open_job.pk)
    _refused(
        Conflict, services.proposal_create, worker=worker, job_id=open_job.pk, data=proposal_input()
    )


def test_one_open_proposal_per_worker_per_job_and_a_new_one_after_withdrawing(worker, open_job):
    first = services.proposal_create(worker=worker, job_id=open_job.pk, data=proposal_input())
    error = _refused(
        Conflict, services.proposal_create, worker=worker, job_id=open_job.pk, data=proposal_input()
    )
    assert error.code == "proposal_exists"

    services.proposal_withdraw(worker=worker, proposal_id=first.pk)
    second = services.proposal_create(worker=worker, job_id=open_job.pk, data=proposal_input())
    assert second.state == ProposalState.OPEN


@pytest.mark.parametrize(
    ("milestones", "total", "field"),
    [
        ([], 80_000, "milestones"),
        ([one_milestone(50_000), one_milestone(20_000)], 80_000, "total_jpy"),
        ([one_milestone(80_000, days=0)], 80_000, "milestones[0].due_on"),
        ([one_milestone(80_000, days=-3)], 80_000, "milestones[0].due_on"),
        ([one_milestone(80_000, days=800)], 80_000, "milestones[0].due_on"),
        ([one_milestone(100), one_milestone(79_900)], 80_000, "milestones[0].amount_jpy"),
        ([one_milestone(80_000, kind="consultation")], 80_000, "milestones[0].kind"),
        ([one_milestone(80_000, kind="bogus")], 80_000, "milestones[0].kind"),
        ([one_milestone(6_000)] * 13, 78_000, "milestones"),
        ([one_milestone(80_000)], 0, "total_jpy"),
        ([one_milestone(80_000)], "80000", "total_jpy"),
    ],
)
def test_a_bad_milestone_plan_is_refused_with_its_field(worker, open_job, milestones, total, field):
    data = proposal_input(total=80_000, milestones=milestones)
    data = dataclasses.replace(data, total_jpy=total)
    error = _refused(
        InvalidInput, services.proposal_create, worker=worker, job_id=open_job.pk, data=data
    )
    assert error.field == field


def test_only_the_proposing_worker_withdraws_and_only_the_client_declines(
    make_user, client_user, worker, open_job, mailoutbox, django_capture_on_commit_callbacks
):
    stranger = make_user(email="stranger@example.jp")
    proposal = services.proposal_create(worker=worker, job_id=open_job.pk, data=proposal_input())

    _refused(Forbidden, services.proposal_withdraw, worker=client_user, proposal_id=proposal.pk)
    _refused(NotFound, services.proposal_withdraw, worker=stranger, proposal_id=proposal.pk)
    _refused(Forbidden, services.proposal_decline, client=worker, proposal_id=proposal.pk)
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.proposal_decline(
            client=client_user, proposal_id=proposal.pk, reason="予算超過のため"
        )

    proposal.refresh_from_db()
    assert (proposal.state, proposal.decline_reason) == (ProposalState.DECLINED, "予算超過のため")
    assert mailoutbox[0].to == [worker.email]
    assert "予算超過のため" in mailoutbox[0].body
    _refused(Conflict, services.proposal_withdraw, worker=worker, proposal_id=proposal.pk)


def test_the_proposal_thread_is_for_the_two_parties_only(make_user, client_user, worker, open_job):
    proposal = services.proposal_create(worker=worker, job_id=open_job.pk, data=proposal_input())
    services.proposal_message_post(
        author=client_user, proposal_id=proposal.pk, body="いつから可能ですか？"
    )
    services.proposal_message_post(
        author=worker, proposal_id=proposal.pk, body="来週から可能です。"
    )

    stranger = make_user(email="stranger@example.jp")
    with pytest.raises(NotFound):
        services.proposal_message_post(author=stranger, proposal_id=proposal.pk, body="横から失礼")
    with pytest.raises(InvalidInput):
        services.proposal_message_post(author=worker, proposal_id=proposal.pk, body="  ")
    assert [m.body for m in proposal.messages.all()] == [
        "いつから可能ですか？",
        "来週から可能です。",
    ]


# --- revising after negotiating (the counter-offer) -------------------------------------------


def _plan_snapshot():
    """Everything a refused revision must leave as it was: the proposals, plans and threads."""
    return (
        list(Proposal.objects.order_by("pk").values()),
        list(ProposedMilestone.objects.order_by("pk").values()),
        list(ProposalMessage.objects.order_by("pk").values()),
        _snapshot(),
    )


def _revise_refused(error_class, **arguments):
    before = _plan_snapshot()
    with pytest.raises(error_class) as refusal:
        services.proposal_revise(**arguments)
    assert _plan_snapshot() == before
    return refusal.value


def _counter_offer(total: int = 90_000) -> services.ProposalInput:
    return proposal_input(total=total, cover_letter="ご相談の通り、深夜対応を増やしました。")


def test_the_worker_revises_the_plan_and_the_client_is_told_in_the_thread_and_by_mail(
    client_user, worker, open_job, mailoutbox, django_capture_on_commit_callbacks
):
    proposal = services.proposal_create(worker=worker, job_id=open_job.pk, data=proposal_input())
    services.proposal_message_post(
        author=client_user, proposal_id=proposal.pk, body="深夜対応を増やせますか？"
    )
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        revised = services.proposal_revise(
            worker=worker, proposal_id=proposal.pk, data=_counter_offer()
        )

    proposal.refresh_from_db()
    assert revised.pk == proposal.pk
    assert (proposal.revision, proposal.total_jpy, proposal.state) == (2, 90_000, "open")
    assert proposal.cover_letter == "ご相談の通り、深夜対応を増やしました。"
    assert [(m.position, m.title, m.amount_jpy) for m in proposal.milestones.all()] == [
        (1, "事前調査", 18_000),
        (2, "待機・深夜対応", 18_000),
        (3, "実作業", 45_000),
        (4, "作業完了確認", 9_000),
    ]
    last = proposal.messages.last()
    assert last is not None
    assert last.author == worker
    assert last.body == "提案が第2版に修正されました。新しい合計金額：¥90,000"
    assert [mail.to for mail in mailoutbox] == [[client_user.email]]
    assert "第2版" in mailoutbox[0].body
    assert "¥90,000" in mailoutbox[0].body
    assert f"/jobs/proposals/{proposal.pk}/" in mailoutbox[0].body
    open_job.refresh_from_db()
    assert open_job.proposal_count == 1  # a revision is not a second proposal


def test_each_revision_raises_the_version_and_the_thread_keeps_the_history(
    client_user, worker, open_job
):
    proposal = services.proposal_create(worker=worker, job_id=open_job.pk, data=proposal_input())
    plan = [one_milestone(70_000)]

    services.proposal_revise(worker=worker, proposal_id=proposal.pk, data=_counter_offer())
    services.proposal_revise(
        worker=worker,
        proposal_id=proposal.pk,
        data=proposal_input(total=70_000, milestones=plan),
    )

    proposal.refresh_from_db()
    assert proposal.revision == 3
    assert [(m.position, m.amount_jpy) for m in proposal.milestones.all()] == [(1, 70_000)]
    assert [m.body for m in proposal.messages.all()] == [
        "提案が第2版に修正されました。新しい合計金額：¥90,000",
        "提案が第3版に修正されました。新しい合計金額：¥70,000",
    ]


def test_the_thread_note_is_in_the_clients_language(make_user, worker):
    client = make_user(email="en@example.jp", is_worker=False, preferred_language="en")
    job = services.job_create(client=client, data=job_input(), publish=True)
    proposal = services.proposal_create(worker=worker, job_id=job.pk, data=proposal_input())

    services.proposal_revise(worker=worker, proposal_id=proposal.pk, data=_counter_offer())

    assert proposal.messages.get().body == (
        "The proposal was revised to version 2. New total: ¥90,000."
    )


def test_a_consultation_is_revised_as_a_consultation(worker, open_job):
    offer = proposal_input(
        total=5_000, milestones=[one_milestone(5_000, kind="consultation")], kind="consultation"
    )
    proposal = services.proposal_create(worker=worker, job_id=open_job.pk, data=offer)

    services.proposal_revise(
        worker=worker,
        proposal_id=proposal.pk,
        data=dataclasses.replace(
            offer, total_jpy=8_000, milestones=[one_milestone(8_000, kind="consultation")]
        ),
    )

    proposal.refresh_from_db()
    assert (proposal.kind, proposal.total_jpy, proposal.revision) == ("consultation", 8_000, 2)
    error = _revise_refused(
        InvalidInput, worker=worker, proposal_id=proposal.pk, data=proposal_input()
    )
    assert error.field == "kind"


def test_only_the_proposing_worker_revises(make_user, client_user, worker, open_job):
    rival = make_user(email="rival@example.jp", is_client=False)
    stranger = make_user(email="stranger@example.jp")
    proposal = services.proposal_create(worker=worker, job_id=open_job.pk, data=proposal_input())
    services.proposal_create(worker=rival, job_id=open_job.pk, data=proposal_input())

    for person in (rival, stranger):
        _revise_refused(NotFound, worker=person, proposal_id=proposal.pk, data=_counter_offer())
    error = _revise_refused(
        Forbidden, worker=client_user, proposal_id=proposal.pk, data=_counter_offer()
    )
    assert error.code == "not_owner"
    _revise_refused(NotFound, worker=worker, proposal_id=10**9, data=_counter_offer())


@pytest.mark.parametrize("ending", ["withdrawn", "declined", "hired"])
def test_a_proposal_that_is_no_longer_open_cannot_be_revised(client_user, worker, open_job, ending):
    proposal = services.proposal_create(worker=worker, job_id=open_job.pk, data=proposal_input())
    if ending == "withdrawn":
        services.proposal_withdraw(worker=worker, proposal_id=proposal.pk)
    elif ending == "declined":
        services.proposal_decline(client=client_user, proposal_id=proposal.pk)
    else:
        hiring.proposal_hire(client=client_user, proposal_id=proposal.pk)

    error = _revise_refused(Conflict, worker=worker, proposal_id=proposal.pk, data=_counter_offer())
    # A hire also ends the job's recruiting, which is checked first.
    assert error.code == ("job_not_open" if ending == "hired" else "proposal_not_open")


def test_no_revision_once_the_job_is_closed_or_past_its_deadline(client_user, worker, open_job):
    proposal = services.proposal_create(worker=worker, job_id=open_job.pk, data=proposal_input())
    with time_machine.travel(open_job.recruiting_deadline + dt.timedelta(minutes=1)):
        # Not yet swept: the job is still "open" in the database, but recruiting has ended.
        error = _revise_refused(
            Conflict, worker=worker, proposal_id=proposal.pk, data=_counter_offer()
        )
    assert error.code == "job_not_open"

    services.job_close(client=client_user, job_id=open_job.pk)
    error = _revise_refused(Conflict, worker=worker, proposal_id=proposal.pk, data=_counter_offer())
    assert error.code == "job_not_open"


@pytest.mark.parametrize(
    ("milestones", "total", "field"),
    [
        ([], 80_000, "milestones"),
        ([one_milestone(80_000, days=0)], 80_000, "milestones[0].due_on"),
        ([one_milestone(40_000), one_milestone(100)], 40_100, "milestones[1].amount_jpy"),
        ([one_milestone(80_000, kind="consultation")], 80_000, "milestones[0].kind"),
        ([one_milestone(80_000)], 90_000, "total_jpy"),
        ([one_milestone(80_000)], 0, "total_jpy"),
    ],
)
def test_a_bad_revised_plan_is_refused_with_its_field_and_the_old_plan_stays(
    worker, open_job, milestones, total, field
):
    proposal = services.proposal_create(worker=worker, job_id=open_job.pk, data=proposal_input())
    data = dataclasses.replace(proposal_input(milestones=milestones), total_jpy=total)

    error = _revise_refused(InvalidInput, worker=worker, proposal_id=proposal.pk, data=data)

    assert error.field == field
    assert Proposal.objects.get().revision == 1


def test_an_empty_cover_letter_is_refused_on_revision(worker, open_job):
    proposal = services.proposal_create(worker=worker, job_id=open_job.pk, data=proposal_input())
    error = _revise_refused(
        InvalidInput, worker=worker, proposal_id=proposal.pk,
        data=proposal_input(cover_letter="   "),
    )  # fmt: skip
    assert error.field == "cover_letter"


def test_a_hire_naming_an_older_revision_is_refused_and_signs_nothing(
    client_user, worker, open_job
):
    proposal = services.proposal_create(worker=worker, job_id=open_job.pk, data=proposal_input())
    # Same total, different plan: only the revision tells the client's old page from the new plan.
    same_total = proposal_input(total=80_000, milestones=[one_milestone(80_000)])
    services.proposal_revise(worker=worker, proposal_id=proposal.pk, data=same_total)

    error = _revise_refused_hire(client_user, proposal.pk, expected_revision=1)
    assert (error.code, error.field) == ("proposal_changed", "expected_revision")
    assert Contract.objects.count() == 0

    contract = hiring.proposal_hire(
        client=client_user, proposal_id=proposal.pk, expected_total_jpy=80_000, expected_revision=2
    )
    assert list(contract.milestones.values_list("title", "amount_jpy")) == [("作業", 80_000)]


def _revise_refused_hire(client_user, proposal_id, **expected):
    before = _plan_snapshot()
    with pytest.raises(Conflict) as refusal:
        hiring.proposal_hire(client=client_user, proposal_id=proposal_id, **expected)
    assert _plan_snapshot() == before
    return refusal.value


# --- hiring -----------------------------------------------------------------------------------


def test_hiring_creates_the_contract_with_terms_version_one_and_declines_the_others(
    make_user, client_user, worker, open_job, mailoutbox, django_capture_on_commit_callbacks
):
    rival = make_user(email="rival@example.jp", is_client=False)
    chosen = services.proposal_create(worker=worker, job_id=open_job.pk, data=proposal_input())
    other = services.proposal_create(worker=rival, job_id=open_job.pk, data=proposal_input())
    mailoutbox.clear()

    with (
        time_machine.travel(clock.now() + dt.timedelta(hours=5)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        contract = hiring.proposal_hire(client=client_user, proposal_id=chosen.pk)

    open_job.refresh_from_db()
    chosen.refresh_from_db()
    other.refresh_from_db()
    assert (open_job.state, chosen.state, other.state) == (
        JobState.HIRED, ProposalState.HIRED, ProposalState.DECLINED,
    )  # fmt: skip
    assert (contract.client, contract.worker, contract.state) == (
        client_user, worker, ContractState.ACTIVE,
    )  # fmt: skip
    assert contract.inspection_days == 7
    states = list(contract.milestones.values_list("kind", "amount_jpy", "state"))
    assert states == [
        ("research", 16_000, MilestoneState.AWAITING_FUNDING),
        ("standby", 16_000, MilestoneState.DRAFT),
        ("main_work", 40_000, MilestoneState.DRAFT),
        ("completion_check", 8_000, MilestoneState.DRAFT),
    ]
    stats = _stats(client_user)
    assert (stats.hires, stats.publish_to_hire_seconds_total) == (1, 5 * 3600)
    assert sorted(mail.to[0] for mail in mailoutbox) == sorted(
        [rival.email, worker.email, client_user.email]
    )


def test_the_terms_snapshot_holds_every_item_the_freelance_act_asks_for_and_its_hash(
    client_user, worker, open_job
):
    proposal = services.proposal_create(worker=worker, job_id=open_job.pk, data=proposal_input())
    contract = hiring.proposal_hire(client=client_user, proposal_id=proposal.pk, inspection_days=10)

    terms = terms_current(contract=contract)
    snapshot = terms.snapshot
    # law.md L-10: parties, commission date, work content, delivery dates and place,
    # inspection completion date, amount, payment due date.
    assert snapshot["client"]["display_name"] == "発注 花子"
    assert snapshot["worker"]["display_name"] == "受注 太郎"
    assert snapshot["commissioned_on"] == services.today().isoformat()
    assert snapshot["work_content"] == open_job.description
    assert snapshot["scope"]["deliverables"] == open_job.scope_deliverables
    assert snapshot["delivery_place"]
    assert snapshot["total_jpy"] == 80_000
    first = snapshot["milestones"][0]
    due = dt.date.fromisoformat(first["due_on"])
    assert dt.date.fromisoformat(first["inspection_complete_by"]) == due + dt.timedelta(days=10)
    assert dt.date.fromisoformat(first["payment_due_on"]) <= due + dt.timedelta(days=59)
    assert snapshot["revision_rounds"] == 2
    import hashlib

    assert terms.snapshot_sha256 == hashlib.sha256(canonical_json(snapshot)).hexdigest()


def test_the_contract_events_form_a_chain_that_detects_tampering(client_user, worker, open_job):
    proposal = services.proposal_create(worker=worker, job_id=open_job.pk, data=proposal_input())
    contract = hiring.proposal_hire(client=client_user, proposal_id=proposal.pk)
    assert list(contract.events.values_list("sequence", "action")) == [
        (1, "contract_created"), (2, "funding_requested"),
    ]  # fmt: skip
    assert events_verify(contract=contract) is None

    ContractEvent.objects.filter(contract=contract, sequence=2).update(payload={"amount_jpy": 1})

    assert events_verify(contract=contract) == 2


def test_a_job_is_hired_once(make_user, client_user, worker, open_job):
    rival = make_user(email="rival@example.jp", is_client=False)
    chosen = services.proposal_create(worker=worker, job_id=open_job.pk, data=proposal_input())
    other = services.proposal_create(worker=rival, job_id=open_job.pk, data=proposal_input())
    hiring.proposal_hire(client=client_user, proposal_id=chosen.pk)

    _refused(Conflict, hiring.proposal_hire, client=client_user, proposal_id=chosen.pk)
    _refused(Conflict, hiring.proposal_hire, client=client_user, proposal_id=other.pk)
    assert open_job.contracts.count() == 1


@pytest.mark.parametrize("days", [0, 2, 15, "7"])
def test_an_inspection_period_outside_the_bounds_is_refused(client_user, worker, open_job, days):
    proposal = services.proposal_create(worker=worker, job_id=open_job.pk, data=proposal_input())
    error = _refused(
        InvalidInput, hiring.proposal_hire, client=client_user, proposal_id=proposal.pk,
        inspection_days=days,
    )  # fmt: skip
    assert error.field == "inspection_days"


def test_only_the_client_of_the_job_hires(make_user, client_user, worker, open_job):
    stranger = make_user(email="stranger@example.jp")
    proposal = services.proposal_create(worker=worker, job_id=open_job.pk, data=proposal_input())
    _refused(Forbidden, hiring.proposal_hire, client=worker, proposal_id=proposal.pk)
    _refused(NotFound, hiring.proposal_hire, client=stranger, proposal_id=proposal.pk)


def test_a_hire_on_a_price_the_client_did_not_see_is_refused(client_user, worker, open_job):
    proposal = services.proposal_create(worker=worker, job_id=open_job.pk, data=proposal_input())
    error = _refused(
        Conflict, hiring.proposal_hire, client=client_user, proposal_id=proposal.pk,
        expected_total_jpy=70_000,
    )  # fmt: skip
    assert error.code == "proposal_changed"


def test_a_plan_whose_due_dates_have_passed_cannot_be_hired(client_user, worker, open_job):
    data = proposal_input(total=80_000, milestones=[one_milestone(80_000, days=3)])
    proposal = services.proposal_create(worker=worker, job_id=open_job.pk, data=data)
    with time_machine.travel(clock.now() + dt.timedelta(days=3)):
        error = _refused(
            Conflict, hiring.proposal_hire, client=client_user, proposal_id=proposal.pk
        )
    assert error.code == "milestone_due_passed"


def test_a_paid_consultation_is_a_one_milestone_contract_that_leaves_the_job_open(
    client_user, worker, open_job
):
    consultation = services.proposal_create(
        worker=worker, job_id=open_job.pk,
        data=proposal_input(
            total=5_000, kind="consultation",
            milestones=[MilestoneInput(title="30分の相談", kind="consultation", amount_jpy=5_000,
                                       due_on=services.today() + dt.timedelta(days=3))],
        ),
    )  # fmt: skip
    # The consultation does not block the worker's full proposal on the same job.
    full = services.proposal_create(worker=worker, job_id=open_job.pk, data=proposal_input())

    contract = hiring.proposal_hire(client=client_user, proposal_id=consultation.pk)

    open_job.refresh_from_db()
    full.refresh_from_db()
    assert contract.is_consultation
    assert list(contract.milestones.values_list("amount_jpy", "state")) == [
        (5_000, MilestoneState.AWAITING_FUNDING)
    ]
    assert (open_job.state, full.state) == (JobState.OPEN, ProposalState.OPEN)
    assert _stats(client_user).consultations_sold == 1
    # And the job can still be hired properly afterwards.
    hired = hiring.proposal_hire(client=client_user, proposal_id=full.pk)
    assert not hired.is_consultation


@pytest.mark.parametrize(
    ("milestones", "total"),
    [
        (
            [one_milestone(2_500, kind="consultation"), one_milestone(2_500, kind="consultation")],
            5_000,
        ),
        ([one_milestone(60_000, kind="consultation")], 60_000),
    ],
)
def test_a_consultation_is_one_small_milestone(worker, open_job, milestones, total):
    data = proposal_input(total=total, kind="consultation", milestones=milestones)
    with pytest.raises(InvalidInput):
        services.proposal_create(worker=worker, job_id=open_job.pk, data=data)


@pytest.mark.parametrize(
    ("category", "worker_entity", "agent", "applies"),
    [
        ("design", "individual", True, True),
        ("translation", "individual", True, True),
        ("server_infrastructure", "individual", True, False),
        ("design", "corporation", True, False),
        ("design", "individual", False, False),
    ],
)
def test_withholding_is_snapshotted_onto_the_contract_by_law_md_l50_l51(
    make_user, category, worker_entity, agent, applies
):
    client = make_user(email="agent@example.jp", is_worker=False)
    User.objects.filter(pk=client.pk).update(is_withholding_agent=agent)
    client.refresh_from_db()
    person = make_user(email="p@example.jp", is_client=False, entity_type=worker_entity)
    job = services.job_create(client=client, data=job_input(category=category), publish=True)
    proposal = services.proposal_create(worker=person, job_id=job.pk, data=proposal_input())
    contract = hiring.proposal_hire(client=client, proposal_id=proposal.pk)
    assert contract.withholding_applies is applies
    assert (
        terms_current(contract=contract).snapshot["payment_terms"]["withholding_applies"] is applies
    )


def test_the_counters_equal_a_recount_from_the_jobs(make_user, client_user, worker):
    for outcome in ("hire", "close", "expire", "open", "hire"):
        job = services.job_create(client=client_user, data=job_input(), publish=True)
        if outcome == "hire":
            proposal = services.proposal_create(worker=worker, job_id=job.pk, data=proposal_input())
            hiring.proposal_hire(client=client_user, proposal_id=proposal.pk)
        elif outcome == "close":
            services.job_close(client=client_user, job_id=job.pk)
        elif outcome == "expire":
            Job.objects.filter(pk=job.pk).update(recruiting_deadline=clock.now())
            services.jobs_expire_overdue()
    running = ClientJobStats.objects.filter(client=client_user).values().get()

    services.client_job_stats_rebuild(client=client_user)

    assert ClientJobStats.objects.filter(client=client_user).values().get() == running
    assert (running["jobs_posted"], running["hires"]) == (5, 2)
    assert (running["jobs_closed_without_hire"], running["jobs_expired_without_hire"]) == (1, 1)
