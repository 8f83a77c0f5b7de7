"""The demo data loads idempotently; the worker runs queued tasks; the CLI dispatches."""

import pytest
from django.core.management import call_command

from ishibashi.accounts.models import User
from ishibashi.accounts.services import user_authenticate
from ishibashi.config.cli import main
from ishibashi.contracts.models import Contract
from ishibashi.jobs.models import Job, JobState
from ishibashi.jobs.selectors import JobFilters, job_search
from ishibashi.operations.demo import DEMO_JOBS, DEMO_PASSWORD, DEMO_PEOPLE, seed_demo
from ishibashi.operations.worker import WorkerLoop


def test_seed_demo_is_idempotent_and_its_log_ins_work(db):
    seed_demo()
    seed_demo()

    assert User.objects.count() == len(DEMO_PEOPLE)
    for person in DEMO_PEOPLE:
        user = user_authenticate(email=person.email, password=DEMO_PASSWORD, ip_address=None)
        assert user.display_name == person.display_name


def test_the_demo_has_jobs_to_browse_and_a_hired_contract_awaiting_escrow(db):
    seed_demo()
    seed_demo()

    assert Job.objects.filter(state=JobState.OPEN).count() == len(DEMO_JOBS) - 1
    found = job_search(JobFilters(q="ネットショップ")).jobs
    assert [job.title for job in found] == ["ネットショップ開設のお手伝い（商品登録50点）"]
    contract = Contract.objects.get(state="active")
    assert contract.worker.email == "worker@example.jp"
    assert [m.title for m in contract.milestones.all()] == [
        "事前調査", "待機・深夜対応", "実作業", "作業完了確認",
    ]  # fmt: skip


def test_seed_demo_command_prints_the_log_ins(db, capsys):
    main(["seed-demo"])

    out = capsys.readouterr().out
    assert "worker@example.jp" in out
    assert DEMO_PASSWORD in out


def test_cli_help_lists_the_commands(capsys):
    assert main(["--help"]) == 0

    out = capsys.readouterr().out
    for command in ("serve", "worker", "demo", "seed-demo", "sweep"):
        assert command in out


@pytest.mark.django_db(transaction=True)
def test_a_worker_round_runs_queued_tasks():
    from ishibashi.operations.tests.tasks import record_greeting

    result = record_greeting.enqueue(greeting="こんにちは")

    WorkerLoop(interval_seconds=0).run_round()

    result.refresh()
    assert result.status == "SUCCESSFUL"
    assert result.return_value == "こんにちは!"


def test_sweep_command_runs(db):
    call_command("sweep", "--once")


def test_the_demo_has_a_finished_contract_with_both_reviews_published(db):
    from ishibashi.reviews.models import Review
    from ishibashi.reviews.selectors import rating_summary

    seed_demo()
    seed_demo()

    reviews = Review.objects.filter(published_at__isnull=False).order_by("pk")
    assert [r.author.email for r in reviews] == ["designer@example.jp", "shop@example.jp"]
    assert reviews[0].facts == [{"kind": "auto_approved", "count": 1}]
    shop = User.objects.get(email="shop@example.jp")
    assert (rating_summary(shop.pk, "client").count, rating_summary(shop.pk, "client").average) == (
        1,
        2.0,
    )
