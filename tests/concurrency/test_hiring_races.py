"""Hiring races: two hires of one job, or a hire against a close, end with exactly one outcome."""

import datetime as dt

import pytest
from django.db import transaction

from ishibashi.contracts.models import Contract
from ishibashi.contracts.services import hiring
from ishibashi.core import clock
from ishibashi.jobs import services
from ishibashi.jobs.models import ClientJobStats, Job, JobState, ProposalState
from ishibashi.jobs.services import JobInput, ProposalInput
from tests.concurrency.racing import race

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _cheap_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _job(client):
    return services.job_create(
        client=client, publish=True,
        data=JobInput(
            title="サーバー移行", description="移行作業", category="server_infrastructure",
            contract_type="fixed", budget_min_jpy=10_000, budget_max_jpy=90_000,
            recruiting_deadline=clock.now() + dt.timedelta(days=5),
            desired_delivery_on=services.today() + dt.timedelta(days=30),
            scope_deliverables="移行済みサイト", scope_acceptance_criteria="表示されること",
        ),
    )  # fmt: skip


def _proposal(worker, job):
    total = 40_000
    plan = services.split_pay_plan(total_jpy=total, due_on=services.today() + dt.timedelta(days=9))
    return services.proposal_create(
        worker=worker, job_id=job.pk,
        data=ProposalInput(cover_letter="よろしくお願いします", total_jpy=total, milestones=plan),
    )  # fmt: skip


def test_eight_proposals_hired_at_once_make_exactly_one_contract(make_user):
    client = make_user(email="client@example.jp", is_worker=False)
    job = _job(client)
    proposals = [
        _proposal(make_user(email=f"w{n}@example.jp", is_client=False), job) for n in range(8)
    ]

    outcomes = race(
        8, lambda n: hiring.proposal_hire(client=client, proposal_id=proposals[n].pk).pk
    )

    hired = [value for kind, value in outcomes if kind == "ok"]
    refused = [value for kind, value in outcomes if kind == "refused"]
    assert len(hired) == 1
    assert {error.code for error in refused} <= {"job_not_open", "proposal_not_open"}
    assert Contract.objects.filter(job=job).count() == 1
    states = sorted(job.proposals.values_list("state", flat=True))
    assert states == sorted([ProposalState.HIRED] + [ProposalState.DECLINED] * 7)
    assert ClientJobStats.objects.get(client=client).hires == 1


def test_a_hire_racing_a_close_ends_one_way_or_the_other(make_user):
    client = make_user(email="client@example.jp", is_worker=False)
    for _round in range(3):
        job = _job(client)
        proposal = _proposal(make_user(is_client=False), job)

        def act(n, job=job, proposal=proposal):
            with transaction.atomic():
                if n == 0:
                    return hiring.proposal_hire(client=client, proposal_id=proposal.pk).pk
                return services.job_close(client=client, job_id=job.pk).pk

        outcomes = race(2, act)

        assert [kind for kind, _value in outcomes].count("ok") == 1
        job = Job.objects.get(pk=job.pk)
        contracts = Contract.objects.filter(job=job).count()
        assert (job.state, contracts) in {(JobState.HIRED, 1), (JobState.CLOSED_WITHOUT_HIRE, 0)}


def test_a_double_submitted_proposal_is_stored_once(make_user):
    client = make_user(email="client@example.jp", is_worker=False)
    worker = make_user(email="worker@example.jp", is_client=False)
    job = _job(client)

    outcomes = race(4, lambda n: _proposal(worker, job).pk)

    assert [kind for kind, _value in outcomes].count("ok") == 1
    assert job.proposals.count() == 1
    assert Job.objects.get(pk=job.pk).proposal_count == 1
