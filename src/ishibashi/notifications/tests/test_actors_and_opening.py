"""Nobody is told of their own action; titles name the contract; opening a notice reads it."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from ishibashi.contracts import services as cs
from ishibashi.contracts.models import Milestone
from ishibashi.contracts.services import DeliveryUpload, hiring
from ishibashi.contracts.tests.factories import deposit
from ishibashi.contracts.tests.factories import hire as hire_contract
from ishibashi.core.errors import NotFound
from ishibashi.jobs import services as jobs_services
from ishibashi.jobs.tests.conftest import job_input, proposal_input
from ishibashi.notifications.models import Notification
from ishibashi.notifications.services import notification_open

pytestmark = pytest.mark.django_db


def _new(since: int) -> list[Notification]:
    return list(Notification.objects.filter(pk__gt=since).select_related("user").order_by("pk"))


def _last_id() -> int:
    return Notification.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def _deliver(worker: Any, milestone: Milestone) -> Any:
    upload = SimpleUploadedFile("site.zip", b"PK\x03\x04 site", content_type="application/zip")
    return cs.delivery_create(
        worker=worker,
        milestone_id=milestone.pk,
        message="納品します。",
        uploads=[DeliveryUpload(file=upload, visibility="full")],
    )


def test_across_a_lifecycle_no_notice_goes_to_the_one_who_acted(hanako, taro):
    deposit(hanako, 200_000)
    told: list[tuple[str, Any, list[Notification]]] = []

    def act(name: str, actor: Any, call: Any) -> Any:
        since = _last_id()
        result = call()
        told.append((name, actor, _new(since)))
        return result

    job = jobs_services.job_create(client=hanako, data=job_input(), publish=True)
    proposal = act(
        "propose",
        taro,
        lambda: jobs_services.proposal_create(worker=taro, job_id=job.pk, data=proposal_input()),
    )
    contract = act(
        "hire", hanako, lambda: hiring.proposal_hire(client=hanako, proposal_id=proposal.pk)
    )
    act(
        "message",
        taro,
        lambda: cs.contract_message_post(author=taro, contract_id=contract.pk, body="よろしく"),
    )
    for milestone in contract.milestones.order_by("position"):
        act("fund", hanako, lambda m=milestone: cs.milestone_fund(client=hanako, milestone_id=m.pk))
        act("start", taro, lambda m=milestone: cs.milestone_start(worker=taro, milestone_id=m.pk))
        delivery = act("deliver", taro, lambda m=milestone: _deliver(taro, m))
        act(
            "approve",
            hanako,
            lambda d=delivery: cs.delivery_approve(client=hanako, delivery_id=d.pk),
        )

    # The exceptions are requests with a deadline: the hire and each approval ask the client,
    # who acted, for the next escrow (a new to-do, not news of what they did).
    to_do = tuple(
        translation.gettext(text).split("%")[0]
        for text in ("Escrow (仮払い) requested: “%(title)s”", "Contract started: “%(title)s”")
    )
    for name, actor, notices in told:
        news = [n for n in notices if not n.subject.startswith(to_do)]
        assert all(n.user_id != actor.pk for n in news), (name, [n.subject for n in notices])
    asked = [n for _name, _a, notices in told for n in notices if n.subject.startswith(to_do)]
    assert asked
    assert {n.user_id for n in asked} == {hanako.pk}
    # Each step told the other party something: the rule hides nothing from them.
    by_step = {name: {n.user_id for n in notices} for name, _a, notices in told}
    assert by_step["propose"] == {hanako.pk}
    assert by_step["hire"] == {taro.pk, hanako.pk}
    assert by_step["fund"] == {taro.pk}
    assert by_step["deliver"] == {hanako.pk}
    assert by_step["approve"] >= {taro.pk}
    assert by_step["message"] == {hanako.pk}


def test_milestone_notices_name_the_contract_and_the_milestone(hanako, taro):
    deposit(hanako, 200_000)
    contract = hire_contract(hanako, taro)
    milestone = contract.milestones.order_by("position").first()
    assert milestone is not None
    since = _last_id()

    cs.milestone_fund(client=hanako, milestone_id=milestone.pk)

    assert [n.subject for n in _new(since)] == [
        "仮払い完了：「WordPressサーバー移行作業 / 実作業」"
    ]


def test_an_english_worker_is_told_in_english_when_a_japanese_client_acts(hanako, emma):
    deposit(hanako, 200_000)
    contract = hire_contract(hanako, emma)
    milestone = contract.milestones.order_by("position").first()
    assert milestone is not None
    since = _last_id()

    cs.milestone_fund(client=hanako, milestone_id=milestone.pk)

    (notice,) = _new(since)
    assert notice.user_id == emma.pk
    assert notice.subject == "Escrow funded: “WordPressサーバー移行作業 / 実作業”"
    assert notice.language == "en"


def test_opening_marks_read_once_and_only_for_its_owner(hanako, taro, hire):
    # given
    contract = hire(hanako, taro)
    notice = Notification.objects.get(user=taro)

    # when someone else tries, then nothing changes
    with pytest.raises(NotFound):
        notification_open(user=hanako, notification_id=notice.pk)
    notice.refresh_from_db()
    assert notice.read_at is None

    # when the owner opens it
    opened = notification_open(user=taro, notification_id=notice.pk)
    first_read = opened.read_at
    assert first_read is not None
    assert opened.path == f"/contracts/{contract.pk}/"
    # and again: the first read time stays
    assert notification_open(user=taro, notification_id=notice.pk).read_at == first_read
