"""Mails from jobs and proposals: a proposal received, revised or declined; a message; a hire."""

from __future__ import annotations

from collections.abc import Sequence

from django.urls import reverse
from django.utils.translation import gettext as _

from ishibashi.jobs.models import Job, Proposal, ProposalMessage
from ishibashi.notifications.notices import notify


def proposal_received(*, proposal: Proposal) -> None:
    job = proposal.job
    title, worker = job.title, proposal.worker.display_name
    notify(
        user=job.client,
        compose=lambda: (
            _("New proposal on “%(title)s”") % {"title": title},
            _("%(worker)s sent a proposal on your job “%(title)s”.")
            % {"worker": worker, "title": title},
        ),
        path=reverse("jobs:proposal_detail", args=[proposal.pk]),
    )


def proposal_revised(*, proposal: Proposal) -> None:
    job = proposal.job
    title, worker, revision = job.title, proposal.worker.display_name, proposal.revision
    total = f"{proposal.total_jpy:,}"
    notify(
        user=job.client,
        compose=lambda: (
            _("Proposal revised on “%(title)s”") % {"title": title},
            _(
                "%(worker)s revised their proposal on your job “%(title)s” (version "
                "%(revision)d, total ¥%(total)s). Check the new plan before hiring."
            )
            % {"worker": worker, "title": title, "revision": revision, "total": total},
        ),
        path=reverse("jobs:proposal_detail", args=[proposal.pk]),
    )


def proposals_declined(*, job: Job, proposals: Sequence[Proposal]) -> None:
    title = job.title
    for proposal in proposals:
        reason = proposal.decline_reason
        notify(
            user=proposal.worker,
            compose=lambda reason=reason: (  # type: ignore[misc]
                _("Your proposal on “%(title)s” was not selected") % {"title": title},
                _("Your proposal on “%(title)s” was not selected.") % {"title": title}
                + (f"\n\n{reason}" if reason else ""),
            ),
            path=reverse("jobs:proposal_detail", args=[proposal.pk]),
        )


def proposal_message_posted(*, message: ProposalMessage, proposal: Proposal) -> None:
    recipient = proposal.job.client if message.author_id == proposal.worker_id else proposal.worker
    title, author = proposal.job.title, message.author.display_name
    notify(
        user=recipient,
        compose=lambda: (
            _("New message about “%(title)s”") % {"title": title},
            _("%(author)s wrote to you about “%(title)s”.") % {"author": author, "title": title},
        ),
        path=reverse("jobs:proposal_detail", args=[proposal.pk]),
    )
