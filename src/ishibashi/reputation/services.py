"""Recount every client's counters and histograms from the rows, compare, optionally write."""

from __future__ import annotations

from dataclasses import dataclass

from ishibashi.accounts.models import User
from ishibashi.contracts.models import ClientContractStats, Contract
from ishibashi.contracts.services.stats import (
    client_contract_stats_rebuild,
    client_contract_stats_recount,
    client_contract_stats_stored,
)
from ishibashi.jobs.models import ClientJobStats, Job
from ishibashi.jobs.services.stats import (
    client_job_stats_rebuild,
    client_job_stats_recount,
    client_job_stats_stored,
)
from ishibashi.reviews.services import review_stats_rebuild


@dataclass(frozen=True)
class Difference:
    client_id: int
    field: str
    stored: int
    recomputed: int


def _client_ids() -> list[int]:
    ids: set[int] = set()
    ids.update(ClientJobStats.objects.values_list("client_id", flat=True))
    ids.update(ClientContractStats.objects.values_list("client_id", flat=True))
    ids.update(Job.objects.values_list("client_id", flat=True).distinct())
    ids.update(Contract.objects.values_list("client_id", flat=True).distinct())
    return sorted(ids)


def reputation_rebuild(*, fix: bool = False) -> list[Difference]:
    """Every stored counter that differs from its recount; with `fix`, the recount is written.

    Each client is recounted on its own (its counters are written under its stats row's lock),
    so a client whose events arrive meanwhile is recounted with them or not at all.
    """
    differences: list[Difference] = []
    for client_id in _client_ids():
        client = User(pk=client_id)
        pairs = [
            (client_job_stats_stored(client=client), client_job_stats_recount(client=client)),
            (
                client_contract_stats_stored(client_id=client_id),
                client_contract_stats_recount(client_id=client_id),
            ),
        ]
        found = [
            Difference(client_id, name, stored[name], recount[name])
            for stored, recount in pairs
            for name in recount
            if stored[name] != recount[name]
        ]
        differences += found
        if fix and found:
            client_job_stats_rebuild(client=client)
            client_contract_stats_rebuild(client_id=client_id)
    # The ratings: each person's published reviews per role, kept by the reviews app.
    differences += [
        Difference(m.user_id, f"rating_{m.role}_{m.field}", m.stored, m.expected)
        for m in review_stats_rebuild(fix=fix)
    ]
    return differences
