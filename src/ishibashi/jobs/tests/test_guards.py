"""Message guards before the contract: the proposal's thread and its cover letter."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.test import Client

from conftest import log_in
from ishibashi.guards import pattern_set
from ishibashi.jobs import services
from ishibashi.jobs.models import Proposal, ProposalMessage
from ishibashi.jobs.tests.conftest import proposal_input

VERSION = pattern_set().version
OFF_PLATFORM = "手数料がかからないので、LINEで直接取引しませんか？ID: tanaka_design"
FREE_TEST = "採用前にテストとして無償で記事を1本書いていただきます。"


def _cautions(html: str) -> list[str]:
    return re.findall(r'data-testid="guard-caution" data-category="(\w+)"', html)


def _proposal(open_job: Any, worker: Any, **changes: Any) -> Proposal:
    return services.proposal_create(
        worker=worker, job_id=open_job.pk, data=proposal_input(**changes)
    )


def test_a_thread_message_with_a_hit_is_stored_unchanged(open_job, client_user, worker):
    proposal = _proposal(open_job, worker)

    message = services.proposal_message_post(
        author=client_user, proposal_id=proposal.pk, body=FREE_TEST
    )

    message.refresh_from_db()
    assert (message.body, message.guard_categories, message.guard_version) == (
        FREE_TEST,
        ["free_test"],
        VERSION,
    )


def test_the_cover_letter_is_checked_when_sent_and_when_revised(open_job, worker):
    proposal = _proposal(open_job, worker, cover_letter="ご連絡は 〇九〇－一二三四－五六七八 まで")
    assert (proposal.cover_letter_guard_categories, proposal.cover_letter_guard_version) == (
        ["off_platform"],
        VERSION,
    )

    services.proposal_revise(
        worker=worker, proposal_id=proposal.pk, data=proposal_input(cover_letter="経験があります")
    )

    proposal.refresh_from_db()
    assert (proposal.cover_letter, proposal.cover_letter_guard_categories) == ("経験があります", [])


def test_the_api_returns_the_guards_of_a_message_and_of_the_cover_letter(
    open_job, client_user, worker, token_for
):
    proposal = _proposal(open_job, worker, cover_letter=OFF_PLATFORM)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token_for(client_user)}"}

    posted = Client().post(
        f"/api/v1/proposals/{proposal.pk}/messages",
        {"body": FREE_TEST},
        content_type="application/json",
        **headers,
    )
    read = Client().get(f"/api/v1/proposals/{proposal.pk}", **headers)

    assert posted.status_code == 201
    assert posted.json()["body"] == FREE_TEST
    assert posted.json()["guards"] == {"categories": ["free_test"], "version": VERSION}
    assert read.json()["cover_letter_guards"] == {
        "categories": ["off_platform"],
        "version": VERSION,
    }


def test_the_thread_page_warns_first_and_sends_after_acknowledgement(open_job, client_user, worker):
    proposal = _proposal(open_job, worker)
    web = log_in(Client(), client_user)
    url = f"/jobs/proposals/{proposal.pk}/messages/"

    warned = web.post(url, {"body": FREE_TEST})

    assert warned.status_code == 200
    assert 'data-testid="guard-warning"' in warned.content.decode()
    assert warned.context["message_form"]["body"].value() == FREE_TEST
    assert ProposalMessage.objects.filter(proposal=proposal).count() == 0

    sent = web.post(url, {"body": FREE_TEST, "acknowledged": "1"})

    assert sent.status_code == 302
    assert ProposalMessage.objects.get(proposal=proposal).body == FREE_TEST


def test_the_reader_sees_cautions_and_the_writer_a_note(open_job, client_user, worker):
    proposal = _proposal(open_job, worker, cover_letter=OFF_PLATFORM)
    services.proposal_message_post(author=client_user, proposal_id=proposal.pk, body=FREE_TEST)
    url = f"/jobs/proposals/{proposal.pk}/"

    as_client = log_in(Client(), client_user).get(url).content.decode()
    as_worker = log_in(Client(), worker).get(url).content.decode()

    # The client reads the cover letter (off platform); the worker reads the message (test).
    assert _cautions(as_client) == ["off_platform"]
    assert _cautions(as_worker) == ["free_test"]
    assert as_client.count('data-testid="guard-writer-note"') == 1
    assert as_worker.count('data-testid="guard-writer-note"') == 1


def test_the_proposal_form_warns_about_the_cover_letter_first(open_job, worker):
    web = log_in(Client(), worker)
    url = f"/jobs/{open_job.pk}/propose/"
    data = {
        "kind": "proposal",
        "cover_letter": OFF_PLATFORM,
        "total_jpy": "80000",
        "rows": "1",
        "milestones-0-title": "作業",
        "milestones-0-kind": "main_work",
        "milestones-0-amount_jpy": "80000",
        "milestones-0-due_on": (services.today() + dt.timedelta(days=10)).isoformat(),
    }

    warned = web.post(url, data)

    assert warned.status_code == 200
    assert 'data-testid="guard-warning"' in warned.content.decode()
    assert warned.context["form"]["cover_letter"].value() == OFF_PLATFORM
    assert Proposal.objects.filter(job=open_job).count() == 0

    sent = web.post(url, {**data, "acknowledged": "1"})

    assert sent.status_code == 302
    proposal = Proposal.objects.get(job=open_job)
    assert (proposal.cover_letter, proposal.cover_letter_guard_categories) == (
        OFF_PLATFORM,
        ["off_platform"],
    )
