"""The demo marketplace (Japanese): a few clients and workers, loaded idempotently."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from ishibashi.accounts.models import EntityType, User
from ishibashi.accounts.services import user_profile_update, user_signup

DEMO_PASSWORD = "ishibashi-demo-2026"


@dataclass(frozen=True)
class DemoPerson:
    email: str
    display_name: str
    entity_type: str
    is_client: bool
    is_worker: bool
    bio: str
    skills: tuple[str, ...] = ()
    invoice_registration_number: str = ""
    has_employees: bool = False
    is_withholding_agent: bool = False


DEMO_PEOPLE: tuple[DemoPerson, ...] = (
    DemoPerson(
        email="client@example.jp",
        display_name="株式会社さくらウェブ",
        entity_type=EntityType.CORPORATION,
        is_client=True,
        is_worker=False,
        bio="東京のウェブ制作会社です。サーバー移行や WordPress 案件を定期的に発注しています。",
        invoice_registration_number="T1234567890123",
        has_employees=True,
        is_withholding_agent=True,
    ),
    DemoPerson(
        email="shop@example.jp",
        display_name="山田商店",
        entity_type=EntityType.INDIVIDUAL,
        is_client=True,
        is_worker=False,
        bio="地方で雑貨店を営んでいます。ネットショップの立ち上げを手伝ってくださる方を探しています。",
    ),
    DemoPerson(
        email="worker@example.jp",
        display_name="田中 美咲",
        entity_type=EntityType.INDIVIDUAL,
        is_client=False,
        is_worker=True,
        bio="インフラエンジニア歴8年。サーバー移行・深夜メンテナンス対応が得意です。",
        skills=("サーバー移行", "Linux", "WordPress", "深夜対応"),
        invoice_registration_number="T9876543210987",
    ),
    DemoPerson(
        email="designer@example.jp",
        display_name="佐藤 健",
        entity_type=EntityType.INDIVIDUAL,
        is_client=False,
        is_worker=True,
        bio="副業でウェブデザインとコーディングをしています。仮払い後に着手します。",
        skills=("ウェブデザイン", "HTML/CSS", "コーディング"),
    ),
    DemoPerson(
        email="both@example.jp",
        display_name="鈴木 翻訳事務所",
        entity_type=EntityType.INDIVIDUAL,
        is_client=True,
        is_worker=True,
        bio="日英翻訳を受注しつつ、校正を外部に発注することもあります。",
        skills=("翻訳", "校正"),
    ),
)


@transaction.atomic
def demo_refused_in_production() -> None:
    """The demo people share a published password: never on a live site."""
    if settings.IS_PRODUCTION:
        raise ImproperlyConfigured("the demo is not for production (ISHIBASHI_ENVIRONMENT)")


def seed_demo() -> list[User]:
    """Create the demo people that are missing; people already there are left as they are."""
    demo_refused_in_production()
    users: list[User] = []
    for person in DEMO_PEOPLE:
        user = User.objects.filter(email=person.email).first()
        if user is None:
            user = user_signup(
                email=person.email,
                password=DEMO_PASSWORD,
                display_name=person.display_name,
                entity_type=person.entity_type,
                is_client=person.is_client,
                is_worker=person.is_worker,
                email_verified=True,
            )
            user = user_profile_update(
                user=user,
                changes={
                    "bio": person.bio,
                    "skills": list(person.skills),
                    "invoice_registration_number": person.invoice_registration_number,
                    "has_employees": person.has_employees,
                    "is_withholding_agent": person.is_withholding_agent,
                },
            )
        users.append(user)
    _seed_demo_money(users)
    _seed_demo_jobs({user.email: user for user in users})
    _seed_demo_reviews({user.email: user for user in users})
    return users


def _seed_demo_money(users: list[User]) -> None:
    """Clients start with a sandbox deposit so they can fund escrow straight away."""
    from ishibashi.payments.providers import SANDBOX_CARD_SUCCEEDS
    from ishibashi.payments.services import deposit_start

    for user in users:
        if user.is_client:
            deposit_start(
                user=user,
                amount_jpy=300_000,
                method="card",
                card_number=SANDBOX_CARD_SUCCEEDS,
                idempotency_key="demo:opening-deposit",
            )


@dataclass(frozen=True)
class DemoJob:
    client: str
    title: str
    description: str
    category: str
    budget: tuple[int, int]
    deliverables: str
    acceptance: str
    out_of_scope: str = ""
    contract_type: str = "fixed"


DEMO_JOBS: tuple[DemoJob, ...] = (
    DemoJob(
        client="client@example.jp",
        title="WordPressサーバー移行作業（深夜切り替えあり）",
        description="レンタルサーバーからVPSへWordPressサイト3件を移行します。DNS切り替えは深夜2時〜4時に"
        "お願いします。事前調査・待機・実作業・完了確認に分けてお支払いします。",
        category="server_infrastructure",
        budget=(80_000, 150_000),
        deliverables="移行済みのサイト3件、作業報告書",
        acceptance="新サーバーで全ページとフォームが動作すること",
        out_of_scope="デザイン変更、プラグインの追加",
    ),
    DemoJob(
        client="client@example.jp",
        title="コーポレートサイトのLP制作（レスポンシブ対応）",
        description="新サービスのランディングページ1枚をHTML/CSSで制作してください。デザインカンプあり。",
        category="web_development",
        budget=(50_000, 100_000),
        deliverables="HTML/CSS一式",
        acceptance="主要ブラウザとスマートフォンで崩れずに表示されること",
    ),
    DemoJob(
        client="shop@example.jp",
        title="ネットショップ開設のお手伝い（商品登録50点）",
        description="雑貨店のネットショップを開設します。商品写真と説明文の登録をお願いします。",
        category="data_entry",
        budget=(20_000, 40_000),
        deliverables="登録済みの商品ページ50点",
        acceptance="全商品が価格と写真つきで公開されていること",
    ),
    DemoJob(
        client="both@example.jp",
        title="英文契約書の翻訳チェック（校正）",
        description="日本語に翻訳済みの英文契約書（約8,000字）の校正をお願いします。",
        category="translation",
        budget=(15_000, 30_000),
        deliverables="修正履歴つきの校正済みファイル",
        acceptance="誤訳・表記ゆれの指摘が反映されていること",
    ),
)


def _seed_demo_delivery(contract: Any) -> None:
    """The research milestone funded, done and delivered: its inspection clock is running."""
    from ishibashi.contracts import services as contracts

    research = contract.milestones.order_by("position").first()
    contracts.milestone_fund(client=contract.client, milestone_id=research.pk)
    contracts.milestone_start(worker=contract.worker, milestone_id=research.pk)
    contracts.delivery_create(
        worker=contract.worker,
        milestone_id=research.pk,
        message="事前調査が完了しました。現行サーバーの構成（PHP 7.4、MySQL 5.7、プラグイン12個）と"
        "移行手順をまとめました。深夜の切り替えは2時間の予定です。",
    )


def _seed_demo_jobs(people: dict[str, User]) -> None:
    """Open jobs to browse, and one hired with the seed's four-part split, unless already there."""
    import datetime as dt

    from ishibashi.contracts.services import hiring
    from ishibashi.core import clock
    from ishibashi.jobs import services as jobs
    from ishibashi.jobs.models import Job

    for demo in DEMO_JOBS:
        client = people[demo.client]
        if Job.objects.filter(client=client, title=demo.title).exists():
            continue
        job = jobs.job_create(
            client=client,
            publish=True,
            data=jobs.JobInput(
                title=demo.title,
                description=demo.description,
                category=demo.category,
                contract_type=demo.contract_type,
                budget_min_jpy=demo.budget[0],
                budget_max_jpy=demo.budget[1],
                recruiting_deadline=clock.now() + dt.timedelta(days=14),
                desired_delivery_on=jobs.today() + dt.timedelta(days=45),
                scope_deliverables=demo.deliverables,
                scope_acceptance_criteria=demo.acceptance,
                scope_out_of_scope=demo.out_of_scope,
                revision_rounds=2,
            ),
        )
        if demo is DEMO_JOBS[0]:
            proposal = jobs.proposal_create(
                worker=people["worker@example.jp"],
                job_id=job.pk,
                data=jobs.ProposalInput(
                    cover_letter="サーバー移行の経験が8年あります。深夜の切り替えにも対応します。"
                    "事前調査・待機・実作業・完了確認に分けたお見積りです。",
                    total_jpy=120_000,
                    milestones=jobs.split_pay_plan(
                        total_jpy=120_000, due_on=jobs.today() + dt.timedelta(days=21)
                    ),
                ),
            )
            contract = hiring.proposal_hire(
                client=client, proposal_id=proposal.pk, kill_fee_percent=20
            )
            _seed_demo_delivery(contract)
        elif demo is DEMO_JOBS[1]:
            jobs.proposal_create(
                worker=people["designer@example.jp"],
                job_id=job.pk,
                data=jobs.ProposalInput(
                    cover_letter="デザインカンプからのコーディングが得意です。",
                    total_jpy=80_000,
                    milestones=[
                        jobs.MilestoneInput(
                            title="コーディング一式",
                            kind="main_work",
                            amount_jpy=80_000,
                            due_on=jobs.today() + dt.timedelta(days=20),
                        )
                    ],
                ),
            )


DEMO_REVIEWED_JOB = "商品写真の切り抜き（30点）"


def _seed_demo_reviews(people: dict[str, User]) -> None:
    """A finished contract with both reviews published: 山田商店 stayed silent after the delivery,
    it was approved automatically, and 佐藤 健's review of the shop carries that fact."""
    import datetime as dt

    from ishibashi.contracts import services as contracts
    from ishibashi.contracts.models import Milestone
    from ishibashi.core import clock
    from ishibashi.jobs import services as jobs
    from ishibashi.jobs.models import Job
    from ishibashi.reviews.services import ReviewInput, review_submit

    shop, designer = people["shop@example.jp"], people["designer@example.jp"]
    if Job.objects.filter(client=shop, title=DEMO_REVIEWED_JOB).exists():
        return
    due = jobs.today() + dt.timedelta(days=10)
    job = jobs.job_create(
        client=shop,
        publish=True,
        data=jobs.JobInput(
            title=DEMO_REVIEWED_JOB, description="商品写真30点の背景を白に切り抜いてください。",
            category="design", contract_type="fixed", budget_min_jpy=10_000,
            budget_max_jpy=20_000, recruiting_deadline=clock.now() + dt.timedelta(days=7),
            desired_delivery_on=due, scope_deliverables="切り抜き済みの画像30点",
            scope_acceptance_criteria="背景が白一色であること", revision_rounds=1,
        ),
    )  # fmt: skip
    plan = [
        jobs.MilestoneInput(title="切り抜き30点", kind="research", amount_jpy=15_000, due_on=due)
    ]
    proposal = jobs.proposal_create(
        worker=designer,
        job_id=job.pk,
        data=jobs.ProposalInput(
            cover_letter="切り抜きは得意です。", total_jpy=15_000, milestones=plan
        ),
    )
    contract = contracts.proposal_hire(client=shop, proposal_id=proposal.pk)
    milestone = contract.milestones.get()
    contracts.milestone_fund(client=shop, milestone_id=milestone.pk)
    contracts.delivery_create(
        worker=designer, milestone_id=milestone.pk, message="30点納品します。"
    )
    # The demo cannot wait the inspection days: the shop's silence runs out now, and the
    # sweeper approves the delivery automatically, as it would at the real deadline.
    Milestone.objects.filter(pk=milestone.pk).update(
        clock_deadline_at=clock.now(), action_due_at=clock.now()
    )
    contracts.milestones_sweep_due()
    review_submit(
        author=designer, contract_id=contract.pk,
        data=ReviewInput(overall=2, communication=2, clarity=4, payment_speed=2,
                         text="依頼内容は明確でしたが、納品後に連絡がなく自動承認になりました。"),
    )  # fmt: skip
    review_submit(
        author=shop, contract_id=contract.pk,
        data=ReviewInput(overall=5, quality=5, timeliness=5, communication=4,
                         text="仕上がりがきれいで早かったです。確認が遅れてすみません。"),
    )  # fmt: skip
