"""The contract page's repeated rows drawn in Python: deliveries, ended cards, events, messages.

A long contract repeats these dozens of times, and Django's template engine spends about a
millisecond per milestone card (decision 0007). The markup and its data-testid hooks are the
same as the templates had; every value goes through format_html, so it is escaped as a template
would escape it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.template.defaultfilters import filesizeformat, linebreaksbr
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from ishibashi.accounts.models import User
from ishibashi.contracts.models import ContractMessage, FileVisibility, MilestoneState
from ishibashi.contracts.states import Role
from ishibashi.contracts.views.base import choice_label, yen
from ishibashi.guards import GuardCategory, category_label, reader_cautions

if TYPE_CHECKING:
    from ishibashi.contracts.views.cards import DeliveryRow, FileRow, MilestoneCard, TermsRow
    from ishibashi.contracts.views.timeline import EventRow


def when(value: dt.datetime | None) -> str:
    """A moment as the templates' `|date:"Y-m-d H:i"` shows it, in the current time zone
    (strftime: a tenth of dateformat's cost)."""
    if value is None:
        return ""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


def _join(parts: Iterable[SafeString | str]) -> SafeString:
    # Every part is already escaped (format_html) or is a literal of this module.
    return mark_safe("".join(parts))  # noqa: S308


def delivery_list(rows: list[DeliveryRow], locked_reason: str) -> SafeString:
    """The 納品 list of one milestone, newest version first, with each file's download link."""
    if not rows:
        return mark_safe("")
    latest_tag = _("Latest")
    report_tag = _("Report")
    partial_tag = _("Work so far (client silent)")
    items = []
    for row in rows:
        delivery = row.delivery
        tags = _join(
            [
                format_html(' <span class="tag">{}</span>', latest_tag) if row.is_latest else "",
                format_html(' <span class="tag">{}</span>', report_tag)
                if delivery.is_report
                else "",
                format_html(' <span class="tag warning">{}</span>', partial_tag)
                if delivery.is_partial
                else "",
            ]
        )
        files = ""
        if row.files:
            files = format_html(
                '<ul class="files">{}</ul>', _join(_file(e, locked_reason) for e in row.files)
            )
        items.append(
            format_html(
                '<li class="thread-message" data-testid="delivery" data-version="{}">'
                '<p class="thread-meta"><strong>{}</strong> · {}{}</p>'
                '<p data-testid="delivery-message">{}</p>{}</li>',
                delivery.version,
                _("Version %(version)s") % {"version": delivery.version},
                when(delivery.created_at),
                tags,
                linebreaksbr(delivery.message, autoescape=True),
                files,
            )
        )
    return format_html(
        '<h4>{}</h4><ol class="thread" data-testid="deliveries" reversed>{}</ol>',
        _("Deliveries (納品)"),
        _join(items),
    )


def _file(entry: FileRow, locked_reason: str) -> SafeString:
    file = entry.file
    if entry.can_download:
        name = format_html(
            '<a href="{}" data-testid="file-download">{}</a>',
            reverse("contracts:file", args=[file.pk]),
            file.name,
        )
        reason = ""
    else:
        name = format_html('<span data-testid="file-locked">🔒 {}</span>', file.name)
        reason = format_html(
            ' <small class="help" data-testid="file-locked-reason">{}</small>', locked_reason
        )
    return format_html(
        '<li data-testid="delivery-file" data-visibility="{}">{} <span class="tag">{}</span> '
        '<span class="help">{}</span>{}</li>',
        file.visibility,
        name,
        choice_label(FileVisibility, file.visibility),
        filesizeformat(file.size_bytes),
        reason,
    )


def ended_milestone(card: MilestoneCard) -> SafeString:
    """A milestone that has ended (paid, refunded, cancelled, decided): what it was, what it
    paid, when, and the delivered files. Nothing can be done with it any more."""
    milestone = card.milestone
    ended = (
        format_html("<dt>{}</dt><dd>{}</dd>", _("Ended on"), when(milestone.ended_at))
        if milestone.ended_at
        else ""
    )
    return format_html(
        '<section class="card milestone ended" id="milestone-{}" data-testid="contract-milestone"'
        ' data-state="{}" data-position="{}">'
        '<h3>{}. {} <span class="tag state state-{}" data-testid="milestone-state">{}</span></h3>'
        '<dl class="facts"><dt>{}</dt><dd data-testid="milestone-amount">{}</dd>{}</dl>'
        "{}</section>",
        milestone.pk,
        milestone.state,
        milestone.position,
        milestone.position,
        milestone.title,
        milestone.state,
        choice_label(MilestoneState, milestone.state),
        _("Amount"),
        yen(milestone.amount_jpy),
        ended,
        card.deliveries_html,
    )


def timeline(rows: list[EventRow], automatic: str) -> SafeString:
    """The history's rows: when, what, on which milestone, from which state to which, who."""
    items = []
    for row in rows:
        event = row.event
        on = (
            format_html(" — {}. {}", row.milestone.position, row.milestone.title)
            if row.milestone
            else ""
        )
        states = ""
        if row.to_label:
            arrow = format_html("{} → ", row.from_label) if row.from_label else ""
            states = format_html(' <span class="help">{}{}</span>', arrow, row.to_label)
        detail = (
            format_html(' <span data-testid="event-detail">{}</span>', row.detail)
            if row.detail
            else ""
        )
        who = event.actor.display_name if event.actor else automatic
        items.append(
            format_html(
                '<li data-testid="contract-event" data-action="{}">'
                '<span class="timeline-time">{}</span> '
                '<strong data-testid="event-label">{}</strong>'
                '{}{}{} <span class="help">{}</span></li>',
                event.action,
                when(event.created_at),
                row.label,
                on,
                states,
                detail,
                who,
            )
        )
    return _join(items)


@dataclass(frozen=True)
class FlagButton:
    """Where the worker's one-click report posts, while the contract has none yet."""

    url: str
    csrf_token: str


def thread(
    messages: list[ContractMessage],
    viewer: User,
    *,
    role: Role | None = None,
    flag: FlagButton | None = None,
) -> SafeString:
    """The messages, oldest first; the viewer's own are marked `mine`.

    A message the guards found something in carries, for the party who received it, a caution
    saying what to do (and, on a request to work before escrow, the worker's one-click report);
    its writer sees only that the other party is shown a caution (docs/guards.md).
    """
    texts = _GuardTexts.make() if any(m.guard_categories for m in messages) else None
    return format_html_join(
        "",
        '<li class="thread-message{}" data-testid="thread-message" data-message-id="{}">'
        '<p class="thread-meta"><strong>{}</strong> · {}</p><p>{}</p>{}</li>',
        (
            (
                " mine" if message.author_id == viewer.pk else "",
                message.pk,
                message.author.display_name,
                when(message.created_at),
                linebreaksbr(message.body, autoescape=True),
                _guard_note(message, viewer, role, flag, texts) if texts else "",
            )
            for message in messages
        ),
    )


@dataclass(frozen=True)
class _GuardTexts:
    """The words every banner on a page shares, translated once per page."""

    caution_heading: str
    writer_note: str
    flag_button: str
    flagged: str

    @classmethod
    def make(cls) -> _GuardTexts:
        return cls(
            caution_heading=_("Caution"),
            writer_note=_("The other party is shown a caution on this message: %(categories)s."),
            flag_button=_("Report: asked to work before escrow"),
            flagged=_("You have reported a request to work before escrow on this contract."),
        )


def _guard_note(
    message: ContractMessage,
    viewer: User,
    role: Role | None,
    flag: FlagButton | None,
    texts: _GuardTexts,
) -> SafeString | str:
    if not message.guard_categories:
        return ""
    categories = list(message.guard_categories)
    if message.author_id == viewer.pk or role not in (Role.CLIENT, Role.WORKER):
        # The writer (and an operator) sees what the reader is shown, not the reader's advice.
        labels = "、".join(category_label(c) for c in categories)
        return format_html(
            '<p class="help guard-note" data-testid="guard-writer-note">{}</p>',
            texts.writer_note % {"categories": labels},
        )
    items = []
    for caution in reader_cautions(categories):
        action: SafeString | str = ""
        if caution.category == GuardCategory.BEFORE_ESCROW and role is Role.WORKER:
            if flag is not None:
                action = format_html(
                    '<form method="post" action="{}" class="inline" data-testid="guard-flag-form">'
                    '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
                    '<input type="hidden" name="message_id" value="{}">'
                    '<button type="submit" class="button danger" data-testid="guard-flag">{}'
                    "</button></form>",
                    flag.url,
                    flag.csrf_token,
                    message.pk,
                    texts.flag_button,
                )
            else:
                action = format_html(
                    '<p class="help" data-testid="guard-flagged">{}</p>', texts.flagged
                )
        items.append(
            format_html(
                '<div class="warnings guard-caution" role="note" data-testid="guard-caution" '
                'data-category="{}"><p><strong>{}: {}</strong></p><p>{}</p>{}</div>',
                caution.category,
                texts.caution_heading,
                caution.label,
                caution.caution,
                action,
            )
        )
    return _join(items)


def terms_versions(versions: list[TermsRow]) -> SafeString:
    """Every version of the terms, newest open: one table of milestones per version."""
    heads = (
        _("Milestone title"),
        _("Amount"),
        _("Due date"),
        _("Paid by"),
    )
    total_label = _("Total")
    kill_fee_label = _("Kill fee (キャンセル料)")
    fingerprint_label = _("Terms fingerprint (SHA-256)")
    cards = []
    for index, version in enumerate(versions):
        summary = _("Version %(number)s · agreed %(date)s · total ¥%(total)s") % {
            "number": version.version,
            "date": when(version.agreed_at),
            "total": f"{version.total_jpy:,}",
        }
        rows = format_html_join(
            "",
            '<tr data-testid="terms-milestone"><td>{}</td><td>{}</td><td class="num">{}</td>'
            "<td>{}</td><td>{}</td></tr>",
            (
                (
                    item.get("position", ""),
                    item.get("title", ""),
                    yen(int(item.get("amount_jpy", 0))),
                    item.get("due_on", ""),
                    item.get("payment_due_on", ""),
                )
                for item in version.milestones
            ),
        )
        kill_fee = (
            format_html("<p>{}: {}%</p>", kill_fee_label, version.kill_fee_percent)
            if version.kill_fee_percent is not None
            else ""
        )
        cards.append(
            format_html(
                '<details class="card" data-testid="terms-version" data-version="{}"{}>'
                "<summary>{}</summary>"
                '<table class="table"><thead><tr><th>#</th><th>{}</th><th class="num">{}</th>'
                "<th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody>"
                '<tfoot><tr><th colspan="2">{}</th>'
                '<th class="num" data-testid="terms-version-total">{}</th>'
                '<th colspan="2"></th></tr></tfoot></table>{}'
                '<p>{}: <code class="secret" data-testid="terms-version-sha256">{}</code></p>'
                "</details>",
                version.version,
                mark_safe(" open") if index == 0 else "",
                summary,
                *heads,
                rows,
                total_label,
                yen(version.total_jpy),
                kill_fee,
                fingerprint_label,
                version.sha256,
            )
        )
    return _join(cards)
