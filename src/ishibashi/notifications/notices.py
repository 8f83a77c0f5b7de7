"""notify(): a notice to one user in their language: in the app at once, by mail on commit."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import translation

from ishibashi.accounts.models import User
from ishibashi.notifications.services import notification_create

logger = logging.getLogger(__name__)


def notify(*, user: User, compose: Callable[[], tuple[str, str]], path: str = "") -> None:
    """Tell `user`; `compose` returns (subject, body) and runs once, in the user's language.

    The in-app notification is written now, in the caller's transaction: a rolled-back change
    leaves none behind. The mail, with the same words and a link to `path`, goes out only on
    commit: a rolled-back hire never tells anyone they were declined.
    """
    if not user.is_active:
        return
    with translation.override(user.preferred_language):
        subject, body = compose()
    notification_create(user=user, subject=subject, body=body, path=path)
    user_id = user.pk
    if path:
        body = f"{body}\n\n{settings.SITE_URL.rstrip('/')}{path}\n"

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
