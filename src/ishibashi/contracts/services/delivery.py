"""Delivery (納品): versioned deliveries with checked, stored files or a report."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext_lazy as _

from ishibashi.accounts.models import User
from ishibashi.contracts import clocks, notices
from ishibashi.contracts.models import (
    ClockKind,
    Delivery,
    DeliveryFile,
    FileVisibility,
)
from ishibashi.contracts.states import (
    Action,
    Locked,
    check,
    lock,
    transition,
)
from ishibashi.core import clock, limits
from ishibashi.core.errors import InvalidInput
from ishibashi.core.text import clean_text, has_forbidden_characters
from ishibashi.jobs.models import (
    MilestoneKind,
)
from ishibashi.notifications.notices import notices_batched


@dataclass(frozen=True)
class DeliveryUpload:
    file: File[Any]
    visibility: str


def _checked_uploads(uploads: Sequence[DeliveryUpload]) -> list[DeliveryUpload]:
    if len(uploads) > settings.DELIVERY_FILES_MAX:
        raise InvalidInput(
            _("A delivery can carry at most %(count)d files.")
            % {"count": settings.DELIVERY_FILES_MAX},
            field="files",
        )
    for upload in uploads:
        name = os.path.basename(upload.file.name or "")
        if (
            not name
            or len(name) > limits.DELIVERY_FILE_NAME_LENGTH_MAX
            or (has_forbidden_characters(name))
        ):
            raise InvalidInput(_("A file name is empty, too long or unreadable."), field="files")
        extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        if extension not in settings.DELIVERY_FILE_EXTENSIONS:
            raise InvalidInput(
                _("“%(name)s”: files of this type cannot be delivered. Allowed: %(allowed)s.")
                % {"name": name, "allowed": ", ".join(sorted(settings.DELIVERY_FILE_EXTENSIONS))},
                field="files",
            )
        if upload.file.size is None or upload.file.size > settings.DELIVERY_FILE_SIZE_MAX_BYTES:
            raise InvalidInput(
                _("“%(name)s” is larger than %(size)s MB.")
                % {"name": name, "size": settings.DELIVERY_FILE_SIZE_MAX_BYTES // (1024 * 1024)},
                field="files",
            )
        if upload.file.size == 0:
            raise InvalidInput(_("“%(name)s” is empty.") % {"name": name}, field="files")
        if upload.visibility not in FileVisibility.values:
            raise InvalidInput(_("Choose preview or full for each file."), field="visibility")
    return list(uploads)


# Kinds whose work can be a report with no file: the seed's split pays these parts even when
# the main work never happens.
REPORT_KINDS = frozenset(
    {
        MilestoneKind.RESEARCH,
        MilestoneKind.STANDBY,
        MilestoneKind.COMPLETION_CHECK,
        MilestoneKind.MONTHLY,
        MilestoneKind.CONSULTATION,
    }
)


def delivery_create(
    *,
    worker: User,
    milestone_id: int,
    message: str,
    uploads: Sequence[DeliveryUpload] = (),
) -> Delivery:
    """納品: a new version of the work; starts (or restarts) the client's inspection clock.

    The first delivery fixes the legal payment deadline (受領日 + 59 days, law.md L-22); no
    later delivery or revision moves it.
    """
    message = clean_text(
        message, field="message", multiline=True, length_max=limits.DELIVERY_MESSAGE_LENGTH_MAX
    )
    uploads = _checked_uploads(uploads)
    stored: list[str] = []
    try:
        with transaction.atomic(), notices_batched():
            now = clock.now()
            locked = lock(milestone_id=milestone_id, actor=worker)
            milestone = locked.milestone
            # Checked before files are written, so a refused delivery leaves nothing in storage.
            check(
                contract=locked.contract,
                milestone=milestone,
                action=Action.DELIVER,
                role=locked.role,
            )
            if (
                not uploads
                and milestone.kind not in REPORT_KINDS
                and (milestone.client_silence_expired_at is None)
            ):
                raise InvalidInput(
                    _(
                        "Attach the delivered files. Only research, stand-by, completion-check and "
                        "monthly milestones can be delivered with a report alone."
                    ),
                    field="files",
                )
            version = (milestone.deliveries.aggregate(v=Max("version"))["v"] or 0) + 1
            delivery = Delivery.objects.create(
                milestone=milestone,
                version=version,
                message=message,
                is_report=not uploads,
                # Work in progress the worker may hand in only because the client fell silent.
                is_partial=not uploads
                and milestone.kind not in REPORT_KINDS
                and milestone.client_silence_expired_at is not None,
                created_at=now,
            )
            for upload in uploads:
                _store_file(delivery, upload, stored)

            def delivered(lk: Locked) -> dict[str, Any]:
                m = lk.milestone
                m.started_at = m.started_at or now
                m.delivered_at = now
                m.cancellation_requested_at = None
                if m.first_delivered_at is None:
                    m.first_delivered_at = now
                    m.legal_release_due_at = clocks.legal_release_due(now)
                clocks.clock_start(
                    m,
                    kind=ClockKind.INSPECTION,
                    now=now,
                    deadline=now + dt.timedelta(days=lk.contract.inspection_days),
                )
                return {
                    "delivery": delivery.pk,
                    "version": version,
                    "files": [f.name for f in delivery.files.all()],
                    "inspection_deadline": m.clock_deadline_at,
                    "legal_release_due_at": m.legal_release_due_at,
                    "partial": delivery.is_partial,
                }

            transition(
                locked,
                action=Action.DELIVER,
                actor=worker,
                now=now,
                effect=delivered,
                notify=notices.delivered,
            )
            return delivery
    except BaseException:
        # The transaction rolled back; the files written for it must not stay behind.
        for name in stored:
            DeliveryFile.file.field.storage.delete(name)
        raise


def _store_file(delivery: Delivery, upload: DeliveryUpload, stored: list[str]) -> DeliveryFile:
    digest = hashlib.sha256()
    for chunk in upload.file.chunks():
        digest.update(chunk)
    upload.file.seek(0)
    record = DeliveryFile(
        delivery=delivery,
        name=os.path.basename(upload.file.name or ""),
        size_bytes=upload.file.size or 0,
        content_type=getattr(upload.file, "content_type", "") or "application/octet-stream",
        sha256=digest.hexdigest(),
        visibility=upload.visibility,
    )
    record.file.save(record.name, upload.file, save=False)
    stored.append(record.file.name)
    record.save()
    return record
