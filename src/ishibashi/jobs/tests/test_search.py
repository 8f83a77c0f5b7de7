"""job_search finds Japanese substrings, on SQLite (FTS5) and PostgreSQL (pg_trgm, GIN).

The same expectations hold on both databases. Terms of three or more characters take the trigram
indexes, terms of exactly two the bigram index of migration 0004 (on PostgreSQL in two phases),
terms of one character LIKE.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ishibashi.core.errors import InvalidInput
from ishibashi.jobs import selectors, services
from ishibashi.jobs.bigrams import bigram_token
from ishibashi.jobs.models import Job
from ishibashi.jobs.selectors import JobFilters, job_search
from ishibashi.jobs.tests.conftest import job_input


def found(q: str = "", **filters) -> list[str]:
    return [job.title for job in job_search(JobFilters(q=q, **filters)).jobs]


@pytest.fixture
def jobs(client_user):
    """Five open jobs, newest last; the titles are what the tests look for."""
    made = {}
    for title, description, changes in (
        ("WordPressサーバー移行作業", "既存サイトを新しいサーバーへ移行してください。", {}),
        (
            "英語マニュアルの翻訳",
            "取扱説明書を日本語から英語へ翻訳してください。",
            {
                "category": "translation",
                "contract_type": "monthly",
                "budget_min_jpy": 200_000,
                "budget_max_jpy": 300_000,
            },
        ),
        (
            "ロゴデザインの依頼",
            "カフェのロゴを作ってください。満足度100%保証の方を希望。",
            {"category": "design", "budget_min_jpy": 10_000, "budget_max_jpy": 30_000},
        ),
        (
            'Node.js (v20) の "API" 移行: C++ も*少し*',
            "NEAR(a b) AND OR - ^ : のような記号を含む説明。変数名はuser_idです。",
            {"category": "web_development"},
        ),
        (
            "データ入力（Excel）",
            "商品リストをExcelに入力する作業です。",
            {"category": "data_entry"},
        ),
    ):
        made[title] = services.job_create(
            client=client_user,
            data=job_input(title=title, description=description, **changes),
            publish=True,
        )
    return made


def test_a_substring_inside_a_word_is_found(jobs):
    assert found("サーバー移行") == ["WordPressサーバー移行作業"]
    assert found("ーバー移") == ["WordPressサーバー移行作業"]  # any 3+ characters, not a word
    assert found("サイトを新しい") == ["WordPressサーバー移行作業"]  # in the description only


def test_two_character_and_one_character_terms_are_found(jobs):
    assert found("翻訳") == ["英語マニュアルの翻訳"]
    assert found("ロゴ") == ["ロゴデザインの依頼"]
    # A lone character is refused (test_search_limits.py); beside a longer term it narrows.
    assert found("説明 訳") == ["英語マニュアルの翻訳"]


def test_every_term_must_match_whether_split_by_an_ascii_or_a_full_width_space(jobs):
    assert found("WordPress 移行") == ["WordPressサーバー移行作業"]
    assert found("WordPress\u3000移行") == ["WordPressサーバー移行作業"]
    assert found("  サーバー　　作業  ") == ["WordPressサーバー移行作業"]
    assert found("移行") == [
        'Node.js (v20) の "API" 移行: C++ も*少し*',
        "WordPressサーバー移行作業",
    ]
    assert found("WordPress 翻訳") == []


def test_ascii_is_matched_without_regard_to_case(jobs):
    assert found("wordpress") == ["WordPressサーバー移行作業"]
    assert found("WORDPRESS") == ["WordPressサーバー移行作業"]
    assert found("excel") == ["データ入力（Excel）"]
    assert found("nEaR") == ['Node.js (v20) の "API" 移行: C++ も*少し*']


def test_like_wildcards_are_matched_literally(jobs):
    assert found("0%") == ["ロゴデザインの依頼"]
    assert found("% 満足") == ["ロゴデザインの依頼"]
    assert found("100%") == ["ロゴデザインの依頼"]
    assert found("0%保") == ["ロゴデザインの依頼"]
    assert found("r_") == ['Node.js (v20) の "API" 移行: C++ も*少し*']
    assert found("_ 変数") == ['Node.js (v20) の "API" 移行: C++ も*少し*']
    assert found("user_id") == ['Node.js (v20) の "API" 移行: C++ も*少し*']
    assert found("r_i") == ['Node.js (v20) の "API" 移行: C++ も*少し*']
    assert found("10_") == []  # "_" is not "any one character": 100% does not match
    assert found("1%%") == []


@pytest.mark.parametrize(
    "q",
    [
        '"',
        '""',
        '"API"',
        "*",
        "*少し*",
        "C++",
        "(v20)",
        "(",
        ")",
        "-",
        "- ^ :",
        "v20):",
        "^",
        ":",
        "NEAR",
        "NEAR(a b)",
        "AND",
        "OR",
        "NOT",
        "a AND b",
        "x OR y",
        "title:移行",
        "description:説明",
        "{title}",
        "'",
        "\\",
        "NEAR(",
        'API" OR "x',
    ],
)
def test_fts5_syntax_in_the_query_is_plain_text_and_never_an_error(jobs, q):
    node = 'Node.js (v20) の "API" 移行: C++ も*少し*'
    if not any(selectors.is_searchable(term) for term in q.split()):
        # Punctuation alone is refused naming q (issue 11), never a database error.
        with pytest.raises(InvalidInput) as refused:
            found(q)
        assert refused.value.field == "q"
        return
    result = found(q)
    assert set(result) <= set(jobs)
    # What a literal, case-insensitive substring search gives, newest first.
    expected = [
        title
        for title, job in reversed(jobs.items())
        if all(
            term.upper() in title.upper() or term.upper() in job.description.upper()
            for term in q.split()
        )
    ]
    assert result == expected
    if q in ('"API"', "C++", "(v20)", "*少し*", "NEAR(a b)"):
        assert result == [node]


def test_an_edited_title_is_found_by_its_new_text_and_not_its_old(client_user, jobs):
    job = jobs["WordPressサーバー移行作業"]
    services.job_update(
        client=client_user,
        job_id=job.pk,
        data=job_input(
            title="ECサイトの決済機能追加", description="カート画面に決済を追加します。"
        ),
    )
    assert found("サーバー移行") == []
    assert found("WordPress") == []
    assert found("決済機能") == ["ECサイトの決済機能追加"]
    assert found("決済") == ["ECサイトの決済機能追加"]
    assert found("カート画面") == ["ECサイトの決済機能追加"]


def test_closed_and_draft_jobs_are_not_found(client_user, jobs):
    services.job_close(client=client_user, job_id=jobs["ロゴデザインの依頼"].pk)
    services.job_create(client=client_user, data=job_input(title="ロゴの下書き"), publish=False)
    assert found("ロゴ") == []
    assert found("ロゴデザイン") == []
    assert "ロゴデザインの依頼" not in found()


def test_filters_narrow_the_search_and_the_browse(jobs):
    assert found("移行", category="web_development") == [
        'Node.js (v20) の "API" 移行: C++ も*少し*'
    ]
    assert found("サーバー移行", category="design") == []
    assert found(contract_type="monthly") == ["英語マニュアルの翻訳"]
    assert found("翻訳", contract_type="fixed") == []
    # A job matches when its budget range reaches into the asked range.
    assert found(budget_min_jpy=250_000) == ["英語マニュアルの翻訳"]
    assert found(budget_max_jpy=20_000) == ["ロゴデザインの依頼"]
    assert found("ロゴ", budget_min_jpy=40_000) == []
    assert found(budget_min_jpy=30_000, budget_max_jpy=30_000) == ["ロゴデザインの依頼"]
    assert "ロゴデザインの依頼" not in found(budget_min_jpy=60_000, budget_max_jpy=250_000)
    assert len(found(budget_min_jpy=60_000, budget_max_jpy=250_000)) == 4


def test_results_are_newest_first_a_page_at_a_time(client_user):
    for n in range(23):
        services.job_create(
            client=client_user, data=job_input(title=f"翻訳案件{n:02d}"), publish=True
        )
    first = job_search(JobFilters(q="翻訳案件"))
    second = job_search(JobFilters(q="翻訳案件", page=2))
    assert [j.title for j in first.jobs] == [f"翻訳案件{n:02d}" for n in range(22, 2, -1)]
    assert first.has_next
    assert [j.title for j in second.jobs] == ["翻訳案件02", "翻訳案件01", "翻訳案件00"]
    assert not second.has_next


def indexed_jobs_with_bigram(pair: str) -> int:
    """How many rows the bigram index itself holds for a pair, whatever jobs_job says."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT count(*) FROM jobs_job_bigrams WHERE jobs_job_bigrams MATCH %s",
                [bigram_token(pair)],
            )
        else:
            cursor.execute(
                "SELECT count(*) FROM jobs_job WHERE search_bigrams @> ARRAY[UPPER(%s::text)]",
                [pair],
            )
        return int(cursor.fetchone()[0])


def test_two_character_terms_go_through_the_bigram_index(jobs):
    with CaptureQueriesContext(connection) as queries:
        assert found("翻訳") == ["英語マニュアルの翻訳"]
    sql = " ".join(query["sql"] for query in queries)
    assert ("jobs_job_bigrams" if connection.vendor == "sqlite" else "search_bigrams") in sql
    assert indexed_jobs_with_bigram("翻訳") == 1
    assert indexed_jobs_with_bigram("移行") == 2


def test_rare_and_absent_two_character_terms(jobs):
    assert found("鰻丼") == []
    assert found("満足") == ["ロゴデザインの依頼"]  # in the description only
    assert found("取扱") == ["英語マニュアルの翻訳"]
    assert found("ー移") == ["WordPressサーバー移行作業"]  # across a word boundary
    assert found("wo") == ["WordPressサーバー移行作業"]  # ASCII case is ignored
    assert found("rD") == ["WordPressサーバー移行作業"]
    assert found('"A') == ['Node.js (v20) の "API" 移行: C++ も*少し*']
    assert found("*少") == ['Node.js (v20) の "API" 移行: C++ も*少し*']
    assert found("%保") == ["ロゴデザインの依頼"]  # LIKE wildcards stay literal
    assert found("_i") == ['Node.js (v20) の "API" 移行: C++ も*少し*']
    assert found("1_") == []
    assert found("業既") == []  # not across the end of the title and the description


def test_two_character_terms_with_longer_terms_and_filters(jobs):
    node = 'Node.js (v20) の "API" 移行: C++ も*少し*'
    assert found("移行 サーバー") == ["WordPressサーバー移行作業"]
    assert found("移行 API") == [node]
    assert found("移行 作業") == ["WordPressサーバー移行作業"]  # two two-character terms
    assert found("移行 作業 w") == ["WordPressサーバー移行作業"]
    assert found("移行 作業 訳") == []
    assert found("英語 鰻丼") == []
    assert found("翻訳 マニュアル", category="translation") == ["英語マニュアルの翻訳"]
    assert found("翻訳 マニュアル", category="design") == []
    assert found("英語\u3000翻訳", contract_type="monthly") == ["英語マニュアルの翻訳"]
    assert found("英語 翻訳", contract_type="fixed") == []
    assert found("ロゴ", budget_max_jpy=20_000) == ["ロゴデザインの依頼"]
    assert found("ロゴ カフェ", budget_min_jpy=40_000) == []
    assert found("移行", category="web_development") == [node]


@pytest.mark.parametrize("cap", [0, 1, 2000])
def test_common_two_character_terms_give_the_same_pages(jobs, monkeypatch, cap):
    """Over the cap, PostgreSQL's phase 2 walks the jobs newest first with LIKE instead."""
    monkeypatch.setattr(selectors, "PHASE_ONE_CAP", cap)
    node = 'Node.js (v20) の "API" 移行: C++ も*少し*'
    assert found("移行") == [node, "WordPressサーバー移行作業"]
    assert found("移行 作業") == ["WordPressサーバー移行作業"]
    assert found("移行 API") == [node]
    assert found("移行", category="web_development") == [node]
    assert found("てく") == ["ロゴデザインの依頼", "英語マニュアルの翻訳",
                             "WordPressサーバー移行作業"]  # fmt: skip
    assert found("てく て") == found("てく")


def test_an_edited_job_is_found_by_its_new_two_characters_and_not_its_old(client_user, jobs):
    job = jobs["ロゴデザインの依頼"]
    services.job_update(
        client=client_user,
        job_id=job.pk,
        data=job_input(title="名刺デザインの依頼", description="店の名刺を作ります。"),
    )
    assert found("名刺") == ["名刺デザインの依頼"]
    assert found("ロゴ") == []
    assert found("満足") == []
    assert found("名刺 デザイン") == ["名刺デザインの依頼"]
    assert indexed_jobs_with_bigram("ロゴ") == 0
    assert indexed_jobs_with_bigram("名刺") == 1


def test_closed_and_deleted_jobs_are_not_found_by_two_characters(client_user, jobs):
    services.job_close(client=client_user, job_id=jobs["英語マニュアルの翻訳"].pk)
    assert found("翻訳") == []
    assert found("英語 翻訳") == []
    services.job_create(client=client_user, data=job_input(title="翻訳の下書き"), publish=False)
    assert found("翻訳") == []
    Job.objects.filter(pk=jobs["ロゴデザインの依頼"].pk).delete()
    assert found("ロゴ") == []
    assert indexed_jobs_with_bigram("ロゴ") == 0
    assert indexed_jobs_with_bigram("満足") == 0


@pytest.mark.parametrize("cap", [0, 2000])
def test_two_character_results_are_newest_first_a_page_at_a_time(client_user, monkeypatch, cap):
    monkeypatch.setattr(selectors, "PHASE_ONE_CAP", cap)
    for n in range(23):
        services.job_create(
            client=client_user, data=job_input(title=f"翻訳案件{n:02d}"), publish=True
        )
    first = job_search(JobFilters(q="案件"))
    second = job_search(JobFilters(q="案件", page=2))
    assert [j.title for j in first.jobs] == [f"翻訳案件{n:02d}" for n in range(22, 2, -1)]
    assert first.has_next
    assert [j.title for j in second.jobs] == ["翻訳案件02", "翻訳案件01", "翻訳案件00"]
    assert not second.has_next
    assert job_search(JobFilters(q="案件", page=3)).jobs == []
