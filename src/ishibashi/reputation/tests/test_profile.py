"""The profile built from real histories: the counters, the pages, the API, the rebuild and the
number of queries a read costs whatever the history."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from ishibashi.contracts import services as cs
from ishibashi.contracts.models import ClientContractStats, ContractEvent
from ishibashi.contracts.tests.factories import deposit
from ishibashi.jobs import services as jobs
from ishibashi.jobs.models import ClientJobStats
from ishibashi.jobs.services import JobInput, MilestoneInput, ProposalInput
from ishibashi.reputation.tests.stories import (
    DAY,
    HOUR,
    Story,
    client_with_auto_approvals,
    rebuild_agrees,
)

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 6, 1, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
SENTENCE = "過去の契約12件中3件で検収がなく自動承認されています"


@pytest.fixture(autouse=True)
def _cheap(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def hanako(make_user):
    return make_user(email="hanako@example.jp", display_name="発注 花子", is_worker=False)


@pytest.fixture
def taro(make_user):
    return make_user(email="taro@example.jp", display_name="受注 太郎", is_client=False)


def _open_job(client):
    from ishibashi.core import clock

    return jobs.job_create(
        client=client,
        data=JobInput(
            title="サイトのコーディング",
            description="企業サイトのコーディングをお願いします。",
            category="server_infrastructure",
            contract_type="fixed",
            budget_min_jpy=10_000,
            budget_max_jpy=50_000,
            recruiting_deadline=clock.now() + 7 * DAY,
            desired_delivery_on=jobs.today() + 30 * DAY,
            scope_deliverables="HTML",
            scope_acceptance_criteria="表示されること",
            scope_out_of_scope="デザイン",
            revision_rounds=1,
        ),
        publish=True,
    )


def test_three_automatic_approvals_in_twelve_contracts_show_as_a_warning_everywhere(
    hanako, taro, make_user
):
    client_with_auto_approvals(hanako, taro, contracts=12, automatic=3, start=START)
    job = _open_job(hanako)
    anonymous = Client()

    api = anonymous.get(f"/api/v1/clients/{hanako.pk}/reliability").json()
    assert (api["level"], api["level_label"]) == ("warning", "要注意")
    assert api["reasons"][0]["code"] == "auto_approvals"
    assert api["reasons"][0]["text"] == SENTENCE
    assert api["reasons"][0]["help_url"] == "/help/reliability/#auto-approvals"
    assert (api["reasons"][0]["events"], api["reasons"][0]["trials"]) == (3, 12)
    assert api["reasons"][0]["smoothed_rate"] == pytest.approx(4 / 22, abs=1e-4)
    signals = api["signals"]
    assert (signals["contracts_completed"], signals["auto_approvals"]) == (12, 3)
    assert (signals["payment_verified"], signals["jobs_posted"], signals["hires"]) == (
        True,
        13,
        12,
    )
    # Escrow two hours after the hire, approval three hours after delivery (or 7 days + 1 h).
    assert signals["median_time_to_fund"]["lower_seconds"] == 2 * 3600
    assert signals["median_time_to_inspect"]["upper_seconds"] == 4 * 3600
    assert signals["rating"] == {"count": 0, "average": None, "text": "評価はまだありません"}
    assert api["smoothing"]["contract_prior"] == [1, 9]
    english = anonymous.get(
        f"/api/v1/clients/{hanako.pk}/reliability", HTTP_ACCEPT_LANGUAGE="en"
    ).json()
    assert english["level_label"] == "Warning"
    assert english["reasons"][0]["text"].startswith("In 3 of 12 past contracts")

    # The job page and the proposal form show it before the propose button.
    detail = anonymous.get(f"/jobs/{job.pk}/").content.decode()
    assert SENTENCE in detail
    assert "要注意" in detail
    worker = Client()
    worker.force_login(make_user(is_client=False))
    form = worker.get(f"/jobs/{job.pk}/propose/").content.decode()
    assert form.index(SENTENCE) < form.index('data-testid="send-proposal"')
    page = worker.get(f"/jobs/{job.pk}/").content.decode()
    assert page.index(SENTENCE) < page.index('data-testid="propose"')
    # The public profile shows the whole profile; the job list the level and top reason.
    profile = anonymous.get(f"/accounts/users/{hanako.pk}/").content.decode()
    assert 'data-testid="client-reliability"' in profile
    assert SENTENCE in profile
    listing = anonymous.get("/jobs/").content.decode()
    assert 'data-testid="reliability-summary"' in listing
    assert SENTENCE in listing
    assert rebuild_agrees()


def test_the_reliability_and_track_record_are_public_and_unknown_ids_are_404(hanako, taro):
    anonymous = Client()
    fresh = anonymous.get(f"/api/v1/clients/{hanako.pk}/reliability").json()
    assert fresh["level"] == "not_enough_history"
    assert fresh["reasons"][0]["text"] == "終了した契約が0件で、実績が少ないため判定できません"
    assert anonymous.get("/api/v1/clients/999999/reliability").status_code == 404
    assert anonymous.get("/api/v1/workers/999999/track-record").status_code == 404
    record = anonymous.get(f"/api/v1/workers/{taro.pk}/track-record").json()
    assert record["level"] == "not_enough_history"
    assert record["signals"]["rating"]["text"] == "評価はまだありません"
    assert anonymous.get("/help/reliability/").status_code == 200
    help_en = anonymous.get("/help/reliability/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for anchor in ("level", "auto-approvals", "silence", "no-hire", "medians", "worker"):
        assert f'id="{anchor}"' in help_en


def test_the_worker_track_record_counts_on_time_deliveries_and_revisions(hanako, taro):
    deposit(hanako, 100_000)
    story = Story(START)
    try:
        for _ in range(3):
            story.approved(hanako, taro)
        _contract, milestone, delivery_id = story.delivered(hanako, taro)
        cs.delivery_request_revision(
            client=hanako, delivery_id=delivery_id, reason="直してください"
        )
        story.move(30 * DAY)  # the due date (20 days after the hire) has passed
        late = cs.delivery_create(worker=taro, milestone_id=milestone.pk, message="修正しました")
        cs.delivery_approve(client=hanako, delivery_id=late.pk)
    finally:
        story.stop()
    record = Client().get(f"/api/v1/workers/{taro.pk}/track-record").json()
    signals = record["signals"]
    assert (signals["contracts_completed"], signals["milestones_delivered"]) == (4, 4)
    # The first delivery of each milestone was on time, the revised one came late but its
    # first delivery did not: on time counts the first delivery.
    assert signals["delivered_on_time"] == 4
    assert signals["revision_requests"] == 1
    assert record["level"] == "reliable"
    page = Client().get(f"/accounts/users/{taro.pk}/").content.decode()
    assert 'data-testid="worker-track-record"' in page


def test_the_reply_clock_and_silence_during_work_are_counted_as_they_happen(hanako, taro):
    deposit(hanako, 100_000)
    story = Story(START)
    try:
        contract, _milestone = story.started(hanako, taro)
        cs.contract_message_post(author=taro, contract_id=contract.pk, body="質問があります。")
        story.move(HOUR)
        cs.contract_message_post(author=taro, contract_id=contract.pk, body="ご確認ください。")
        story.move(2 * HOUR)  # three hours after the first unanswered message
        cs.contract_message_post(author=hanako, contract_id=contract.pk, body="確認します。")
        cs.contract_message_post(author=hanako, contract_id=contract.pk, body="追記です。")
        cs.contract_message_post(author=taro, contract_id=contract.pk, body="その後いかがですか。")
        story.move(7 * DAY + HOUR)
        story.sweep()
    finally:
        story.stop()
    stats = ClientContractStats.objects.get(client=hanako)
    # One reply, in the 2-4 h bucket; the second client message answered nothing.
    assert stats.reply_b03 == 1
    assert sum(getattr(stats, f"reply_b{b:02d}") for b in range(12)) == 1
    assert stats.client_reply_silences == 1
    assert ContractEvent.objects.filter(action="client_silence_expired").count() == 1
    api = Client().get(f"/api/v1/clients/{hanako.pk}/reliability").json()
    assert api["signals"]["silences_during_work"] == 1
    assert api["signals"]["median_reply_time"]["text"] == "2時間〜4時間"
    assert rebuild_agrees()


def test_dispute_outcomes_cancellations_and_flags_are_counted_and_recounted(
    hanako, taro, make_user
):
    operator = make_user(email="ops@example.jp")
    operator.is_staff = True
    operator.save(update_fields=["is_staff"])
    deposit(hanako, 200_000)
    story = Story(START)
    try:
        for worker_share in (10_000, 4_000, 0):
            contract, milestone = story.started(hanako, taro)
            cs.milestone_dispute(actor=taro, milestone_id=milestone.pk, reason="返信がありません")
            cs.milestone_dispute_resolve(
                operator=operator,
                milestone_id=milestone.pk,
                worker_amount_jpy=worker_share,
                note="判断",
            )
        contract, _milestone = story.started(hanako, taro)
        cs.contract_flag(worker=taro, contract_id=contract.pk, kind="asked_before_escrow")
        cs.contract_cancel(actor=hanako, contract_id=contract.pk, reason="不要になりました")
    finally:
        story.stop()
    stats = ClientContractStats.objects.get(client=hanako)
    assert (stats.disputes, stats.disputes_for_worker, stats.disputes_split) == (3, 1, 1)
    assert stats.disputes_for_client == 1
    assert (stats.cancellations_after_funding, stats.escrow_before_work_flags) == (1, 1)
    assert rebuild_agrees()


def test_a_paid_consultation_on_a_job_closed_without_hiring_counts_as_unconverted(hanako, taro):
    deposit(hanako, 50_000)
    job = _open_job(hanako)
    proposal = jobs.proposal_create(
        worker=taro,
        job_id=job.pk,
        data=ProposalInput(
            cover_letter="まずご相談から。",
            total_jpy=5_000,
            kind="consultation",
            milestones=[
                MilestoneInput(
                    title="相談", kind="consultation", amount_jpy=5_000, due_on=jobs.today() + DAY
                )
            ],
        ),
    )
    cs.proposal_hire(client=hanako, proposal_id=proposal.pk)
    jobs.job_close(client=hanako, job_id=job.pk)
    stats = ClientJobStats.objects.get(client=hanako)
    assert (stats.consultations_sold, stats.consultations_unconverted) == (1, 1)
    api = Client().get(f"/api/v1/clients/{hanako.pk}/reliability").json()
    assert "consultations_unconverted" in [r["code"] for r in api["reasons"]]
    assert rebuild_agrees()


def test_rebuild_reputation_prints_each_difference_exits_1_and_fix_writes_the_recount(hanako, taro):
    client_with_auto_approvals(hanako, taro, contracts=2, automatic=1, start=START)
    ClientContractStats.objects.filter(client=hanako).update(auto_approvals=5, reply_b02=4)
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("rebuild_reputation", stdout=out)
    assert f"client {hanako.pk} auto_approvals: stored 5, recomputed 1" in out.getvalue()
    assert f"client {hanako.pk} reply_b02: stored 4, recomputed 0" in out.getvalue()
    call_command("rebuild_reputation", "--fix", stdout=StringIO())
    assert ClientContractStats.objects.get(client=hanako).auto_approvals == 1
    out = StringIO()
    call_command("rebuild_reputation", stdout=out)
    assert "OK" in out.getvalue()


def _queries(path: str) -> int:
    web = Client()
    with CaptureQueriesContext(connection) as captured:
        response = web.get(path)
    assert response.status_code == 200
    return len(captured)


def test_reading_a_profile_costs_the_same_queries_for_a_short_and_a_long_history(
    hanako, taro, make_user
):
    veteran = make_user(email="veteran@example.jp", is_worker=False)
    client_with_auto_approvals(hanako, taro, contracts=2, automatic=0, start=START)
    client_with_auto_approvals(veteran, taro, contracts=6, automatic=2, start=START)
    # As if the veteran had 100,000 contracts behind them: the read never looks at them.
    ClientContractStats.objects.filter(client=veteran).update(
        contracts_completed=100_000, auto_approvals=20_000, inspect_b05=100_000
    )
    for path in ("/api/v1/clients/{}/reliability", "/accounts/users/{}/"):
        short, long = _queries(path.format(hanako.pk)), _queries(path.format(veteran.pk))
        assert short == long, path


def test_the_job_list_shows_every_cards_reliability_in_a_fixed_number_of_queries(make_user):
    def post(count: int) -> None:
        for _ in range(count):
            _open_job(make_user(is_worker=False))

    post(2)
    with_2 = _queries("/jobs/")
    post(8)
    with CaptureQueriesContext(connection) as captured:
        response = Client().get("/jobs/")
    body = response.content.decode()
    assert body.count('data-testid="reliability-summary"') == 10
    assert body.count("実績が少ないため判定できません") == 10
    assert len(captured) == with_2


def test_the_job_api_carries_a_compact_reliability_summary(hanako, taro):
    client_with_auto_approvals(hanako, taro, contracts=12, automatic=3, start=START)
    job = _open_job(hanako)
    answer = Client().get(f"/api/v1/jobs/{job.pk}").json()
    assert answer["client_reliability"]["level"] == "warning"
    assert answer["client_reliability"]["top_reason"]["text"] == SENTENCE


def test_an_id_beyond_any_row_is_404_not_an_error():
    web = Client()
    for path in ("/api/v1/clients/{}/reliability", "/api/v1/workers/{}/track-record"):
        for pk in (0, 2**63, 91010126035699908608):
            assert web.get(path.format(pk)).status_code == 404


def test_the_job_list_api_carries_each_cards_summary_in_a_fixed_number_of_queries(
    hanako, taro, make_user
):
    client_with_auto_approvals(hanako, taro, contracts=12, automatic=3, start=START)
    _open_job(hanako)
    _open_job(make_user(is_worker=False))
    with_2 = _queries("/api/v1/jobs")
    for _ in range(6):
        _open_job(make_user(is_worker=False))
    with CaptureQueriesContext(connection) as captured:
        items = Client().get("/api/v1/jobs").json()["items"]
    assert len(captured) == with_2
    assert len(items) == 8
    by_client = {item["client"]["id"]: item["client_reliability"] for item in items}
    assert by_client[hanako.pk]["level"] == "warning"
    assert by_client[hanako.pk]["top_reason"]["text"] == SENTENCE
    others = [summary for pk, summary in by_client.items() if pk != hanako.pk]
    assert {summary["level"] for summary in others} == {"not_enough_history"}


def test_many_clients_profiles_with_ratings_cost_the_same_queries_as_two(make_user):
    from ishibashi.reputation.selectors import client_profiles

    clients = [make_user(is_worker=False) for _ in range(8)]
    with CaptureQueriesContext(connection) as two:
        client_profiles(client_ids=[c.pk for c in clients[:2]])
    with CaptureQueriesContext(connection) as eight:
        found = client_profiles(client_ids=[c.pk for c in clients])
    assert len(found) == 8
    assert len(eight) == len(two)
