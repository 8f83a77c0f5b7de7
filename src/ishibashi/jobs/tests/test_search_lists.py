"""Search and lists (issue 13): width folding, count and sort, days left, snippet, bad filters."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import Client

from ishibashi.core.errors import InvalidInput
from ishibashi.core.text import fold_width, snippet
from ishibashi.jobs import selectors, services
from ishibashi.jobs.selectors import JobFilters, job_search
from ishibashi.jobs.tests.conftest import job_input

TOKYO = ZoneInfo("Asia/Tokyo")


def titles(**filters) -> list[str]:
    return [job.title for job in job_search(JobFilters(**filters)).jobs]


def post(client_user, title: str, description: str = "説明", **changes):
    return services.job_create(
        client=client_user,
        data=job_input(title=title, description=description, **changes),
        publish=True,
    )


def test_fold_width_folds_letters_digits_and_half_width_kana_only():
    assert fold_width("ﾃﾞｰﾀ入力 ５００円 ＷｏｒｄＰｒｅｓｓ") == "データ入力 500円 WordPress"
    assert fold_width("（急ぎ）「翻訳」①") == "（急ぎ）「翻訳」①"


@pytest.mark.parametrize(
    ("stored", "query"),
    [
        ("予算500円の入力作業", "５００"),
        ("データ入力の依頼", "ﾃﾞｰﾀ"),
        ("WordPressの保守", "ＷｏｒｄＰｒｅｓｓ"),
        ("ＷｏｒｄＰｒｅｓｓの保守", "wordpress"),
        ("ﾃﾞｰﾀ入力の依頼", "データ"),
    ],
)
def test_the_stored_text_and_the_query_are_width_folded(client_user, stored, query):
    post(client_user, stored)
    post(client_user, "関係のない案件")

    assert titles(q=query) == [fold_width(stored)]


def test_sort_by_budget_and_by_deadline_with_a_stable_tie_break(client_user):
    now = dt.datetime.now(dt.UTC)
    low = post(
        client_user, "翻訳A", budget_max_jpy=60_000, recruiting_deadline=now + dt.timedelta(days=9)
    )
    high = post(
        client_user, "翻訳B", budget_max_jpy=90_000, recruiting_deadline=now + dt.timedelta(days=3)
    )
    tie = post(
        client_user, "翻訳C", budget_max_jpy=90_000, recruiting_deadline=now + dt.timedelta(days=5)
    )

    assert titles() == ["翻訳C", "翻訳B", "翻訳A"]
    assert titles(sort="budget") == [tie.title, high.title, low.title]
    assert titles(sort="deadline") == [high.title, tie.title, low.title]
    assert titles(q="翻訳", sort="budget") == [tie.title, high.title, low.title]
    assert titles(q="翻訳", sort="deadline") == [high.title, tie.title, low.title]


def test_the_count_covers_every_page_and_is_capped(client_user, monkeypatch):
    for n in range(23):
        post(client_user, f"翻訳案件{n:02d}", budget_max_jpy=50_000 + n)
    first = job_search(JobFilters(q="翻訳案件", sort="budget"))
    second = job_search(JobFilters(q="翻訳案件", sort="budget", page=2))

    assert (first.count, first.count_more) == (23, False)
    assert [j.title for j in first.jobs][:2] == ["翻訳案件22", "翻訳案件21"]
    assert [j.title for j in second.jobs] == ["翻訳案件02", "翻訳案件01", "翻訳案件00"]
    monkeypatch.setattr(selectors, "COUNT_CAP", 10)
    assert (job_search(JobFilters()).count, job_search(JobFilters()).count_more) == (10, True)


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"sort": "foo"}, "sort"),
        ({"budget_min_jpy": 90_000, "budget_max_jpy": 10_000}, "budget_max_jpy"),
    ],
)
def test_a_bad_sort_or_a_reversed_budget_is_refused_by_the_selector(db, filters, field):
    with pytest.raises(InvalidInput) as refused:
        job_search(JobFilters(**filters))
    assert refused.value.field == field


def test_days_left_counts_calendar_days_in_tokyo(client_user):
    with time_machine.travel(dt.datetime(2026, 12, 3, 23, 0, tzinfo=TOKYO), tick=False):
        assert selectors.deadline_label(dt.datetime(2026, 12, 6, 1, 0, tzinfo=TOKYO)) == "あと3日"
        assert (
            selectors.deadline_label(dt.datetime(2026, 12, 3, 23, 30, tzinfo=TOKYO)) == "本日締切"
        )
        assert selectors.days_left(dt.datetime(2026, 12, 4, 0, 30, tzinfo=TOKYO)) == 1


def test_snippet_collapses_whitespace_and_cuts_with_an_ellipsis():
    assert snippet("一行目\n\n  二行目") == "一行目 二行目"
    assert snippet("あ" * 150) == "あ" * 100 + "…"


def test_the_page_shows_count_sort_days_left_and_an_escaped_snippet(client_user):
    post(client_user, "ロゴ制作", "<b>太字</b>のロゴ" + "。" * 200, budget_max_jpy=70_000)
    post(client_user, "ロゴ修正", budget_max_jpy=80_000)

    page = Client().get("/jobs/", {"q": "ロゴ", "sort": "budget"}).content.decode()

    assert "2件" in page
    assert page.index("ロゴ修正") < page.index("ロゴ制作")
    assert "&lt;b&gt;太字&lt;/b&gt;のロゴ" in page
    assert "…" in page
    assert "あと7日" in page


def test_the_page_shows_every_bad_filter_at_once(db):
    response = Client().get(
        "/jobs/",
        {"category": "nope", "sort": "foo", "budget_min_jpy": "abc", "budget_max_jpy": "5"},
    )
    page = response.content.decode()

    assert response.status_code == 200
    assert page.count("一覧から選んでください。") == 4  # in the summary and at each field
    assert "整数を入力してください。" in page


def test_the_page_refuses_a_reversed_budget(db):
    page = Client().get("/jobs/", {"budget_min_jpy": "9000", "budget_max_jpy": "10"}).content
    assert "予算の下限が上限を上回っています。" in page.decode()


def test_the_api_sorts_counts_and_describes_each_card(client_user):
    post(client_user, "翻訳X", "本文\n\n続き", budget_max_jpy=60_000)
    post(client_user, "翻訳Y", budget_max_jpy=90_000)

    body = Client().get("/api/v1/jobs", {"q": "翻訳", "sort": "budget"}).json()

    assert [item["title"] for item in body["items"]] == ["翻訳Y", "翻訳X"]
    assert (body["count"], body["count_more"]) == (2, False)
    assert body["items"][1]["snippet"] == "本文 続き"
    assert body["items"][0]["days_left"] == 7
    assert body["items"][0]["deadline_label"] == "あと7日"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"sort": "foo"}, "sort"),
        ({"category": "nope"}, "category"),
        ({"budget_min_jpy": "abc"}, "budget_min_jpy"),
        ({"budget_min_jpy": 9000, "budget_max_jpy": 10}, "budget_max_jpy"),
    ],
)
def test_the_api_names_the_bad_filter_in_a_422(db, query, field):
    response = Client().get("/api/v1/jobs", query)
    assert response.status_code == 422
    assert field in response.content.decode()


def test_the_page_says_when_the_count_is_capped(client_user, monkeypatch):
    post(client_user, "ロゴ制作")
    post(client_user, "ロゴ修正")
    monkeypatch.setattr(selectors, "COUNT_CAP", 1)

    assert "1件以上" in Client().get("/jobs/").content.decode()


def test_the_data_migration_folds_the_jobs_written_before(client_user):
    import importlib
    from types import SimpleNamespace

    from django.apps import apps

    from ishibashi.jobs.models import Job

    job = post(client_user, "移行前の案件")
    Job.objects.filter(pk=job.pk).update(title="ﾃﾞｰﾀ入力 ５００件", description="ＡＢＣの説明")
    migration = importlib.import_module("ishibashi.jobs.migrations.0008_job_text_width_folded")

    migration.fold(apps, SimpleNamespace(connection=connection))

    job.refresh_from_db()
    assert (job.title, job.description) == ("データ入力 500件", "ABCの説明")
    assert titles(q="ﾃﾞｰﾀ") == ["データ入力 500件"]
    assert titles(q="abc") == ["データ入力 500件"]


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL's bounded steps")
def test_postgres_sorted_search_walks_when_the_index_has_too_many_and_refuses_past_the_walk(
    client_user, monkeypatch
):
    for n in range(4):
        post(client_user, f"翻訳{n}", budget_max_jpy=60_000 + n)
    monkeypatch.setattr(selectors, "PHASE_ONE_CAP", 1)

    assert titles(q="翻訳", sort="budget") == ["翻訳3", "翻訳2", "翻訳1", "翻訳0"]
    monkeypatch.setattr(selectors, "WALK_ROWS_MAX", 2)
    with pytest.raises(InvalidInput) as refused:
        job_search(JobFilters(q="翻訳", sort="deadline"))
    assert refused.value.code == "search_too_broad"
