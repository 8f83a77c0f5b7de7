"""notify(): an e-mail to one user in their own language, sent only if the transaction commits."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import translation

from ishibashi.accounts.models import User

logger = logging.getLogger(__name__)


def notify(*, user: User, compose: Callable[[], tuple[str, str]], path: str = "") -> None:
    """Queue a mail to `user`; `compose` returns (subject, body) and runs in the user's language.

    The mail goes out on commit: a rolled-back hire never tells anyone they were declined.
    """
    user_id = user.pk

    def send() -> None:
        recipient = User.objects.filter(pk=user_id, is_active=True).first()
        if recipient is None:
            return
        with translation.override(recipient.preferred_language):
            subject, body = compose()
            if path:
                body = f"{body}\n\n{settings.SITE_URL.rstrip('/')}{path}\n"
        try:
            send_mail(subject, body, None, [recipient.email])
        except Exception:  # The change is committed; a mail server's failure must not undo it.
            logger.exception("notice mail to user %s failed", user_id)

    transaction.on_commit(send)
