"""Contracts made the way users make them: a job posted, a proposal sent and hired, money deposited.

Shared by the contracts tests, the race and property tests, and the browser tests.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from typing import Any

from django.db import transaction

from ishibashi.contracts.models import Contract
from ishibashi.contracts.services import hiring
from ishibashi.core import clock
from ishibashi.jobs import services as jobs
from ishibashi.jobs.services import JobInput, MilestoneInput, ProposalInput
from ishibashi.ledger.services import deposit_credit

_deposits = itertools.count(1)

# The seed's split (research, stand-by, main work, completion check) as (title, kind, yen).
SEED_SPLIT: tuple[tuple[str, str, int], ...] = (
    ("事前調査", "research", 20_000),
    ("深夜待機", "standby", 30_000),
    ("実作業", "main_work", 100_000),
    ("作業完了確認", "completion_check", 20_000),
)
SIMPLE_SPLIT: tuple[tuple[str, str, int], ...] = (
    ("実作業", "main_work", 60_000),
    ("作業完了確認", "completion_check", 20_000),
)


def deposit(user: Any, amount_jpy: int) -> None:
    """Money in the client's wallet, as a confirmed sandbox deposit would put it there."""
    n = next(_deposits)
    # Its own transaction, so browser tests (autocommit) can call it as well as unit tests.
    with transaction.atomic():
        deposit_credit(
            user=user,
            amount_jpy=amount_jpy,
            idempotency_key=f"test-deposit:{n}:{user.pk}",
            reference=f"test:{n}",
        )


def hire(
    client: Any,
    worker: Any,
    *,
    split: Sequence[tuple[str, str, int]] = SIMPLE_SPLIT,
    contract_type: str = "fixed",
    category: str = "server_infrastructure",
    revision_rounds: int = 2,
    inspection_days: int | None = None,
    kill_fee_percent: int = 0,
    due_in_days: int = 20,
) -> Contract:
    """A job posted, proposed on and hired through the services; returns the contract."""
    now = clock.now()
    today = now.date()
    total = sum(amount for _title, _kind, amount in split)
    job = jobs.job_create(
        client=client,
        data=JobInput(
            title="WordPressサーバー移行作業",
            description="既存のWordPressサイトを新しいサーバーへ移行してください。",
            category=category,
            contract_type=contract_type,
            budget_min_jpy=max(1_000, total // 2),
            budget_max_jpy=total * 2,
            recruiting_deadline=now + dt.timedelta(days=7),
            desired_delivery_on=today + dt.timedelta(days=due_in_days + 10),
            scope_deliverables="移行済みのサイト",
            scope_acceptance_criteria="全ページが表示されること",
            scope_out_of_scope="デザインの変更",
            revision_rounds=revision_rounds,
        ),
        publish=True,
    )
    due = today + dt.timedelta(days=due_in_days)
    proposal = jobs.proposal_create(
        worker=worker,
        job_id=job.pk,
        data=ProposalInput(
            cover_letter="経験があります。",
            total_jpy=total,
            milestones=[
                MilestoneInput(title=title, kind=kind, amount_jpy=amount, due_on=due)
                for title, kind, amount in split
            ],
        ),
    )
    return hiring.proposal_hire(
        client=client,
        proposal_id=proposal.pk,
        inspection_days=inspection_days,
        kill_fee_percent=kill_fee_percent,
    )
