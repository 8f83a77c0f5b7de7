"""Pages: the public help page, and the sections the job pages and the public profile show
through core.slots (registered in ReputationConfig.ready)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET

from ishibashi.accounts.models import User
from ishibashi.core.errors import ApplicationError
from ishibashi.reputation import rules, selectors
from ishibashi.reputation.rules import Profile, TrackRecord


def profile_context(profile: Profile) -> dict[str, Any]:
    s = profile.signals
    return {
        "profile": profile,
        "signals": s,
        "level_code": profile.level.code,
        "median_fund": rules.median_words(s.median_fund),
        "median_inspect": rules.median_words(s.median_inspect),
        "median_reply": rules.median_words(s.median_reply),
        "rating": rules.rating_words(s.rating),
        "hire_rate": None if s.hire_rate is None else round(s.hire_rate * 100),
        "reply_days": settings.CLIENT_REPLY_DAYS,
    }


def render_client_reliability(request: HttpRequest, ids: list[int]) -> dict[int, str]:
    """The full profile (job page, proposal form, public profile): one client at a time."""
    profiles = selectors.client_profiles(client_ids=ids)
    return {
        pk: render_to_string(
            "reputation/_client_reliability.html", profile_context(profile), request=request
        )
        for pk, profile in profiles.items()
    }


def render_client_reliability_summary(request: HttpRequest, ids: list[int]) -> dict[int, str]:
    """Level and top reason for every card of a list: three queries for the whole page."""
    profiles = selectors.client_profiles(client_ids=ids, with_rating=False)
    return {
        pk: render_to_string(
            "reputation/_client_reliability_summary.html",
            {"profile": profile, "level_code": profile.level.code},
            request=request,
        )
        for pk, profile in profiles.items()
    }


def track_record_context(record: TrackRecord) -> dict[str, Any]:
    s = record.signals
    return {
        "record": record,
        "signals": s,
        "level_code": record.level.code,
        "on_time": None if s.on_time_rate is None else round(s.on_time_rate * 100),
        "revisions": None
        if s.revisions_per_milestone is None
        else f"{s.revisions_per_milestone:.2f}",
        "rating": rules.rating_words(s.rating),
    }


def render_profile_sections(request: HttpRequest, ids: list[int]) -> dict[int, str]:
    """The public profile's reliability (a client) and track record (a worker)."""
    drawn: dict[int, str] = {}
    roles = {
        pk: (is_client, is_worker)
        for pk, is_client, is_worker in User.objects.filter(pk__in=ids).values_list(
            "pk", "is_client", "is_worker"
        )
    }
    for pk, (is_client, is_worker) in roles.items():
        parts = []
        if is_client:
            parts.append(render_client_reliability(request, [pk]).get(pk, ""))
        if is_worker:
            try:
                record = selectors.worker_track_record_get(worker_id=pk)
            except ApplicationError:
                continue
            parts.append(
                render_to_string(
                    "reputation/_worker_track_record.html",
                    track_record_context(record),
                    request=request,
                )
            )
        drawn[pk] = "".join(parts)
    return drawn


def client_reliability_data(request: HttpRequest, ids: list[int]) -> dict[int, dict[str, Any]]:
    """The compact summary a job's API answer carries (level and top reason)."""
    profiles = selectors.client_profiles(client_ids=ids, with_rating=False)
    return {pk: summary_data(profile) for pk, profile in profiles.items()}


def summary_data(profile: Profile) -> dict[str, Any]:
    top = profile.top_reason
    return {
        "level": profile.level.code,
        "level_label": str(profile.level.label),
        "top_reason": None if top is None else reason_data(top),
    }


def reason_data(reason: rules.Reason) -> dict[str, Any]:
    return {
        "code": reason.code,
        "severity": reason.severity.name.lower(),
        "text": reason.text,
        "help_url": reason.help_url,
    }


@require_GET
def reliability_help_view(request: HttpRequest) -> HttpResponse:
    """How every signal and the level are computed; public."""
    return render(
        request,
        "reputation/help.html",
        {
            "history_min": rules.HISTORY_MIN,
            "contract_prior": rules.CONTRACT_PRIOR,
            "job_prior": rules.JOB_PRIOR,
            "contract_caution": round(rules.CONTRACT_CAUTION * 100),
            "contract_warning": round(rules.CONTRACT_WARNING * 100),
            "job_caution": round(rules.JOB_CAUTION * 100),
            "job_warning": round(rules.JOB_WARNING * 100),
            "delivery_caution": round(rules.DELIVERY_CAUTION * 100),
            "delivery_warning": round(rules.DELIVERY_WARNING * 100),
            "reply_days": settings.CLIENT_REPLY_DAYS,
        },
    )
