"""Reads for jobs and proposals: search and browse, one job, its proposals, a thread.

Every read that returns something private takes the viewer and answers "not found" for anything
the viewer may not see, so an id never reveals that an object exists.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import BooleanField, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext_lazy as _

from ishibashi.accounts.models import User
from ishibashi.core import limits
from ishibashi.core.errors import InvalidInput, NotFound
from ishibashi.core.pagination import page_slice, page_split
from ishibashi.core.text import has_forbidden_characters
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
# PostgreSQL, a query with a two-character term: phase 1 reads up to this many matches (+ 1)
# straight from the GIN indexes. At most this many: they are all the matches. More: the terms are
# common, and walking the jobs newest first finds a page after about 21 x jobs / 2,000 rows.
PHASE_ONE_CAP = 2000


@dataclass(frozen=True)
class JobFilters:
    q: str = ""
    category: str = ""
    contract_type: str = ""
    # A job matches when its budget range reaches into [budget_min_jpy, budget_max_jpy].
    budget_min_jpy: int | None = None
    budget_max_jpy: int | None = None
    page: int = 1


@dataclass(frozen=True)
class JobPage:
    jobs: list[Job]
    page: int
    has_next: bool


def search_terms(q: str) -> list[str]:
    """Split on any whitespace (全角スペース too); a user types 「サーバー　移行」 as two terms."""
    return [term for term in re.split(r"\s+", q.strip()) if term][:5]


def _fts5_phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _matching(jobs: QuerySet[Job], terms: list[str], *, bigrams: bool = True) -> QuerySet[Job]:
    """Jobs whose title or description contains every term as a substring.

    With ``bigrams``, two-character terms go through the bigram index (an exact match); on
    PostgreSQL only job_search's phase 1 may use it, since testing it row by row reads the array
    of every job (see _two_phase)."""
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
    """PostgreSQL planner settings for the statements run inside, then the previous ones again
    (SET LOCAL alone would last to the end of an enclosing transaction)."""
    names = list(settings)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(["current_setting(%s)"] * len(names)), names)
        previous = cursor.fetchone()
        assignments = ", ".join(["set_config(%s, %s, true)"] * len(names))
        cursor.execute(
            "SELECT " + assignments, [v for name in names for v in (name, settings[name])]
        )
        yield
        cursor.execute(
            "SELECT " + assignments, [v for pair in zip(names, previous, strict=True) for v in pair]
        )


def _two_phase(jobs: QuerySet[Job], terms: list[str], start: int, stop: int) -> list[Job]:
    """PostgreSQL with a two-character term: choose the plan from the real number of matches.

    The planner's estimate of how many jobs contain a term is a guess, and a wrong guess walks
    every job testing it (0.6 to 1 s for a term no job contains; bench/README.md). Phase 1 takes
    up to PHASE_ONE_CAP + 1 matching ids with only bitmap scans of the GIN indexes allowed. At
    most PHASE_ONE_CAP: those are all the matches, and the page is sorted out of them. More: the
    terms are common; phase 2 walks the open jobs newest first, testing them with LIKE."""
    with _planner(enable_seqscan="off", enable_indexscan="off"):
        ids = list(_matching(jobs, terms).values_list("id", flat=True)[: PHASE_ONE_CAP + 1])
    if len(ids) <= PHASE_ONE_CAP:
        return list(_page(jobs.filter(pk__in=ids), start, stop))
    with _planner(enable_seqscan="off", enable_bitmapscan="off"):
        return list(_page(_matching(jobs, terms, bigrams=False), start, stop))


def _page(jobs: QuerySet[Job], start: int, stop: int) -> QuerySet[Job]:
    return jobs.select_related("client", "client__job_stats").order_by("-published_at", "-id")[
        start:stop
    ]


def _checked_filters(filters: JobFilters) -> JobFilters:
    if len(filters.q) > limits.SEARCH_QUERY_LENGTH_MAX:
        raise InvalidInput(_("The search text is too long."), field="q")
    if has_forbidden_characters(filters.q):
        raise InvalidInput(_("This text contains characters that cannot be used."), field="q")
    if filters.category and filters.category not in JobCategory.values:
        raise InvalidInput(_("Choose one of the listed options."), field="category")
    if filters.contract_type and filters.contract_type not in ContractType.values:
        raise InvalidInput(_("Choose one of the listed options."), field="contract_type")
    for name in ("budget_min_jpy", "budget_max_jpy"):
        value = getattr(filters, name)
        if value is not None and not 0 <= value <= limits.JOB_BUDGET_JPY_MAX:
            raise InvalidInput(_("Enter an amount in yen."), field=name)
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
    if connection.vendor == "postgresql" and any(len(term) == BIGRAM for term in terms):
        found = _two_phase(jobs, terms, rows.start, rows.stop)
    else:
        found = list(_page(_matching(jobs, terms) if terms else jobs, rows.start, rows.stop))
    page, has_next = page_split(found)
    return JobPage(jobs=page, page=filters.page, has_next=has_next)


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
