"""Job and proposal pages through Django's test client: each page, each refusal, nothing changed.

The pages call the same services as the API, so these tests check the door, not the rules:
that a refusal reaches the right field in Japanese, and that the wrong person gets 404 or 403.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ishibashi.contracts.models import Contract
from ishibashi.core import clock
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
from ishibashi.jobs.tests.conftest import job_input, proposal_input

JAPAN = ZoneInfo("Asia/Tokyo")


def _web(user=None) -> Client:
    web = Client()
    if user is not None:
        web.force_login(user)
    return web


def _text(response) -> str:
    return response.content.decode()


def _jobs_snapshot():
    """What a refused job page must leave alone."""
    return (
        list(Job.objects.order_by("pk").values()),
        list(Proposal.objects.order_by("pk").values_list("pk", "state", "decline_reason")),
        list(ClientJobStats.objects.order_by("pk").values()),
        Contract.objects.count(),
        ProposalMessage.objects.count(),
    )


def job_form_data(**changes) -> dict[str, str]:
    deadline = timezone.localtime(clock.now() + dt.timedelta(days=7), JAPAN)
    data = {
        "title": "WordPressサーバー移行作業",
        "description": "既存のWordPressサイトを新しいサーバーへ移行してください。",
        "category": "server_infrastructure",
        "contract_type": "fixed",
        "budget_min_jpy": "50000",
        "budget_max_jpy": "100000",
        "recruiting_deadline": deadline.strftime("%Y-%m-%dT%H:%M"),
        "desired_delivery_on": (services.today() + dt.timedelta(days=30)).isoformat(),
        "scope_deliverables": "移行済みのサイト、作業報告書",
        "scope_acceptance_criteria": "新サーバーで全ページが表示されること",
        "scope_out_of_scope": "デザインの変更",
        "revision_rounds": "2",
        "action": "publish",
    }
    data.update(changes)
    return data


def proposal_form_data(rows=None, **changes) -> dict[str, str]:
    """The proposal form as a browser sends it; rows are (title, kind, amount, due_on)."""
    if rows is None:
        due = services.today() + dt.timedelta(days=20)
        rows = [
            (m.title, m.kind, m.amount_jpy, due)
            for m in services.split_pay_plan(total_jpy=80_000, due_on=due)
        ]
    data = {
        "kind": "proposal",
        "cover_letter": "サーバー移行の経験が10年あります。",
        "total_jpy": "80000",
        "rows": str(len(rows)),
        "action": "submit",
    }
    for index, (title, kind, amount, due_on) in enumerate(rows):
        data[f"milestones-{index}-title"] = title
        data[f"milestones-{index}-kind"] = kind
        data[f"milestones-{index}-amount_jpy"] = str(amount)
        data[f"milestones-{index}-due_on"] = due_on.isoformat() if due_on else ""
    data.update(changes)
    return data


@pytest.fixture
def proposal(open_job, worker):
    return services.proposal_create(worker=worker, job_id=open_job.pk, data=proposal_input())


@pytest.fixture
def stranger(make_user):
    return make_user(email="stranger@example.jp", display_name="第三者 次郎")


# --- the job list -----------------------------------------------------------------------------


def test_the_list_shows_open_jobs_with_the_client_summary(client_user, open_job):
    # given: a draft that must not show, and a client whose identity is verified
    services.job_create(client=client_user, data=job_input(title="下書きの案件"))
    client_user.identity_verified_at = clock.now()
    client_user.save(update_fields=["identity_verified_at"])

    # when
    response = _web().get("/jobs/")

    # then
    page = _text(response)
    assert response.status_code == 200
    assert [card.job.pk for card in response.context["cards"]] == [open_job.pk]
    assert "WordPressサーバー移行作業" in page
    assert "下書きの案件" not in page
    assert "¥50,000 〜 ¥100,000" in page
    assert "サーバー・インフラ" in page
    assert "本人確認済み" in page
    assert "投稿した案件: 1" in page
    assert 'data-testid="job-proposal-count">0<' in page


def test_a_japanese_substring_finds_the_job_and_filters_narrow_it(client_user, open_job):
    services.job_create(
        client=client_user,
        data=job_input(title="ロゴデザインの依頼", description="カフェのロゴ", category="design"),
        publish=True,
    )
    web = _web()

    by_word = web.get("/jobs/", {"q": "サーバー移行"}).context["cards"]
    by_category = web.get("/jobs/", {"category": "design"}).context["cards"]
    by_budget = web.get("/jobs/", {"budget_min_jpy": "150000"}).context["cards"]

    assert [card.job.title for card in by_word] == ["WordPressサーバー移行作業"]
    assert [card.job.title for card in by_category] == ["ロゴデザインの依頼"]
    assert by_budget == []


@pytest.mark.parametrize(
    ("_case", "query", "message"),
    [
        ("budget not a number", {"budget_min_jpy": "abc"}, "整数を入力してください。"),
        ("unknown category", {"category": "astrology"}, "一覧から選んでください。"),
        ("negative budget", {"budget_max_jpy": "-5"}, "金額を円で入力してください。"),
        ("page zero", {"page": "0"}, "そのページはありません。"),
        ("NUL in the search", {"q": "移行\x00"}, "使用できない文字が含まれています。"),
        ("bell in the search", {"q": "移行\x07"}, "使用できない文字が含まれています。"),
    ],
)
def test_bad_filter_input_shows_the_message_not_a_server_error(open_job, _case, query, message):
    response = _web().get("/jobs/", query)

    assert response.status_code == 200
    assert response.context["cards"] == []
    assert message in _text(response)


def test_the_list_pages_with_next_and_previous(client_user):
    for n in range(21):
        services.job_create(client=client_user, data=job_input(title=f"案件その{n}"), publish=True)
    web = _web()

    first = web.get("/jobs/", {"q": "案件"})
    second = web.get("/jobs/", {"q": "案件", "page": "2"})

    assert len(first.context["cards"]) == 20
    assert first.context["pager"] == {"number": 1, "numbers": [1, 2], "has_next": True}
    assert 'href="?q=%E6%A1%88%E4%BB%B6&amp;page=2"' in _text(first)
    assert [card.job.title for card in second.context["cards"]] == ["案件その0"]
    assert second.context["pager"]["has_next"] is False
    assert 'data-testid="pager-prev"' in _text(second)


def test_the_list_takes_the_same_number_of_queries_for_3_and_for_20_jobs(make_user):
    """No query per card: the client and the client's stats come with the jobs."""

    def post_jobs(count):
        for _ in range(count):
            client = make_user(is_worker=False)
            services.job_create(client=client, data=job_input(), publish=True)

    def queries_for_the_list():
        web = _web(viewer)
        with CaptureQueriesContext(connection) as captured:
            response = web.get("/jobs/")
        assert response.status_code == 200
        return len(captured), len(response.context["cards"])

    viewer = make_user(email="viewer@example.jp")
    post_jobs(3)
    with_3 = queries_for_the_list()
    post_jobs(17)
    with_20 = queries_for_the_list()

    assert with_3[1] == 3
    assert with_20[1] == 20
    assert with_3[0] == with_20[0]


# --- posting and managing a job ---------------------------------------------------------------


def test_a_client_publishes_a_job_with_the_deadline_read_as_japan_time(client_user):
    data = job_form_data(recruiting_deadline="2026-12-10T09:30")

    with timezone.override("UTC"):  # the server's zone must not matter
        response = _web(client_user).post("/jobs/new/", data)

    job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/jobs/{job.pk}/"
    assert job.state == JobState.OPEN
    assert job.recruiting_deadline == dt.datetime(2026, 12, 10, 0, 30, tzinfo=dt.UTC)
    assert job.scope_out_of_scope == "デザインの変更"
    assert job.revision_rounds == 2
    assert ClientJobStats.objects.get(client=client_user).jobs_posted == 1


def test_save_draft_keeps_the_job_private(client_user, worker):
    response = _web(client_user).post("/jobs/new/", job_form_data(action="draft"))

    job = Job.objects.get()
    assert response.status_code == 302
    assert job.state == JobState.DRAFT
    assert _web(worker).get(f"/jobs/{job.pk}/").status_code == 404
    assert _web(client_user).get(f"/jobs/{job.pk}/").status_code == 200


@pytest.mark.parametrize(
    ("_case", "changes", "field", "message"),
    [
        (
            "budget upside down",
            {"budget_min_jpy": "90000", "budget_max_jpy": "10000"},
            "budget_max_jpy",
            "予算の上限が下限を下回っています。",
        ),
        ("no title", {"title": "  "}, "title", "この項目は必須です。"),
        ("unknown category", {"category": "astrology"}, "category", "一覧から選んでください。"),
        (
            "deadline passed",
            {"recruiting_deadline": "2020-01-01T09:00"},
            "recruiting_deadline",
            "募集期限は未来の日時にしてください。",
        ),
        ("no budget", {"budget_min_jpy": ""}, "budget_min_jpy", "金額は円単位の整数で"),
    ],
)
def test_bad_job_input_re_renders_with_the_message_and_creates_nothing(
    client_user, _case, changes, field, message
):
    response = _web(client_user).post("/jobs/new/", job_form_data(**changes))

    assert response.status_code == 200
    assert message in response.context["form"].errors[field][0]
    assert Job.objects.count() == 0


def test_a_worker_only_account_cannot_post_and_is_told_why(worker):
    web = _web(worker)

    form_page = web.get("/jobs/new/")
    response = web.post("/jobs/new/", job_form_data())

    assert "発注者の役割" in _text(form_page)
    assert response.status_code == 200
    assert "発注者" in response.context["form"].non_field_errors()[0]
    assert Job.objects.count() == 0


def test_the_pages_for_writing_need_a_log_in(open_job):
    for path in ("/jobs/new/", "/jobs/mine/", f"/jobs/{open_job.pk}/propose/", "/contracts/"):
        response = _web().get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_the_owner_edits_a_job_nobody_has_proposed_to(client_user, open_job):
    web = _web(client_user)
    form = web.get(f"/jobs/{open_job.pk}/edit/").context["form"]
    deadline_shown = form["recruiting_deadline"].value()

    response = web.post(
        f"/jobs/{open_job.pk}/edit/",
        job_form_data(
            title="WordPressサーバー移行作業（急ぎ）",
            recruiting_deadline=deadline_shown.strftime("%Y-%m-%dT%H:%M"),
            action="save",
        ),
    )

    open_job.refresh_from_db()
    assert response.status_code == 302
    assert open_job.title == "WordPressサーバー移行作業（急ぎ）"
    assert open_job.recruiting_deadline == deadline_shown.replace(tzinfo=JAPAN)
    assert deadline_shown.second == 0


def test_someone_elses_job_cannot_be_edited_published_or_closed(client_user, open_job, stranger):
    draft = services.job_create(client=client_user, data=job_input(title="下書き"))
    web = _web(stranger)
    before = _jobs_snapshot()

    edit_open = web.get(f"/jobs/{open_job.pk}/edit/")
    edit_post = web.post(f"/jobs/{open_job.pk}/edit/", job_form_data(title="乗っ取り"))
    close = web.post(f"/jobs/{open_job.pk}/close/")
    edit_draft = web.get(f"/jobs/{draft.pk}/edit/")
    publish_draft = web.post(f"/jobs/{draft.pk}/publish/")

    assert edit_open.status_code == edit_post.status_code == close.status_code == 403
    assert "案件を投稿した発注者だけが変更できます。" in _text(close)
    assert edit_draft.status_code == publish_draft.status_code == 404
    assert _jobs_snapshot() == before


def test_a_job_with_proposals_is_no_longer_editable(client_user, open_job, proposal):
    web = _web(client_user)
    before = _jobs_snapshot()

    detail = web.get(f"/jobs/{open_job.pk}/")
    edit_page = web.get(f"/jobs/{open_job.pk}/edit/", follow=True)
    edit_post = web.post(f"/jobs/{open_job.pk}/edit/", job_form_data(title="変更"))

    assert detail.context["can_edit"] is False
    assert 'data-testid="job-edit"' not in _text(detail)
    assert edit_page.redirect_chain == [(f"/jobs/{open_job.pk}/", 302)]
    assert "この案件はもう編集できません" in _text(edit_page)
    assert edit_post.status_code == 200
    assert "すでに提案" in edit_post.context["form"].non_field_errors()[0]
    assert _jobs_snapshot() == before


def test_my_jobs_lists_every_state_and_publishes_and_closes(client_user, open_job):
    draft = services.job_create(client=client_user, data=job_input(title="下書き"))
    web = _web(client_user)

    listed = web.get("/jobs/mine/")
    publish = web.post(f"/jobs/{draft.pk}/publish/", {"next": "mine"})
    close = web.post(f"/jobs/{open_job.pk}/close/", {"next": "mine"})
    close_again = web.post(f"/jobs/{open_job.pk}/close/", follow=True)

    assert [row["job"].pk for row in listed.context["rows"]] == [draft.pk, open_job.pk]
    assert publish["Location"] == close["Location"] == "/jobs/mine/"
    assert Job.objects.get(pk=draft.pk).state == JobState.OPEN
    assert Job.objects.get(pk=open_job.pk).state == JobState.CLOSED_WITHOUT_HIRE
    assert "この案件はすでに募集を終了しています。" in _text(close_again)
    listed = _text(web.get("/jobs/mine/"))
    assert "募集中" in listed
    assert "募集終了・選定なし" in listed


# --- the job page -----------------------------------------------------------------------------


def test_the_job_page_shows_the_scope_and_the_right_buttons(client_user, open_job, worker):
    anonymous = _text(_web().get(f"/jobs/{open_job.pk}/"))
    as_worker = _text(_web(worker).get(f"/jobs/{open_job.pk}/"))
    as_owner = _text(_web(client_user).get(f"/jobs/{open_job.pk}/"))

    assert "新サーバーで全ページが表示されること" in anonymous
    assert 'data-testid="login-to-propose"' in anonymous
    assert f'href="/jobs/{open_job.pk}/propose/"' in as_worker
    assert 'data-testid="owner-actions"' not in as_worker
    assert 'data-testid="job-close"' in as_owner
    assert 'data-testid="job-edit"' in as_owner
    assert 'data-testid="propose"' not in as_owner


def test_the_owner_sees_every_proposal_and_a_worker_only_their_own(
    client_user, open_job, proposal, make_user
):
    other = make_user(email="other@example.jp", display_name="別の 受注者", is_client=False)
    services.proposal_create(worker=other, job_id=open_job.pk, data=proposal_input(90_000))

    owner_sees = _web(client_user).get(f"/jobs/{open_job.pk}/").context["proposals"]
    worker_page = _web(proposal.worker).get(f"/jobs/{open_job.pk}/")

    assert len(owner_sees) == 2
    assert [p.pk for p in worker_page.context["proposals"]] == [proposal.pk]
    assert worker_page.context["can_propose"] is False
    assert "別の 受注者" not in _text(worker_page)


# --- proposing --------------------------------------------------------------------------------


def test_the_template_button_fills_the_four_part_split(open_job, worker):
    web = _web(worker)

    response = web.post(
        f"/jobs/{open_job.pk}/propose/",
        {"total_jpy": "80001", "cover_letter": "よろしくお願いします。", "rows": "4",
         "action": "template"},
    )  # fmt: skip

    rows = response.context["rows"]
    assert response.status_code == 200
    assert [row["title"].value() for row in rows] == [
        "事前調査",
        "待機・深夜対応",
        "実作業",
        "作業完了確認",
    ]
    assert [row["amount_jpy"].value() for row in rows] == ["16000", "16000", "40001", "8000"]
    assert {row["due_on"].value() for row in rows} == {open_job.desired_delivery_on.isoformat()}
    assert response.context["form"]["cover_letter"].value() == "よろしくお願いします。"
    assert Proposal.objects.count() == 0


def test_the_template_needs_a_total_first(open_job, worker):
    response = _web(worker).post(
        f"/jobs/{open_job.pk}/propose/", {"total_jpy": "", "rows": "4", "action": "template"}
    )

    assert "合計金額を先に入力してください" in response.context["form"].errors["total_jpy"][0]


def test_add_a_row_keeps_what_was_typed(open_job, worker):
    data = proposal_form_data(action="add_row")

    response = _web(worker).post(f"/jobs/{open_job.pk}/propose/", data)

    rows = response.context["rows"]
    assert len(rows) == 5
    assert rows[0]["title"].value() == "事前調査"
    assert rows[4]["title"].value() in ("", None)
    assert Proposal.objects.count() == 0


def test_a_worker_proposes_with_the_split_plan(open_job, worker):
    data = proposal_form_data()
    data.update({"rows": "5", "milestones-4-title": "", "milestones-4-amount_jpy": ""})

    response = _web(worker).post(f"/jobs/{open_job.pk}/propose/", data)

    proposal = Proposal.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/jobs/proposals/{proposal.pk}/"
    assert proposal.total_jpy == 80_000
    assert [(m.title, m.amount_jpy) for m in proposal.milestones.all()] == [
        ("事前調査", 16_000),
        ("待機・深夜対応", 16_000),
        ("実作業", 40_000),
        ("作業完了確認", 8_000),
    ]


def test_a_paid_consultation_is_one_milestone(open_job, worker):
    web = _web(worker)
    filled = web.post(
        f"/jobs/{open_job.pk}/propose/",
        {"total_jpy": "5000", "cover_letter": "まずは相談から", "rows": "4", "action": "consultation"},
    )  # fmt: skip
    form, rows = filled.context["form"], filled.context["rows"]
    data = {name: form[name].value() or "" for name in ("kind", "cover_letter", "total_jpy")}
    data.update(rows="1", action="submit")
    for name in ("title", "kind", "amount_jpy", "due_on"):
        data[f"milestones-0-{name}"] = rows[0][name].value()

    response = web.post(f"/jobs/{open_job.pk}/propose/", data)

    proposal = Proposal.objects.get()
    assert response.status_code == 302
    assert proposal.kind == "consultation"
    assert [(m.kind, m.amount_jpy) for m in proposal.milestones.all()] == [("consultation", 5_000)]


def test_a_refusal_about_one_milestone_shows_on_its_row(open_job, worker):
    due = services.today() + dt.timedelta(days=20)
    rows = [
        ("事前調査", "research", 40_000, due),
        ("", "", "", None),  # an empty row in between is skipped, not counted
        ("実作業", "main_work", 39_900, due),
        ("確認", "completion_check", 100, due),
    ]

    response = _web(worker).post(f"/jobs/{open_job.pk}/propose/", proposal_form_data(rows=rows))

    shown = response.context["rows"]
    assert response.status_code == 200
    assert shown[3].errors["amount_jpy"] == ["金額は¥500以上にしてください。"]
    assert not shown[0].errors
    assert not shown[2].errors
    assert Proposal.objects.count() == 0


def test_milestones_that_do_not_add_up_are_shown_against_the_total(open_job, worker):
    response = _web(worker).post(
        f"/jobs/{open_job.pk}/propose/", proposal_form_data(total_jpy="90000")
    )

    assert response.context["form"].errors["total_jpy"] == [
        "マイルストーンの合計は¥80,000で、合計金額の¥90,000と一致しません。"
    ]
    assert Proposal.objects.count() == 0


def test_a_plan_without_milestones_is_refused_above_the_plan(open_job, worker):
    blank = [("", "", "", None)] * 4

    response = _web(worker).post(f"/jobs/{open_job.pk}/propose/", proposal_form_data(rows=blank))

    assert response.context["plan_errors"] == ["マイルストーンを1つ以上追加してください。"]
    assert Proposal.objects.count() == 0


def test_the_client_cannot_propose_on_their_own_job(client_user, make_user):
    both = make_user(email="both@example.jp")
    job = services.job_create(client=both, data=job_input(), publish=True)
    before = _jobs_snapshot()

    response = _web(both).post(f"/jobs/{job.pk}/propose/", proposal_form_data())

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == ["自分の案件には提案できません。"]
    assert _jobs_snapshot() == before


def test_a_draft_cannot_be_proposed_to(client_user, worker):
    draft = services.job_create(client=client_user, data=job_input())

    response = _web(worker).post(f"/jobs/{draft.pk}/propose/", proposal_form_data())

    assert response.status_code == 404
    assert Proposal.objects.count() == 0


# --- one proposal -----------------------------------------------------------------------------


def test_the_worker_sees_the_reminder_and_the_client_sees_the_warnings(
    client_user, open_job, worker
):
    late = services.split_pay_plan(
        total_jpy=150_000, due_on=open_job.desired_delivery_on + dt.timedelta(days=5)
    )
    proposal = services.proposal_create(
        worker=worker, job_id=open_job.pk, data=proposal_input(150_000, milestones=late)
    )

    as_worker = _text(_web(worker).get(f"/jobs/proposals/{proposal.pk}/"))
    as_client = _web(client_user).get(f"/jobs/proposals/{proposal.pk}/")

    assert (
        "詳細な作業内容やアドバイスは、契約して最初のマイルストーンの仮払いが済んでから"
        in as_worker
    )
    assert 'data-testid="withdraw"' in as_worker
    assert 'data-testid="hire"' not in as_worker
    assert "契約後に相談しましょう" not in _text(as_client)
    assert len(as_client.context["warnings"]) == 2
    assert "予算を上回っています" in _text(as_client)
    assert as_client.context["hire_form"]["inspection_days"].value() == 7


def test_a_stranger_cannot_see_or_touch_a_proposal(proposal, stranger):
    web = _web(stranger)
    before = _jobs_snapshot()

    responses = [
        web.get(f"/jobs/proposals/{proposal.pk}/"),
        web.post(f"/jobs/proposals/{proposal.pk}/messages/", {"body": "こんにちは"}),
        web.post(f"/jobs/proposals/{proposal.pk}/withdraw/"),
        web.post(f"/jobs/proposals/{proposal.pk}/decline/"),
        web.post(f"/jobs/proposals/{proposal.pk}/hire/"),
    ]

    assert [response.status_code for response in responses] == [404] * 5
    assert _jobs_snapshot() == before


def test_the_worker_cannot_decline_or_hire_their_own_proposal(proposal, worker):
    web = _web(worker)
    before = _jobs_snapshot()

    hire = web.post(f"/jobs/proposals/{proposal.pk}/hire/", {"inspection_days": "7"})
    decline = web.post(f"/jobs/proposals/{proposal.pk}/decline/")

    assert hire.status_code == decline.status_code == 403
    assert "この案件の発注者だけが" in _text(hire)
    assert _jobs_snapshot() == before


def test_both_sides_write_in_the_thread(client_user, proposal, worker):
    _web(worker).post(f"/jobs/proposals/{proposal.pk}/messages/", {"body": "質問があります"})
    response = _web(client_user).post(
        f"/jobs/proposals/{proposal.pk}/messages/", {"body": "どうぞ"}, follow=True
    )

    assert response.redirect_chain == [(f"/jobs/proposals/{proposal.pk}/#messages", 302)]
    assert [m.body for m in response.context["thread"]] == ["質問があります", "どうぞ"]


def test_an_empty_message_is_refused_in_japanese(proposal, worker):
    response = _web(worker).post(f"/jobs/proposals/{proposal.pk}/messages/", {"body": "   "})

    assert response.status_code == 200
    assert response.context["message_form"].errors["body"] == ["この項目は必須です。"]
    assert ProposalMessage.objects.count() == 0


def test_the_worker_withdraws_and_cannot_withdraw_twice(proposal, worker):
    web = _web(worker)

    web.post(f"/jobs/proposals/{proposal.pk}/withdraw/")
    again = web.post(f"/jobs/proposals/{proposal.pk}/withdraw/", follow=True)

    assert Proposal.objects.get().state == ProposalState.WITHDRAWN
    assert "この提案はすでに受付を終了しています。" in _text(again)
    assert 'data-testid="message-form"' not in _text(again)


def test_the_client_declines_with_a_reason_the_worker_sees(client_user, proposal, worker):
    _web(client_user).post(
        f"/jobs/proposals/{proposal.pk}/decline/", {"reason": "予算が合いませんでした"}
    )

    page = _text(_web(worker).get(f"/jobs/proposals/{proposal.pk}/"))
    assert Proposal.objects.get().state == ProposalState.DECLINED
    assert "予算が合いませんでした" in page
    assert "見送り" in page


def test_the_client_hires_and_lands_on_the_contract(client_user, proposal):
    response = _web(client_user).post(
        f"/jobs/proposals/{proposal.pk}/hire/",
        {"inspection_days": "10", "expected_total_jpy": "80000"},
    )

    contract = Contract.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/contracts/{contract.pk}/"
    assert contract.inspection_days == 10
    assert Job.objects.get().state == JobState.HIRED
    page = _text(_web(client_user).get(f"/jobs/proposals/{proposal.pk}/"))
    assert f'href="/contracts/{contract.pk}/"' in page


@pytest.mark.parametrize(
    ("_case", "data", "field", "message"),
    [
        (
            "too short",
            {"inspection_days": "1"},
            "inspection_days",
            "検収期間は3〜14日にしてください。",
        ),
        (
            "too long",
            {"inspection_days": "99"},
            "inspection_days",
            "検収期間は3〜14日にしてください。",
        ),
        (
            "not a number",
            {"inspection_days": "一週間"},
            "inspection_days",
            "整数を入力してください。",
        ),
        (
            "changed meanwhile",
            {"inspection_days": "7", "expected_total_jpy": "70000"},
            "expected_total_jpy",
            "確認している間に提案が変更されました。もう一度確認してください。",
        ),
    ],
)
def test_a_bad_hire_is_refused_on_its_field_and_signs_nothing(
    client_user, proposal, _case, data, field, message
):
    before = _jobs_snapshot()

    response = _web(client_user).post(f"/jobs/proposals/{proposal.pk}/hire/", data)

    assert response.status_code == 200
    assert response.context["hire_form"].errors[field] == [message]
    assert _jobs_snapshot() == before


def test_a_job_is_hired_once_from_the_pages(client_user, open_job, proposal, make_user):
    other = make_user(email="other@example.jp", is_client=False)
    second = services.proposal_create(worker=other, job_id=open_job.pk, data=proposal_input())
    web = _web(client_user)
    web.post(f"/jobs/proposals/{proposal.pk}/hire/", {"inspection_days": "7"})

    again = web.post(f"/jobs/proposals/{second.pk}/hire/", {"inspection_days": "7"})

    assert again.status_code == 200
    assert again.context["hire_form"].non_field_errors() == [
        "この提案はすでに受付を終了しています。"
    ]
    assert Contract.objects.count() == 1


# --- revising after negotiating ---------------------------------------------------------------


def _plan_snapshot():
    """What a refused revision must leave alone: the plans and the thread as well."""
    return (
        _jobs_snapshot(),
        list(Proposal.objects.order_by("pk").values()),
        list(ProposedMilestone.objects.order_by("pk").values()),
    )


def test_the_worker_sees_the_revise_link_and_the_version(client_user, proposal, worker):
    as_worker = _text(_web(worker).get(f"/jobs/proposals/{proposal.pk}/"))
    as_client = _text(_web(client_user).get(f"/jobs/proposals/{proposal.pk}/"))

    assert f'href="/jobs/proposals/{proposal.pk}/revise/"' in as_worker
    assert "提案を修正" in as_worker
    assert "第1版" in as_worker
    assert 'data-testid="revise"' not in as_client
    assert "第1版" in as_client


def test_the_revise_form_starts_with_the_current_plan(proposal, worker):
    response = _web(worker).get(f"/jobs/proposals/{proposal.pk}/revise/")

    assert response.status_code == 200
    form, rows = response.context["form"], response.context["rows"]
    assert form["cover_letter"].value() == "サーバー移行の経験が10年あります。"
    assert form["total_jpy"].value() == 80_000
    assert [(row["title"].value(), row["amount_jpy"].value()) for row in rows] == [
        ("事前調査", 16_000),
        ("待機・深夜対応", 16_000),
        ("実作業", 40_000),
        ("作業完了確認", 8_000),
    ]
    page = _text(response)
    assert "提案を修正" in page
    assert 'data-testid="use-consultation"' not in page  # the kind stays
    assert 'name="kind"' not in page


def test_posting_the_revise_form_revises_and_the_thread_shows_it(client_user, proposal, worker):
    due = services.today() + dt.timedelta(days=25)
    rows = [("事前調査", "research", 30_000, due), ("実作業", "main_work", 60_000, due)]
    data = proposal_form_data(rows=rows, total_jpy="90000", kind="consultation")

    response = _web(worker).post(f"/jobs/proposals/{proposal.pk}/revise/", data)

    assert response.status_code == 302
    assert response["Location"] == f"/jobs/proposals/{proposal.pk}/"
    proposal.refresh_from_db()
    assert (proposal.revision, proposal.total_jpy, proposal.kind) == (2, 90_000, "proposal")
    assert [(m.title, m.amount_jpy) for m in proposal.milestones.all()] == [
        ("事前調査", 30_000),
        ("実作業", 60_000),
    ]
    page = _text(_web(client_user).get(f"/jobs/proposals/{proposal.pk}/"))
    assert "第2版" in page
    assert "提案が第2版に修正されました。新しい合計金額：¥90,000" in page


def test_a_bad_revision_shows_on_its_field_and_changes_nothing(proposal, worker):
    before = _plan_snapshot()

    response = _web(worker).post(
        f"/jobs/proposals/{proposal.pk}/revise/", proposal_form_data(total_jpy="90000")
    )

    assert response.status_code == 200
    assert response.context["form"].errors["total_jpy"] == [
        "マイルストーンの合計は¥80,000で、合計金額の¥90,000と一致しません。"
    ]
    assert _plan_snapshot() == before


def test_only_the_proposing_worker_opens_the_revise_form(client_user, proposal, stranger):
    before = _plan_snapshot()

    as_client = _web(client_user).post(
        f"/jobs/proposals/{proposal.pk}/revise/", proposal_form_data()
    )
    as_stranger = _web(stranger).get(f"/jobs/proposals/{proposal.pk}/revise/")

    assert (as_client.status_code, as_stranger.status_code) == (403, 404)
    assert _plan_snapshot() == before


def test_a_withdrawn_proposal_offers_no_revision(proposal, worker):
    services.proposal_withdraw(worker=worker, proposal_id=proposal.pk)
    web = _web(worker)

    page = _text(web.get(f"/jobs/proposals/{proposal.pk}/"))
    opened = web.get(f"/jobs/proposals/{proposal.pk}/revise/")
    before = _plan_snapshot()
    posted = web.post(f"/jobs/proposals/{proposal.pk}/revise/", proposal_form_data())

    assert 'data-testid="revise"' not in page
    assert opened.status_code == 302
    assert posted.status_code == 200
    assert posted.context["form"].non_field_errors() == ["この提案はすでに受付を終了しています。"]
    assert _plan_snapshot() == before


def test_the_hire_form_carries_the_revision_and_a_stale_one_is_refused(
    client_user, proposal, worker
):
    web = _web(client_user)
    shown = web.get(f"/jobs/proposals/{proposal.pk}/").context["hire_form"]
    assert (shown["expected_revision"].value(), shown["expected_total_jpy"].value()) == (1, 80_000)
    assert 'name="expected_revision" value="1"' in _text(web.get(f"/jobs/proposals/{proposal.pk}/"))
    same_total = proposal_input(80_000, cover_letter="期日を延ばしました。")
    services.proposal_revise(worker=worker, proposal_id=proposal.pk, data=same_total)
    before = _jobs_snapshot()

    stale = web.post(
        f"/jobs/proposals/{proposal.pk}/hire/",
        {"inspection_days": "7", "expected_total_jpy": "80000", "expected_revision": "1"},
    )

    assert stale.status_code == 200
    assert stale.context["hire_form"].errors["expected_revision"] == [
        "確認している間に提案が変更されました。もう一度確認してください。"
    ]
    assert _jobs_snapshot() == before
    # The refused form now names the plan on the page, so hiring again signs what was shown.
    assert 'name="expected_revision" value="2"' in _text(stale)
    again = web.post(
        f"/jobs/proposals/{proposal.pk}/hire/",
        {"inspection_days": "7", "expected_total_jpy": "80000", "expected_revision": "2"},
    )
    assert again.status_code == 302
    assert Contract.objects.count() == 1
