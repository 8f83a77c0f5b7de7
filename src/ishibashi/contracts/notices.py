"""What the parties are told as a contract moves: escrow, delivery, inspection, reminders, changes.

Each notice goes out only if the transaction that caused it commits (notifications.notices.notify),
in the recipient's language, with a link to the contract page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from ishibashi.notifications.notices import notify

if TYPE_CHECKING:
    import datetime as dt

    from ishibashi.accounts.models import User
    from ishibashi.contracts.models import ChangeRequest, Contract, ContractMessage, Milestone
    from ishibashi.contracts.states import Locked


def _path(contract: Contract) -> str:
    return reverse("contracts:detail", args=[contract.pk])


def _named(contract: Contract, milestone: Milestone) -> str:
    """The subject's name for a milestone: the contract's title first, so a list of notices (or
    of mails) says which contract each is about; the milestone's after it when it differs."""
    if milestone.title == contract.title:
        return contract.title
    return f"{contract.title} / {milestone.title}"


def _when(moment: dt.datetime | None) -> str:
    if moment is None:
        return ""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def funding_requested(locked: Locked) -> None:
    contract, milestone = locked.contract, locked.milestone
    title, amount = milestone.title, f"{milestone.amount_jpy:,}"
    named = _named(contract, milestone)
    deadline = _when(milestone.clock_deadline_at)
    notify(
        asks_for_action=True,
        user=contract.client,
        compose=lambda: (
            _("Escrow (仮払い) requested: “%(title)s”") % {"title": named},
            _(
                "Please fund ¥%(amount)s into escrow for “%(title)s” by %(deadline)s. The worker "
                "does not start before the escrow is funded."
            )
            % {"amount": amount, "title": title, "deadline": deadline},
        ),
        path=_path(contract),
    )


def funded(locked: Locked) -> None:
    contract, milestone = locked.contract, locked.milestone
    title, amount = milestone.title, f"{milestone.amount_jpy:,}"
    named = _named(contract, milestone)
    notify(
        user=contract.worker,
        compose=lambda: (
            _("Escrow funded: “%(title)s”") % {"title": named},
            _("¥%(amount)s for “%(title)s” is in escrow. You can start the work now.")
            % {"amount": amount, "title": title},
        ),
        path=_path(contract),
    )


def delivered(locked: Locked) -> None:
    contract, milestone = locked.contract, locked.milestone
    title, deadline = milestone.title, _when(milestone.clock_deadline_at)
    named = _named(contract, milestone)
    notify(
        user=contract.client,
        compose=lambda: (
            _("Delivered: “%(title)s” — please inspect") % {"title": named},
            _(
                "The worker delivered “%(title)s”. Approve it or request a revision by "
                "%(deadline)s. Without an answer by then it is approved automatically and the "
                "escrow is paid to the worker."
            )
            % {"title": title, "deadline": deadline},
        ),
        path=_path(contract),
    )


def released(locked: Locked) -> None:
    contract, milestone = locked.contract, locked.milestone
    title, amount = milestone.title, f"{milestone.amount_jpy:,}"
    named = _named(contract, milestone)
    for user in (contract.worker, contract.client):
        notify(
            user=user,
            compose=lambda: (
                _("Paid: “%(title)s”") % {"title": named},
                _("The escrow of ¥%(amount)s for “%(title)s” was released to the worker.")
                % {"amount": amount, "title": title},
            ),
            path=_path(contract),
        )


def revision_requested(locked: Locked) -> None:
    contract, milestone = locked.contract, locked.milestone
    title = milestone.title
    named = _named(contract, milestone)
    notify(
        user=contract.worker,
        compose=lambda: (
            _("Revision requested: “%(title)s”") % {"title": named},
            _("The client asked for a revision of “%(title)s”. The reason is on the contract page.")
            % {"title": title},
        ),
        path=_path(contract),
    )


def dispute_opened(locked: Locked) -> None:
    contract, milestone = locked.contract, locked.milestone
    title = milestone.title
    named = _named(contract, milestone)
    for user in (contract.client, contract.worker):
        notify(
            user=user,
            compose=lambda: (
                _("Dispute opened: “%(title)s”") % {"title": named},
                _(
                    "A dispute was opened on “%(title)s”. An operator will review the contract "
                    "history."
                )
                % {"title": title},
            ),
            path=_path(contract),
        )


def dispute_resolved(locked: Locked) -> None:
    contract, milestone = locked.contract, locked.milestone
    title = milestone.title
    named = _named(contract, milestone)
    for user in (contract.client, contract.worker):
        notify(
            user=user,
            compose=lambda: (
                _("Dispute resolved: “%(title)s”") % {"title": named},
                _(
                    "An operator decided the dispute on “%(title)s”. The ruling is on the "
                    "contract page."
                )
                % {"title": title},
            ),
            path=_path(contract),
        )


def funding_expired(locked: Locked) -> None:
    contract, milestone = locked.contract, locked.milestone
    title = milestone.title
    named = _named(contract, milestone)
    for user in (contract.client, contract.worker):
        notify(
            user=user,
            compose=lambda: (
                _("Escrow not funded: “%(title)s” closed") % {"title": named},
                _(
                    "The escrow for “%(title)s” was not funded by its deadline, so the contract "
                    "was closed. This does not count against the worker."
                )
                % {"title": title},
            ),
            path=_path(contract),
        )


def cancelled_with_kill_fee(locked: Locked) -> None:
    contract, milestone = locked.contract, locked.milestone
    title, percent = milestone.title, contract.kill_fee_percent
    named = _named(contract, milestone)
    for user in (contract.client, contract.worker):
        notify(
            user=user,
            compose=lambda: (
                _("Cancelled: “%(title)s”") % {"title": named},
                _(
                    "“%(title)s” was cancelled. The kill fee of %(percent)d%% went to the worker "
                    "from escrow; the rest was refunded to the client."
                )
                % {"title": title, "percent": percent},
            ),
            path=_path(contract),
        )


def contract_ended(*, contract: Contract, actor: User | None) -> None:
    title = contract.title
    for user in (contract.client, contract.worker):
        notify(
            user=user,
            actor=actor,
            compose=lambda: (
                _("Contract completed: “%(title)s”") % {"title": title},
                _("Every milestone of “%(title)s” is settled. Thank you.") % {"title": title},
            ),
            path=_path(contract),
        )


def message_posted(*, message: ContractMessage) -> None:
    contract = message.contract
    recipient = contract.client if message.author_id == contract.worker_id else contract.worker
    title, author = contract.title, message.author.display_name
    notify(
        user=recipient,
        compose=lambda: (
            _("New message on “%(title)s”") % {"title": title},
            _("%(author)s wrote on the contract “%(title)s”.") % {"author": author, "title": title},
        ),
        path=_path(contract),
    )


def reminder(*, milestone: Milestone, contract: Contract) -> None:
    from ishibashi.contracts.models import ClockKind

    title, deadline, kind = milestone.title, _when(milestone.clock_deadline_at), milestone.clock
    recipient = contract.worker if kind == ClockKind.CANCELLATION_ANSWER else contract.client

    def compose() -> tuple[str, str]:
        if kind == ClockKind.FUNDING:
            body = _(
                "Escrow for “%(title)s” is still not funded. If it is not funded by "
                "%(deadline)s, the milestone closes."
            )
        elif kind == ClockKind.INSPECTION:
            body = _(
                "The delivery of “%(title)s” is waiting for your inspection. Without an "
                "answer by %(deadline)s it is approved automatically and paid."
            )
        elif kind == ClockKind.CLIENT_REPLY:
            body = _(
                "The worker is waiting for your reply on “%(title)s”. Without a reply by "
                "%(deadline)s, the worker may deliver the work so far or cancel with the "
                "kill fee."
            )
        else:
            body = _(
                "The client cancelled “%(title)s”. Accept, deliver the work so far or "
                "open a dispute by %(deadline)s; after that the cancellation stands with "
                "the kill fee."
            )
        return (
            _("Reminder: “%(title)s” — deadline %(deadline)s")
            % {"title": _named(contract, milestone), "deadline": deadline},
            body % {"title": title, "deadline": deadline},
        )

    notify(user=recipient, compose=compose, path=_path(contract))


def client_silence_expired(*, milestone: Milestone, contract: Contract) -> None:
    title = milestone.title
    named = _named(contract, milestone)
    notify(
        user=contract.worker,
        compose=lambda: (
            _("No reply from the client: “%(title)s”") % {"title": named},
            _(
                "The client has not replied in time. You may deliver the work so far (it then "
                "follows the normal inspection clock) or cancel with the kill fee."
            )
            % {"title": title},
        ),
        path=_path(contract),
    )


def cancellation_requested(*, milestone: Milestone, contract: Contract) -> None:
    title, deadline = milestone.title, _when(milestone.clock_deadline_at)
    named = _named(contract, milestone)
    percent = contract.kill_fee_percent
    notify(
        user=contract.worker,
        compose=lambda: (
            _("The client cancelled: “%(title)s”") % {"title": named},
            _(
                "The client cancelled the contract while “%(title)s” is in progress. Accept "
                "(the kill fee of %(percent)d%% is paid to you from escrow), deliver the work so "
                "far, or open a dispute by %(deadline)s."
            )
            % {"title": title, "percent": percent, "deadline": deadline},
        ),
        path=_path(contract),
    )


def termination_notice(*, contract: Contract) -> None:
    title, effective = contract.title, _when(contract.termination_effective_at)
    notify(
        user=contract.worker,
        compose=lambda: (
            _("Notice of termination: “%(title)s”") % {"title": title},
            _(
                "The client gave notice to end the monthly contract “%(title)s”. It ends on "
                "%(effective)s unless you agree to end it sooner."
            )
            % {"title": title, "effective": effective},
        ),
        path=_path(contract),
    )


def change_proposed(*, change: ChangeRequest) -> None:
    contract = change.contract
    recipient = contract.client if change.proposed_by_id == contract.worker_id else contract.worker
    title, delta, expires = contract.title, f"{change.price_delta_jpy:+,}", _when(change.expires_at)
    notify(
        user=recipient,
        compose=lambda: (
            _("Change requested on “%(title)s”") % {"title": title},
            _(
                "A change to the contract “%(title)s” (price %(delta)s yen) is waiting for your "
                "answer until %(expires)s."
            )
            % {"title": title, "delta": delta, "expires": expires},
        ),
        path=_path(contract),
    )


def change_answered(*, change: ChangeRequest, actor: User | None) -> None:
    from ishibashi.contracts.models import ChangeState

    contract = change.contract
    state = ChangeState(change.state)
    title = contract.title

    def compose() -> tuple[str, str]:
        label = str(state.label)
        return (
            _("Change request on “%(title)s”: %(state)s") % {"title": title, "state": label},
            _("The change request on “%(title)s” is now: %(state)s.")
            % {"title": title, "state": label},
        )

    for user in (contract.client, contract.worker):
        notify(user=user, compose=compose, path=_path(contract), actor=actor)


def contract_started(*, contract: Contract) -> None:
    """Tells the worker they were hired, and asks the client, who hired, for the first escrow:
    a new to-do with its deadline, sent although the hire was the client's own action."""
    title = contract.title
    path = reverse("contracts:detail", args=[contract.pk])
    notify(
        user=contract.worker,
        compose=lambda: (
            _("You were hired: “%(title)s”") % {"title": title},
            _(
                "The client hired your proposal for “%(title)s”. Do not start work on a "
                "milestone until its escrow (仮払い) is funded; the contract page shows when."
            )
            % {"title": title},
        ),
        path=path,
    )
    notify(
        asks_for_action=True,
        user=contract.client,
        compose=lambda: (
            _("Contract started: “%(title)s”") % {"title": title},
            _(
                "Your contract for “%(title)s” has started. Fund the first milestone's escrow "
                "(仮払い) so the worker can begin."
            )
            % {"title": title},
        ),
        path=path,
    )
