"""notify(): a notice to one user in their language: in the app at once, by mail on commit."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import EmailMessage, get_connection, send_mail
from django.db import transaction
from django.utils import translation

from ishibashi.accounts.models import User
from ishibashi.notifications.models import Notification
from ishibashi.notifications.services import (
    notification_build,
    notification_create,
    notifications_create_many,
)

logger = logging.getLogger(__name__)


def notify(
    *,
    user: User,
    compose: Callable[[], tuple[str, str]],
    path: str = "",
    actor: User | None = None,
    asks_for_action: bool = False,
) -> None:
    """Tell `user`; `compose` returns (subject, body) and runs once, in the user's language.

    Nobody is told of their own action: when `user` is the `actor` (or the one notices_acted_by
    names), nothing is written or sent; they did it and the page already showed them. A notice
    that `asks_for_action` (a new request with its own deadline, such as the next milestone's
    escrow after an approval) is sent even so: it is a new to-do, and missing its deadline
    counts against the recipient.

    The in-app notification is written now, in the caller's transaction: a rolled-back change
    leaves none behind. The mail, with the same words and a link to `path`, goes out only on
    commit: a rolled-back hire never tells anyone they were declined.
    """
    if not user.is_active:
        return
    actor = actor if actor is not None else _actor.get()
    if actor is not None and actor.pk == user.pk and not asks_for_action:
        return
    language = user.preferred_language
    with translation.override(language):
        subject, body = compose()
    batch = _batch.get()
    if batch is not None:
        batch.notifications.append(
            notification_build(user=user, subject=subject, body=body, path=path, language=language)
        )
        batch.mails.append((user.pk, subject, _mail_body(body, path)))
        return
    notification_create(user=user, subject=subject, body=body, path=path, language=language)
    user_id = user.pk
    body = _mail_body(body, path)

    def send() -> None:
        # Read again at commit: the address may have changed, or the account been closed.
        email = User.objects.filter(pk=user_id, is_active=True).values_list("email", flat=True)
        recipient = email.first()
        if recipient is None:
            return
        try:
            send_mail(subject, body, None, [recipient])
        except Exception:  # The change is committed; a mail server's failure must not undo it.
            logger.exception("notice mail to user %s failed", user_id)

    transaction.on_commit(send)


def _mail_body(body: str, path: str) -> str:
    return f"{body}\n\n{settings.SITE_URL.rstrip('/')}{path}\n" if path else body


# The person whose action the notices inside notices_acted_by() tell about.
_actor: ContextVar[User | None] = ContextVar("notices_actor", default=None)


@contextmanager
def notices_acted_by(actor: User | None) -> Iterator[None]:
    """Inside, notify() passes over `actor`: a use case's notices never tell its own actor.

    None (the system acting, such as the release that follows an approval) keeps the person
    an enclosing block names: the release is still the approving client's doing.
    """
    if actor is None:
        yield
        return
    token = _actor.set(actor)
    try:
        yield
    finally:
        _actor.reset(token)


@dataclass
class _Batch:
    notifications: list[Notification] = field(default_factory=list)
    mails: list[tuple[int, str, str]] = field(default_factory=list)  # (user id, subject, body)


_batch: ContextVar[_Batch | None] = ContextVar("notices_batch", default=None)


@contextmanager
def notices_batched() -> Iterator[None]:
    """Collect every notify() inside, then record them in one statement on the way out.

    Every use case that may tell someone wraps its transaction in it (the sweeper's batch tells
    hundreds). Use it inside the transaction: the notices are written in it, and the mails go
    out on its commit, over one mail connection, after one query for the recipients' current
    addresses. If the block raises, nothing is recorded or sent. A nested block joins the
    outer one.
    """
    if _batch.get() is not None:
        # Inside another batch (a use case called by another): the outer one records them.
        yield
        return
    batch = _Batch()
    token = _batch.set(batch)
    try:
        yield
    finally:
        _batch.reset(token)
    if batch.notifications:
        notifications_create_many(batch.notifications)
        mails = batch.mails
        transaction.on_commit(lambda: _send_mails(mails))


def _send_mails(mails: list[tuple[int, str, str]]) -> None:
    # Read again at commit: an address may have changed, or an account been closed.
    recipients = dict(
        User.objects.filter(
            pk__in={user_id for user_id, _s, _b in mails}, is_active=True
        ).values_list("pk", "email")
    )
    connection = get_connection()
    try:
        connection.open()
    except Exception:  # The change is committed; a mail server's failure must not undo it.
        logger.exception("notice mail connection failed; %d mails not sent", len(mails))
        return
    try:
        for user_id, subject, body in mails:
            recipient = recipients.get(user_id)
            if recipient is None:
                continue
            try:
                EmailMessage(subject, body, None, [recipient], connection=connection).send()
            except Exception:
                logger.exception("notice mail to user %s failed", user_id)
    finally:
        connection.close()
