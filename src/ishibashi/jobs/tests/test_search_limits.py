"""Issue 11, finding 5: an anonymous search is cheap or refused, never a scan that slows others.

Lone characters and stop-word-only queries are refused naming `q`; anonymous searches are
counted per address (429 with Retry-After); a search statement that runs out of time answers
503 `search_timeout`, never a 500; PostgreSQL's bounded search keeps its pages right whichever
of its steps answers.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from ishibashi.core import limits
from ishibashi.core.errors import InvalidInput, Unavailable
from ishibashi.jobs import selectors, services
from ishibashi.jobs.selectors import JobFilters, job_search
from ishibashi.jobs.tests.conftest import job_input

API = "/api/v1/jobs"


@pytest.fixture
def jobs(client_user):
    """Three open jobs, oldest first: 「サーバー移行」, 「ロゴ」, 「翻訳」 (each says ください)."""
    return [
        services.job_create(client=client_user, data=job_input(title=title, description=text),
                            publish=True)
        for title, text in (
            ("WordPressサーバー移行作業", "既存サイトを新しいサーバーへ移行してください。"),
            ("ロゴデザインの依頼", "カフェのロゴを作ってください。"),
            ("英語マニュアルの翻訳", "取扱説明書を英語へ翻訳してください。"),
        )
    ]  # fmt: skip


# --- lone characters and stop-words --------------------------------------------------------


@pytest.mark.parametrize(
    "q", ["の", "訳", "C", "%", "ま す 。 を へ", "ま\u3000す", "。。", "!?", "- ^ :"]
)
def test_a_lone_character_or_stop_words_only_are_refused_naming_q(jobs, q):
    with pytest.raises(InvalidInput) as refused:
        job_search(JobFilters(q=q))

    assert refused.value.field == "q"
    assert refused.value.code == "search_terms_too_short"


def test_a_lone_character_still_narrows_a_search_with_a_longer_word(jobs):
    assert [job.title for job in job_search(JobFilters(q="ください 訳")).jobs] == [
        "英語マニュアルの翻訳"
    ]
    assert [job.title for job in job_search(JobFilters(q="ロゴ")).jobs] == ["ロゴデザインの依頼"]


def test_the_api_refuses_a_stop_word_query_with_a_422_naming_q(jobs):
    response = Client().get(API, {"q": "ま す 。 を へ"}, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "search_terms_too_short"
    assert body["field"] == "q"
    assert "two characters or more" in body["message"]


def test_the_page_shows_why_a_one_character_search_is_refused(jobs):
    response = Client().get(reverse("jobs:list"), {"q": "の"}, HTTP_ACCEPT_LANGUAGE="ja")

    assert response.status_code == 200
    assert "2文字以上" in response.content.decode()
    assert "ロゴデザインの依頼" not in response.content.decode()


# --- rate limit ------------------------------------------------------------------------------


@pytest.fixture
def three_searches_a_minute(monkeypatch, time_machine):
    """Limits of 3 and 5, and a clock that stands still, so no window ends mid-test."""
    monkeypatch.setattr(limits, "SEARCH_ANONYMOUS_PER_WINDOW_MAX", 3)
    monkeypatch.setattr(limits, "SEARCH_USER_PER_WINDOW_MAX", 5)
    time_machine.move_to(dt.datetime(2026, 12, 3, 12, 0, 15, tzinfo=dt.UTC), tick=False)


def test_anonymous_searches_are_limited_per_address_with_retry_after(
    jobs, three_searches_a_minute, time_machine
):
    visitor, neighbour = Client(REMOTE_ADDR="203.0.113.7"), Client(REMOTE_ADDR="203.0.113.8")
    for _ in range(3):
        assert visitor.get(API, {"q": "ロゴ"}).status_code == 200

    refused = visitor.get(API, {"q": "翻訳"}, HTTP_ACCEPT_LANGUAGE="en")

    assert refused.status_code == 429
    assert refused.json()["code"] == "search_rate_limited"
    assert "wait a minute" in refused.json()["message"]
    assert refused["Retry-After"] == "45"  # the minute's window ends at 12:01:00
    assert neighbour.get(API, {"q": "ロゴ"}).status_code == 200  # another address is not held
    assert visitor.get(API).status_code == 200  # browsing without a text is not counted
    time_machine.move_to(dt.datetime(2026, 12, 3, 12, 1, 0, tzinfo=dt.UTC), tick=False)
    assert visitor.get(API, {"q": "ロゴ"}).status_code == 200  # a new window


def test_the_page_says_to_wait_with_a_429_and_retry_after(jobs, three_searches_a_minute):
    visitor = Client(REMOTE_ADDR="198.51.100.4")
    for _ in range(3):
        assert visitor.get(reverse("jobs:list"), {"q": "ロゴ"}).status_code == 200

    refused = visitor.get(reverse("jobs:list"), {"q": "ロゴ"}, HTTP_ACCEPT_LANGUAGE="ja")

    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    page = refused.content.decode()
    assert "短時間に検索が続いています" in page
    assert "ロゴデザインの依頼" not in page


def test_a_logged_in_user_has_a_higher_limit_of_their_own(
    jobs, three_searches_a_minute, make_user, token_for
):
    person = make_user(email="reader@example.jp", display_name="読み手")
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {token_for(person)}"}
    shared = Client(REMOTE_ADDR="192.0.2.50")  # one office address, anonymous and logged in
    for _ in range(3):
        assert shared.get(API, {"q": "ロゴ"}).status_code == 200
    assert shared.get(API, {"q": "ロゴ"}).status_code == 429

    answers = [shared.get(API, {"q": "ロゴ"}, **bearer).status_code for _ in range(6)]

    assert answers == [200] * 5 + [429]


# --- the statement timeout -------------------------------------------------------------------


@pytest.fixture
def tiny_timeout(monkeypatch):
    monkeypatch.setattr(limits, "SEARCH_STATEMENT_TIMEOUT", dt.timedelta(microseconds=1))


class TableLocked:
    """PostgreSQL: another session holds jobs_job exclusively, so a search's SELECT waits; the
    lock is let go after `seconds` whatever happens, so a search without a timeout finishes."""

    def __init__(self, seconds: float = 5) -> None:
        import psycopg

        params = connection.get_connection_params()
        self.other = psycopg.connect(**{k: v for k, v in params.items() if k != "cursor_factory"})
        self.other.execute("LOCK TABLE jobs_job IN ACCESS EXCLUSIVE MODE")
        self.timer = threading.Timer(seconds, self.release)
        self.timer.start()

    def release(self) -> None:
        if not self.other.closed:
            self.other.rollback()
            self.other.close()

    def __enter__(self) -> TableLocked:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.timer.cancel()
        self.release()


def slow_search_setup(client_user) -> None:
    """SQLite: enough rows that a search takes more than a thousand VM steps (the progress
    handler's period), with the deadline already gone by its first check."""
    text = "移行の作業です。" * 20
    for n in range(150):
        services.job_create(
            client=client_user, data=job_input(title=f"移行{n}", description=text), publish=True
        )


@pytest.mark.django_db(transaction=False)
def test_a_search_out_of_time_is_refused_with_503_and_never_a_500(client_user, tiny_timeout):
    """The search, the page and the API all answer `search_timeout`; the connection is usable
    afterwards (the timeout was the search's only)."""
    q = "移行 z"
    if connection.vendor == "postgresql":
        locked: Any = TableLocked
    else:
        slow_search_setup(client_user)
        locked = None

    def attempt(call: Any) -> Any:
        if locked is None:
            return call()
        with locked():
            return call()

    with pytest.raises(Unavailable) as refused:
        attempt(lambda: job_search(JobFilters(q=q)))
    assert refused.value.code == "search_timeout"
    assert refused.value.http_status == 503

    api = attempt(lambda: Client().get(API, {"q": q}, HTTP_ACCEPT_LANGUAGE="en"))
    assert api.status_code == 503
    assert api.json()["code"] == "search_timeout"
    assert api.json()["field"] == "q"
    assert "taking too long" in api.json()["message"]
    assert api["Retry-After"] == "5"

    page = attempt(lambda: Client().get(reverse("jobs:list"), {"q": q}, HTTP_ACCEPT_LANGUAGE="ja"))
    assert page.status_code == 503
    assert "検索に時間がかかりすぎています" in page.content.decode()

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone()[0] == 1
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW statement_timeout")
            assert cursor.fetchone()[0] == "0"


# --- PostgreSQL's bounded steps give the same pages ------------------------------------------


@pytest.mark.parametrize(
    ("walk_first", "cap", "walk_max"),
    [(500, 2000, 20_000), (0, 2000, 20_000), (0, 0, 20_000), (1, 1, 20_000)],
)
def test_every_step_gives_the_newest_matches_with_the_filters(
    client_user, monkeypatch, walk_first, cap, walk_max
):
    monkeypatch.setattr(selectors, "WALK_FIRST_ROWS", walk_first)
    monkeypatch.setattr(selectors, "PHASE_ONE_CAP", cap)
    monkeypatch.setattr(selectors, "WALK_ROWS_MAX", walk_max)
    for n in range(25):
        category = "translation" if n % 2 else "design"
        services.job_create(
            client=client_user,
            data=job_input(
                title=f"翻訳案件{n:02d}", description="英語の資料です。", category=category
            ),
            publish=True,
        )

    def titles(**filters: Any) -> list[str]:
        return [job.title for job in job_search(JobFilters(**filters)).jobs]

    assert titles(q="案件") == [f"翻訳案件{n:02d}" for n in range(24, 4, -1)]
    assert titles(q="案件", page=2) == [f"翻訳案件{n:02d}" for n in range(4, -1, -1)]
    assert titles(q="翻訳案件 英語", category="translation") == [
        f"翻訳案件{n:02d}" for n in range(23, 0, -2)
    ]
    assert titles(q="翻訳案件0", category="design") == [f"翻訳案件0{n}" for n in (8, 6, 4, 2, 0)]
    assert titles(q="ENGLISH") == []


def test_a_search_no_bounded_step_can_answer_is_refused_as_too_broad(client_user, monkeypatch):
    """PostgreSQL: more candidates (jobs with every bigram of ロゴ案件) than the index step takes,
    and the match older than the walk may read: refused, not scanned. SQLite's FTS5 answers."""
    monkeypatch.setattr(selectors, "WALK_FIRST_ROWS", 2)
    monkeypatch.setattr(selectors, "PHASE_ONE_CAP", 2)
    monkeypatch.setattr(selectors, "WALK_ROWS_MAX", 3)
    services.job_create(
        client=client_user, data=job_input(title="ロゴ案件", description="古い"), publish=True
    )
    for n in range(4):
        services.job_create(
            client=client_user, data=job_input(title=f"ロゴ{n}", description="ゴ案と案件"),
            publish=True,
        )  # fmt: skip

    if connection.vendor != "postgresql":
        assert [job.title for job in job_search(JobFilters(q="ロゴ案件")).jobs] == ["ロゴ案件"]
        return
    with pytest.raises(InvalidInput) as refused:
        job_search(JobFilters(q="ロゴ案件"))
    assert refused.value.code == "search_too_broad"
    assert refused.value.field == "q"
    # With few enough jobs for the walk to read them all, the same search answers.
    monkeypatch.setattr(selectors, "WALK_ROWS_MAX", 5)
    assert [job.title for job in job_search(JobFilters(q="ロゴ案件")).jobs] == ["ロゴ案件"]
