"""Fixtures for jobs: a client, a worker, an open job and the inputs to make more."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from ishibashi.core import clock
from ishibashi.jobs import services
from ishibashi.jobs.services import JobInput, MilestoneInput, ProposalInput


@pytest.fixture(autouse=True)
def _cheap_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def job_input(**changes: Any) -> JobInput:
    fields: dict[str, Any] = {
        "title": "WordPressサーバー移行作業",
        "description": "既存のWordPressサイトを新しいサーバーへ移行してください。深夜の切り替えあり。",
        "category": "server_infrastructure",
        "contract_type": "fixed",
        "budget_min_jpy": 50_000,
        "budget_max_jpy": 100_000,
        "recruiting_deadline": clock.now() + dt.timedelta(days=7),
        "desired_delivery_on": services.today() + dt.timedelta(days=30),
        "scope_deliverables": "移行済みのサイト、作業報告書",
        "scope_acceptance_criteria": "新サーバーで全ページが表示されること",
        "scope_out_of_scope": "デザインの変更",
        "revision_rounds": 2,
    }
    fields.update(changes)
    return JobInput(**fields)


def proposal_input(total: int = 80_000, **changes: Any) -> ProposalInput:
    due = services.today() + dt.timedelta(days=20)
    fields: dict[str, Any] = {
        "cover_letter": "サーバー移行の経験が10年あります。",
        "total_jpy": total,
        "milestones": services.split_pay_plan(total_jpy=total, due_on=due),
    }
    fields.update(changes)
    return ProposalInput(**fields)


def one_milestone(amount: int, *, kind: str = "main_work", days: int = 10) -> MilestoneInput:
    return MilestoneInput(
        title="作業",
        kind=kind,
        amount_jpy=amount,
        due_on=services.today() + dt.timedelta(days=days),
    )


@pytest.fixture
def client_user(make_user):
    return make_user(email="client@example.jp", display_name="発注 花子", is_worker=False)


@pytest.fixture
def worker(make_user):
    return make_user(email="worker@example.jp", display_name="受注 太郎", is_client=False)


@pytest.fixture
def open_job(client_user):
    return services.job_create(client=client_user, data=job_input(), publish=True)
