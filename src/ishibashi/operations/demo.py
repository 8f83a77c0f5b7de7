"""The demo marketplace (Japanese): a few clients and workers, loaded idempotently."""

from __future__ import annotations

from dataclasses import dataclass

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
def seed_demo() -> list[User]:
    """Create the demo people that are missing; people already there are left as they are."""
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
