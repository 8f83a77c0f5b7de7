"""Idempotency-Key on the API's money-moving actions: a retry gets the first answer, not a 409.

Fund, approve, cancel, accept a cancellation and rule on a dispute refuse a second run (409:
already funded, already approved). A client whose connection broke does not know whether the
first run happened; sent again with the same Idempotency-Key, the request gets the first
request's answer back, marked `Idempotent-Replayed: true`. Deposits, payouts and ledger
adjustments keep their keys in their own tables (payments, ledger) and are not handled here.

The key is claimed before the request runs (one row, unique per sender and key): a second
request with the key while the first is running hears 409 `idempotency_key_in_progress` with
Retry-After. Only a 2xx answer is kept; after a refusal the claim is dropped, since a refusal
changed nothing. A claim left by a crashed worker lapses after CLAIM_LAPSES_AFTER.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

from ishibashi.core import clock, limits
from ishibashi.core.errors import ApplicationError, Conflict, InvalidInput
from ishibashi.core.models import IdempotentRequest

HEADER = "Idempotency-Key"
# The actions that move money and refuse a second run (see docs/api.md).
MONEY_ACTIONS = re.compile(
    r"^/api/v1/(milestones/\d+/(fund|accept-cancellation|dispute/resolve)"
    r"|deliveries/\d+/approve|contracts/\d+/cancel)/?$"
)
CLAIM_LAPSES_AFTER = dt.timedelta(seconds=60)
RETRY_AFTER_SECONDS = 1


def idempotency_key_checked(key: str) -> str:
    """The key as sent, or a refusal naming it: 1 to 200 characters (deposits, payouts, and
    the money actions here all hold keys to this rule)."""
    if not key or len(key) > limits.IDEMPOTENCY_KEY_LENGTH_MAX:
        raise InvalidInput(
            _("The Idempotency-Key must be 1 to 200 characters."), field="idempotency_key"
        )
    return key


def _sender(request: HttpRequest) -> str | None:
    credential = request.headers.get("Authorization") or ""
    if not credential:
        session = request.COOKIES.get(settings.SESSION_COOKIE_NAME, "")
        credential = f"session:{session}" if session else ""
    return hashlib.sha256(credential.encode()).hexdigest() if credential else None


def _refusal(error: ApplicationError) -> JsonResponse:
    """The API's error shape (config.api answers ApplicationError the same way)."""
    response = JsonResponse(error.as_body(), status=error.http_status)
    if "retry_after_seconds" in error.extra:
        response["Retry-After"] = str(error.extra["retry_after_seconds"])
    return response


def _in_progress() -> Conflict:
    return Conflict(
        _("A request with this Idempotency-Key is still running. Retry shortly."),
        code="idempotency_key_in_progress",
        extra={"retry_after_seconds": RETRY_AFTER_SECONDS},
    )


def _replay(kept: IdempotentRequest) -> HttpResponse:
    response = HttpResponse(
        bytes(kept.body), status=kept.status_code, content_type=kept.content_type
    )
    response["Idempotent-Replayed"] = "true"
    return response


class IdempotencyKeyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.headers.get(HEADER)
        if key is None or request.method != "POST" or not MONEY_ACTIONS.match(request.path):
            return self.get_response(request)
        sender = _sender(request)
        if sender is None:  # not logged in: the API answers 401, nothing to keep
            return self.get_response(request)
        try:
            idempotency_key_checked(key)
        except InvalidInput as error:
            return _refusal(error)
        claim, answer = self._claim(sender, key, request)
        if answer is not None:
            return answer
        assert claim is not None
        response = self.get_response(request)
        if 200 <= response.status_code < 300 and not response.streaming:
            IdempotentRequest.objects.filter(pk=claim.pk).update(
                status_code=response.status_code,
                content_type=response.get("Content-Type", ""),
                body=response.content,
            )
        else:
            IdempotentRequest.objects.filter(pk=claim.pk, status_code__isnull=True).delete()
        return response

    def _claim(
        self, sender: str, key: str, request: HttpRequest
    ) -> tuple[IdempotentRequest | None, HttpResponse | None]:
        """This request's claim on the key, or the answer to give instead of running it."""
        for _attempt in range(2):
            now = clock.now()
            kept = IdempotentRequest.objects.filter(scope=sender, key=key).first()
            if kept is not None:
                if (kept.method, kept.path) != (request.method, request.path):
                    return None, _refusal(
                        Conflict(
                            _("This Idempotency-Key was already used for a different request."),
                            code="idempotency_key_reused",
                            field="idempotency_key",
                        )
                    )
                if kept.status_code is not None:
                    return None, _replay(kept)
                if now - kept.created_at < CLAIM_LAPSES_AFTER:
                    return None, _refusal(_in_progress())
                # A crashed worker's claim: drop it and claim afresh.
                IdempotentRequest.objects.filter(pk=kept.pk, status_code__isnull=True).delete()
            try:
                with transaction.atomic():
                    claim = IdempotentRequest.objects.create(
                        scope=sender,
                        key=key,
                        method=request.method or "POST",
                        path=request.path[:300],
                        created_at=now,
                    )
                return claim, None
            except IntegrityError:
                continue  # another request claimed it first: answer as above
        return None, _refusal(_in_progress())


# A client retries within minutes; a day covers a client that was offline overnight.
KEPT_FOR = dt.timedelta(days=1)
PURGE_BATCH = 1000


def idempotent_requests_purge() -> int:
    """Forget answers older than KEPT_FOR, a batch at a time (a sweep)."""
    old = IdempotentRequest.objects.filter(created_at__lt=clock.now() - KEPT_FOR).order_by("pk")
    ids = list(old.values_list("pk", flat=True)[:PURGE_BATCH])
    if ids:
        IdempotentRequest.objects.filter(pk__in=ids).delete()
    return len(ids)
