"""The job search both doors call: counted per client address (or per user), then searched."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from ishibashi.accounts.models import User
from ishibashi.core import limits
from ishibashi.core.throttle import throttle_hit
from ishibashi.jobs import selectors
from ishibashi.jobs.selectors import JobFilters, JobPage

SEARCH_THROTTLE_SCOPE = "job_search"


def job_search_throttled(
    *, viewer: User | None, client_address: str | None, filters: JobFilters
) -> JobPage:
    """Search open jobs, at most limits.SEARCH_ANONYMOUS_PER_WINDOW_MAX searches with a text per
    minute from one address without logging in, SEARCH_USER_PER_WINDOW_MAX per logged-in user.

    Browsing without a text is not counted: it reads the newest jobs from an index, whatever
    the filters. A refused search (too short, too broad) counts, so retrying it costs the sender.
    """
    if selectors.search_terms(filters.q):
        if viewer is None:
            key, limit = f"ip:{client_address or 'unknown'}", limits.SEARCH_ANONYMOUS_PER_WINDOW_MAX
        else:
            key, limit = f"user:{viewer.pk}", limits.SEARCH_USER_PER_WINDOW_MAX
        throttle_hit(
            scope=SEARCH_THROTTLE_SCOPE,
            key=key,
            limit=limit,
            window=limits.SEARCH_THROTTLE_WINDOW,
            message=_(
                "Too many searches in a short time. Please wait a minute and search again; "
                "logged-in users may search more often."
            ),
            code="search_rate_limited",
        )
    return selectors.job_search(filters)
