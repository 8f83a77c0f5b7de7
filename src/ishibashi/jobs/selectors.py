"""Reads for jobs and proposals: search and browse, one job, its proposals, a thread.

Every read that returns something private takes the viewer and answers "not found" for anything
the viewer may not see, so an id never reveals that an object exists.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db import OperationalError, connection, models, transaction
from django.db.models import BooleanField, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ishibashi.accounts.models import User
from ishibashi.core import clock, limits
from ishibashi.core.errors import InvalidInput, NotFound, Unavailable
from ishibashi.core.pagination import page_slice, page_split
from ishibashi.core.text import fold_width, has_forbidden_characters
from ishibashi.jobs.bigrams import bigram_token
from ishibashi.jobs.models import (
    ClientJobStats,
    ContractType,
    Job,
    JobCategory,
    JobState,
    Proposal,
    ProposalMessage,
    ProposalState,
)

BUDGET_RANGE_REVERSED = _("The budget from must not be above the budget to.")

# Shown above every pre-contract thread: free work before escrow is what the seeds' workers lost.
# Translators: the Japanese ends with the platform's phrase 「契約後に相談しましょう」.
THREAD_REMINDER = _(
    "Before the contract, agree on the scope and the price only. Detailed work and advice "
    "belong after the contract, once the first milestone is funded."
)

# FTS5's trigram tokenizer, like pg_trgm, needs three characters to use its index.
TRIGRAM = 3
# Terms of exactly two characters use the bigram index of migration 0004 (jobs/bigrams.py).
BIGRAM = 2
# PostgreSQL, a search in bounded steps (see _postgres_search):
# - first walk this many of the newest jobs, testing each: a term in 1 job of 25 fills page 1;
WALK_FIRST_ROWS = 500
# - read up to this many candidates (+ 1) from the bigram GIN index and test them: at most this
#   many, and every match is known;
PHASE_ONE_CAP = 2000
# - or walk up to this many of the newest jobs (about 40 ms on a quiet 2-core machine for the
#   costliest test). A page still short after that is refused as too broad. Deep pages of a
#   common term end here: page 20 of a term in 5 % of the jobs is the last one shown.
WALK_ROWS_MAX = 10_000
# PostgreSQL's SQLSTATE for a statement cancelled by statement_timeout (query_canceled).
QUERY_CANCELED = "57014"
SEARCH_RETRY_AFTER_SECONDS = 5
# A result count stops here (shown as 「1,000件以上」): counting every match of a broad filter
# would read every open job on each page view.
COUNT_CAP = 1000


class JobSort(models.TextChoices):
    NEW = "new", _("Newest")  # ja: 新着順
    BUDGET = "budget", _("Highest budget")  # ja: 予算の高い順
    DEADLINE = "deadline", _("Deadline soonest")  # ja: 締切の近い順


# Each sort ends on the id, so equal values keep one order from page to page.
SORT_ORDER: dict[str, tuple[str, str]] = {
    JobSort.NEW: ("-published_at", "-id"),
    JobSort.BUDGET: ("-budget_max_jpy", "-id"),
    JobSort.DEADLINE: ("recruiting_deadline", "id"),
}


@dataclass(frozen=True)
class JobFilters:
    q: str = ""
    category: str = ""
    contract_type: str = ""
    # A job matches when its budget range reaches into [budget_min_jpy, budget_max_jpy].
    budget_min_jpy: int | None = None
    budget_max_jpy: int | None = None
    page: int = 1
    sort: str = JobSort.NEW


@dataclass(frozen=True)
class JobPage:
    jobs: list[Job]
    page: int
    has_next: bool
    # How many jobs match; with count_more, at least that many (COUNT_CAP, or the matches a
    # bounded walk on PostgreSQL saw before it stopped).
    count: int = 0
    count_more: bool = False


def search_terms(q: str) -> list[str]:
    """Split on any whitespace (全角スペース too); a user types 「サーバー　移行」 as two terms.
    Width-folded like the stored title and description (５００ finds 500, ﾃﾞｰﾀ finds データ)."""
    return [term for term in re.split(r"\s+", fold_width(q).strip()) if term][:5]


def is_searchable(term: str) -> bool:
    """A term an index can find: two characters or more, one of them a letter or a digit."""
    return len(term) >= limits.SEARCH_TERM_LENGTH_MIN and any(c.isalnum() for c in term)


def _fts5_phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _matching(jobs: QuerySet[Job], terms: list[str], *, bigrams: bool = True) -> QuerySet[Job]:
    """Jobs whose title or description contains every term as a substring.

    With ``bigrams``, two-character terms go through the bigram index (an exact match); on
    PostgreSQL only job_search's phase 1 may use it, since testing it row by row reads the array
    of every job (see _postgres_search). Only SQLite and the bench use it now."""
    pairs = [term for term in terms if len(term) == BIGRAM] if bigrams else []
    others = [term for term in terms if term not in pairs]
    sqlite = connection.vendor == "sqlite"
    if pairs and sqlite:
        match = " AND ".join(bigram_token(term) for term in pairs)
        jobs = jobs.filter(
            pk__in=RawSQL(
                "SELECT rowid FROM jobs_job_bigrams WHERE jobs_job_bigrams MATCH %s", [match]
            )
        )
    elif pairs:
        # UPPER, like icontains: the column holds the bigrams of UPPER(title), UPPER(description).
        jobs = jobs.filter(
            RawSQL(
                '"jobs_job"."search_bigrams" @> ARRAY(SELECT UPPER(t) FROM unnest(%s::text[]) t)',
                [pairs],
                output_field=BooleanField(),
            )
        )
    indexed = [term for term in others if len(term) >= TRIGRAM]
    short = [term for term in others if len(term) < TRIGRAM]
    if sqlite and indexed:
        match = " AND ".join(_fts5_phrase(term) for term in indexed)
        jobs = jobs.filter(
            pk__in=RawSQL("SELECT rowid FROM jobs_job_fts WHERE jobs_job_fts MATCH %s", [match])
        )
    elif not sqlite:
        # PostgreSQL: ILIKE '%term%' is served by the pg_trgm GIN indexes (migration 0002).
        short = others
    for term in short:
        jobs = jobs.filter(Q(title__icontains=term) | Q(description__icontains=term))
    return jobs


@contextmanager
def _planner(**settings: str) -> Iterator[None]:
    """PostgreSQL settings for the statements run inside, then the previous ones again (SET
    LOCAL alone would last to the end of an enclosing transaction). Outside a transaction the
    settings simply end with the one opened here: one round trip fewer each way."""
    names = list(settings)
    enclosed = connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as cursor:
        # The target list is evaluated in order: each current value is read before it is set.
        pairs = ", ".join(["current_setting(%s), set_config(%s, %s, true)"] * len(names))
        cursor.execute("SELECT " + pairs, [v for n in names for v in (n, n, settings[n])])
        previous = cursor.fetchone()[0::2]
        yield
        if enclosed:
            assignments = ", ".join(["set_config(%s, %s, true)"] * len(names))
            cursor.execute(
                "SELECT " + assignments,
                [v for pair in zip(names, previous, strict=True) for v in pair],
            )


def _is_caseless(term: str) -> bool:
    """No character of the term has a case (Japanese, digits, punctuation): a plain substring
    test gives what UPPER(...) LIKE UPPER(...) gives, at a quarter of the cost."""
    return term.upper() == term == term.lower()


def _term_tests(alias: str, terms: list[str]) -> tuple[str, list[str]]:
    """SQL true when the row `alias` holds every term in its title or description, as
    icontains would say (UPPER on both sides); strpos for terms without case."""
    tests, params = [], []
    for term in terms:
        if _is_caseless(term):
            tests.append(f"(strpos({alias}.title, %s) > 0 OR strpos({alias}.description, %s) > 0)")
            params += [term, term]
        else:
            pattern = f"%{connection.ops.prep_for_like_query(term)}%"
            tests.append(
                f"(UPPER({alias}.title) LIKE UPPER(%s) "
                f"OR UPPER({alias}.description) LIKE UPPER(%s))"
            )
            params += [pattern, pattern]
    return " AND ".join(tests), params


def _walk(jobs: QuerySet[Job], terms: list[str], stop: int, rows: int) -> list[int]:
    """Ids of the first `stop` matches among the `rows` newest jobs, testing them newest first
    and stopping there (the jobs_state_published index gives the order)."""
    window, window_params = (
        jobs.order_by("-published_at", "-id")
        .values("id", "published_at", "title", "description")[:rows]
        .query.sql_with_params()
    )
    tests, params = _term_tests("w", terms)
    # Only SQL text is put in: the ORM's own query and _term_tests'; every value is a parameter.
    sql = (
        f"SELECT w.id FROM ({window}) w WHERE {tests} "  # noqa: S608
        "ORDER BY w.published_at DESC, w.id DESC LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*window_params, *params, stop])
        return [row[0] for row in cursor.fetchall()]


def _candidates(jobs: QuerySet[Job], terms: list[str]) -> list[int] | None:
    """Every match, read through the bigram GIN index: the jobs holding every bigram of the
    terms of two characters or more (exact for two characters, a superset for longer ones), at
    most PHASE_ONE_CAP of them, each then tested. None when there are more candidates."""
    indexed = [term for term in terms if len(term) >= BIGRAM]
    candidates, candidate_params = (
        jobs.filter(
            RawSQL(
                '"jobs_job"."search_bigrams" @> ARRAY(SELECT g FROM unnest(%s::text[]) t, '
                "unnest(jobs_bigrams(UPPER(t))) g)",
                [indexed],
                output_field=BooleanField(),
            )
        )
        .order_by()
        .values("id", "title", "description")[: PHASE_ONE_CAP + 1]
        .query.sql_with_params()
    )
    tests, params = _term_tests("c", terms)
    with (
        _planner(enable_seqscan="off", enable_indexscan="off", enable_bitmapscan="on"),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            f"SELECT c.id, {tests} FROM ({candidates}) c",  # noqa: S608 (as in _walk)
            [*params, *candidate_params],
        )
        rows = cursor.fetchall()
    if len(rows) > PHASE_ONE_CAP:
        return None
    return [pk for pk, hit in rows if hit]


def _too_broad() -> InvalidInput:
    return InvalidInput(
        _(
            "This search matches too many jobs loosely to sort through. Add a word or "
            "a filter (category, budget), or use a longer word."
        ),
        code="search_too_broad",
        field="q",
    )


def _postgres_sorted_search(
    jobs: QuerySet[Job], terms: list[str], start: int, stop: int, sort: str
) -> tuple[list[Job], int, bool]:
    """PostgreSQL, sorted by budget or deadline: every match is needed before the first page,
    so only the bounded steps that give every match are used: the bigram candidates (at most
    PHASE_ONE_CAP), else a walk of all the open jobs when there are at most WALK_ROWS_MAX.
    Past both, the search is refused as too broad, as the newest-first search is."""
    matches = _candidates(jobs, terms)
    if matches is None:
        if jobs.order_by()[WALK_ROWS_MAX:].exists():
            raise _too_broad()
        matches = _walk(jobs, terms, WALK_ROWS_MAX, WALK_ROWS_MAX)
    found = list(_page(jobs.filter(pk__in=matches), start, stop, sort))
    return found, min(len(matches), COUNT_CAP), len(matches) > COUNT_CAP


def _postgres_search(
    jobs: QuerySet[Job], terms: list[str], start: int, stop: int, sort: str = JobSort.NEW
) -> tuple[list[Job], int, bool]:
    """PostgreSQL: the page of matches in bounded steps, never a count or a full scan.

    The planner cannot pick between "walk the jobs newest first" and "read the matches from an
    index, then sort" without knowing how many jobs match, and its guess is often wrong by a
    factor of 100 (bench/README.md): the wrong choice costs 0.3 to 4 s. So the search tries the
    cheap end of each. A short walk of the newest jobs fills the page for common terms and
    shows how common the terms are. Then, for terms that look rare, up to PHASE_ONE_CAP
    candidates from the bigram index (every match); for terms that look common, or when the
    index has too many candidates, a walk of up to WALK_ROWS_MAX jobs. A search none of these
    answers is refused (`search_too_broad`) instead of scanning every job."""
    if sort != JobSort.NEW:
        return _postgres_sorted_search(jobs, terms, start, stop, sort)
    first_rows = max(WALK_FIRST_ROWS, stop)
    ids = _walk(jobs, terms, stop, first_rows)
    if len(ids) < stop:
        # Matches seen so far, as a share of the rows read: a long walk that should find the
        # page four times over goes first; the index step would only end over its cap.
        common = len(ids) * WALK_ROWS_MAX >= 4 * stop * first_rows
        if common:
            ids = _walk(jobs, terms, stop, WALK_ROWS_MAX)
        if len(ids) < stop:
            matches = _candidates(jobs, terms)
            if matches is not None:
                found = list(_page(jobs.filter(pk__in=matches), start, stop))
                return found, min(len(matches), COUNT_CAP), len(matches) > COUNT_CAP
            if not common:
                ids = _walk(jobs, terms, stop, WALK_ROWS_MAX)
        if len(ids) < stop and jobs.order_by()[WALK_ROWS_MAX:].exists():
            raise _too_broad()
    found = list(_page(jobs.filter(pk__in=ids[start:stop]), 0, stop - start))
    # The walk stops at the page, so it knows only a lower bound unless it ran out of matches.
    return found, len(ids), len(ids) >= stop


@contextmanager
def _time_limited() -> Iterator[None]:
    """Each statement inside gets limits.SEARCH_STATEMENT_TIMEOUT; one that runs out is refused
    with `search_timeout` (503, Retry-After) instead of holding a worker.

    PostgreSQL: statement_timeout, set for this transaction (or savepoint) only, which a
    cancelled statement's rollback restores; with the planner settings _postgres_search needs.
    SQLite: a progress handler that interrupts the statement once the time is up (checked
    every thousand virtual-machine steps)."""
    timeout = limits.SEARCH_STATEMENT_TIMEOUT
    try:
        if connection.vendor == "postgresql":
            milliseconds = str(max(1, int(timeout.total_seconds() * 1000)))
            # The walks must read jobs_state_published in order and stop at the page; left to
            # itself the planner may sort every job of a category first (85 ms for design's
            # 17,000). _candidates turns bitmap scans back on for its own statement.
            with _planner(
                statement_timeout=milliseconds, enable_seqscan="off", enable_bitmapscan="off"
            ):
                yield
        else:
            connection.ensure_connection()
            deadline = time.monotonic() + timeout.total_seconds()
            sqlite = connection.connection
            sqlite.set_progress_handler(lambda: int(time.monotonic() > deadline), 1000)
            try:
                yield
            finally:
                sqlite.set_progress_handler(None, 1000)
    except OperationalError as error:
        cancelled = getattr(error.__cause__, "sqlstate", None) == QUERY_CANCELED
        if not (cancelled or "interrupted" in str(error)):
            raise
        raise Unavailable(
            _(
                "The search is taking too long (the service is busy, or the search is too "
                "broad). Add a word or a filter, or try again in a moment."
            ),
            code="search_timeout",
            field="q",
            extra={"retry_after_seconds": SEARCH_RETRY_AFTER_SECONDS},
        ) from error


def _page(jobs: QuerySet[Job], start: int, stop: int, sort: str = JobSort.NEW) -> QuerySet[Job]:
    return jobs.select_related("client", "client__job_stats").order_by(*SORT_ORDER[sort])[
        start:stop
    ]


def _capped_count(jobs: QuerySet[Job]) -> tuple[int, bool]:
    count = jobs.order_by()[: COUNT_CAP + 1].count()
    return min(count, COUNT_CAP), count > COUNT_CAP


def _checked_filters(filters: JobFilters) -> JobFilters:
    if len(filters.q) > limits.SEARCH_QUERY_LENGTH_MAX:
        raise InvalidInput(_("The search text is too long."), field="q")
    if has_forbidden_characters(filters.q):
        raise InvalidInput(_("This text contains characters that cannot be used."), field="q")
    terms = search_terms(filters.q)
    if terms and not any(is_searchable(term) for term in terms):
        raise InvalidInput(
            _(
                "Enter a word of two characters or more (for example 翻訳 or ロゴ): single "
                "characters, particles and punctuation alone match almost every job."
            ),
            code="search_terms_too_short",
            field="q",
        )
    if filters.category and filters.category not in JobCategory.values:
        raise InvalidInput(_("Choose one of the listed options."), field="category")
    if filters.contract_type and filters.contract_type not in ContractType.values:
        raise InvalidInput(_("Choose one of the listed options."), field="contract_type")
    for name in ("budget_min_jpy", "budget_max_jpy"):
        value = getattr(filters, name)
        if value is not None and not 0 <= value <= limits.JOB_BUDGET_JPY_MAX:
            raise InvalidInput(_("Enter an amount in yen."), field=name)
    low, high = filters.budget_min_jpy, filters.budget_max_jpy
    if low is not None and high is not None and low > high:
        raise InvalidInput(
            BUDGET_RANGE_REVERSED, code="budget_range_reversed", field="budget_max_jpy"
        )
    if filters.sort not in JobSort.values:
        raise InvalidInput(_("Choose one of the listed options."), field="sort")
    if not 1 <= filters.page <= 1000:
        raise InvalidInput(_("No such page."), field="page")
    return filters


def job_search(filters: JobFilters) -> JobPage:
    """Open jobs, newest first, filtered and searched; a page plus whether another follows."""
    filters = _checked_filters(filters)
    jobs = Job.objects.filter(state=JobState.OPEN)
    if filters.category:
        jobs = jobs.filter(category=filters.category)
    if filters.contract_type:
        jobs = jobs.filter(contract_type=filters.contract_type)
    if filters.budget_min_jpy is not None:
        jobs = jobs.filter(budget_max_jpy__gte=filters.budget_min_jpy)
    if filters.budget_max_jpy is not None:
        jobs = jobs.filter(budget_min_jpy__lte=filters.budget_max_jpy)
    terms = search_terms(filters.q)
    rows = page_slice(filters.page)
    sort = filters.sort
    if not terms:
        found = list(_page(jobs, rows.start, rows.stop, sort))
        count, more = _capped_count(jobs)
    else:
        with _time_limited():
            if connection.vendor == "postgresql":
                found, count, more = _postgres_search(jobs, terms, rows.start, rows.stop, sort)
            else:
                matching = _matching(jobs, terms)
                found = list(_page(matching, rows.start, rows.stop, sort))
                count, more = _capped_count(matching)
    page, has_next = page_split(found)
    return JobPage(jobs=page, page=filters.page, has_next=has_next, count=count, count_more=more)


def days_left(deadline: dt.datetime) -> int:
    """Calendar days from today to the deadline's day, both in Asia/Tokyo: 0 on the last day."""
    tokyo = ZoneInfo("Asia/Tokyo")
    return (deadline.astimezone(tokyo).date() - clock.now().astimezone(tokyo).date()).days


def deadline_label(deadline: dt.datetime) -> str:
    """「あと3日」, 「本日締切」, or 「締切済み」 for a deadline already past."""
    if deadline <= clock.now():
        return str(_("Closed"))
    days = days_left(deadline)
    if days <= 0:
        return str(_("Closes today"))
    return ngettext("%(days)d day left", "%(days)d days left", days) % {"days": days}


def job_get_for_viewer(*, viewer: User | None, job_id: int) -> Job:
    """A published job for anyone; a draft only for its client."""
    job = Job.objects.select_related("client", "client__job_stats").filter(pk=job_id).first()
    if job is None:
        raise NotFound(_("No such job."))
    if job.state == JobState.DRAFT and (viewer is None or viewer.pk != job.client_id):
        raise NotFound(_("No such job."))
    return job


def job_list_for_client(*, client: User) -> QuerySet[Job]:
    return Job.objects.filter(client=client).order_by("-created_at", "-id")


def client_stats(client: User) -> ClientJobStats:
    """The hiring record shown on job cards; an unsaved zero record for a new client."""
    try:
        return client.job_stats
    except ClientJobStats.DoesNotExist:
        return ClientJobStats(client=client)


def proposals_for_job(*, viewer: User, job: Job) -> QuerySet[Proposal]:
    """The client (and operators) see every proposal; a worker sees only their own."""
    proposals = (
        Proposal.objects.filter(job=job)
        .select_related("worker", "job", "job__client")
        .prefetch_related("milestones")
        .order_by("-created_at", "-id")
    )
    if viewer.pk == job.client_id or viewer.is_staff:
        return proposals
    return proposals.filter(worker=viewer)


def proposal_get_for_viewer(*, viewer: User, proposal_id: int) -> Proposal:
    proposal = (
        Proposal.objects.select_related("job", "job__client", "worker")
        .prefetch_related("milestones")
        .filter(pk=proposal_id)
        .first()
    )
    if proposal is None or not (
        viewer.pk in (proposal.worker_id, proposal.job.client_id) or viewer.is_staff
    ):
        raise NotFound(_("No such proposal."))
    return proposal


def own_open_proposal(*, worker: User, job: Job) -> Proposal | None:
    return Proposal.objects.filter(job=job, worker=worker, state=ProposalState.OPEN).first()


def proposal_messages(*, proposal: Proposal) -> QuerySet[ProposalMessage]:
    return ProposalMessage.objects.filter(proposal=proposal).select_related("author").order_by("id")


def proposal_warnings(proposal: Proposal) -> list[str]:
    """What the client should notice before hiring: dates after the desired delivery, budget."""
    job = proposal.job
    warnings = []
    late = [m for m in proposal.milestones.all() if m.due_on > job.desired_delivery_on]
    if late:
        warnings.append(
            str(
                _("%(count)d milestone(s) are due after the desired delivery date (%(date)s).")
                % {"count": len(late), "date": job.desired_delivery_on.isoformat()}
            )
        )
    if proposal.total_jpy > job.budget_max_jpy:
        warnings.append(str(_("The price is above the job's budget.")))
    return warnings
