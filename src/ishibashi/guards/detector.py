"""detect(): which guard categories a message hits, with the words and the pattern version.

The patterns are data (`patterns.json`, with a version), read once per process. The detector
only reports; what to do with a hit (warn the writer, show the reader a caution) is the
caller's, and nothing is ever blocked or rewritten (product spec, "Messages and guards").
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ishibashi.guards.categories import CATEGORIES
from ishibashi.guards.normalise import Folded, fold, fold_contacts, fold_digits, fold_pattern

PATTERNS_FILE = Path(__file__).with_name("patterns.json")
VIEWS = ("text", "contact", "digits")
# A sentence ends at these; a refusal ("…はできかねます") is looked for within its sentence.
_SENTENCE_END = re.compile(r"[。！？!?\n]|\.(?:\s|$)")
# A hit's words are shown to the writer; a very long match is cut to this many characters.
EXCERPT_LENGTH_MAX = 80


@dataclass(frozen=True)
class Pattern:
    id: str
    category: str
    language: str
    reason: str
    view: str
    regex: re.Pattern[str]
    unless: re.Pattern[str] | None
    unless_anywhere: re.Pattern[str] | None
    requires: re.Pattern[str] | None
    digits: tuple[re.Pattern[str], ...]


@dataclass(frozen=True)
class PatternSet:
    version: int
    patterns: tuple[Pattern, ...]


@dataclass(frozen=True)
class Hit:
    """One pattern's match: its category, why it matters, and the words as the writer typed them
    (`start`/`end` index the original text)."""

    category: str
    reason: str
    pattern_id: str
    start: int
    end: int
    excerpt: str


@dataclass(frozen=True)
class GuardResult:
    version: int
    hits: tuple[Hit, ...]

    @property
    def categories(self) -> list[str]:
        """The categories hit, in the fixed order of CATEGORIES (stable for storage and tests)."""
        found = {hit.category for hit in self.hits}
        return [category for category in CATEGORIES if category in found]

    @property
    def reasons(self) -> list[str]:
        seen: list[str] = []
        for hit in self.hits:
            if hit.reason not in seen:
                seen.append(hit.reason)
        return seen


def _compile(source: str | None) -> re.Pattern[str] | None:
    return re.compile(fold_pattern(source)) if source else None


def patterns_parse(data: dict[str, Any]) -> PatternSet:
    """Checks the file's shape: a bad pattern file must fail at start-up, not on a message."""
    version = data["version"]
    if not isinstance(version, int) or version < 1:
        raise ValueError("patterns: version must be a positive integer")
    patterns = []
    seen: set[str] = set()
    for entry in data["patterns"]:
        if entry["id"] in seen:
            raise ValueError(f"patterns: duplicate id {entry['id']}")
        seen.add(entry["id"])
        if entry["category"] not in CATEGORIES:
            raise ValueError(f"patterns: {entry['id']} has an unknown category")
        view = entry.get("view", "text")
        if view not in VIEWS:
            raise ValueError(f"patterns: {entry['id']} has an unknown view")
        if "regex" in entry:
            regex = re.compile(fold_pattern(entry["regex"]))
        else:
            phrases = sorted((fold_pattern(p) for p in entry["phrases"]), key=len, reverse=True)
            regex = re.compile("|".join(re.escape(p) for p in phrases))
        patterns.append(
            Pattern(
                id=entry["id"],
                category=entry["category"],
                language=entry.get("language", "any"),
                reason=entry["reason"],
                view=view,
                regex=regex,
                unless=_compile(entry.get("unless")),
                unless_anywhere=_compile(entry.get("unless_anywhere")),
                requires=_compile(entry.get("requires")),
                digits=tuple(re.compile(shape) for shape in entry.get("digits", ())),
            )
        )
    return PatternSet(version=version, patterns=tuple(patterns))


@cache
def pattern_set() -> PatternSet:
    """The shipped patterns, read once per process."""
    return patterns_parse(json.loads(PATTERNS_FILE.read_text(encoding="utf-8")))


def _sentence(text: str, start: int, end: int) -> str:
    first = 0
    for boundary in _SENTENCE_END.finditer(text, 0, start):
        first = boundary.end()
    after = _SENTENCE_END.search(text, end)
    return text[first : after.start() if after else len(text)]


def _hit(pattern: Pattern, folded: Folded, match: re.Match[str]) -> Hit | None:
    text = folded.text
    if pattern.digits:
        digits = re.sub(r"[^0-9]", "", match.group())
        if not any(shape.fullmatch(digits) for shape in pattern.digits):
            return None
    if pattern.unless and pattern.unless.search(_sentence(text, *match.span())):
        return None
    start, end = folded.original_span(*match.span())
    excerpt = folded.source[start:end]
    if len(excerpt) > EXCERPT_LENGTH_MAX:
        excerpt = excerpt[: EXCERPT_LENGTH_MAX - 1] + "…"
    return Hit(
        category=pattern.category,
        reason=pattern.reason,
        pattern_id=pattern.id,
        start=start,
        end=end,
        excerpt=excerpt,
    )


def detect(text: str, *, patterns: PatternSet | None = None) -> GuardResult:
    """Every pattern hit in `text`, at most one per pattern, in pattern order."""
    patterns = patterns or pattern_set()
    base = fold(text)
    views = {"text": base, "contact": fold_contacts(base), "digits": fold_digits(base)}
    hits: list[Hit] = []
    for pattern in patterns.patterns:
        folded = views[pattern.view]
        if pattern.requires and not pattern.requires.search(folded.text):
            continue
        if pattern.unless_anywhere and pattern.unless_anywhere.search(folded.text):
            continue
        for match in pattern.regex.finditer(folded.text):
            hit = _hit(pattern, folded, match)
            if hit is not None:
                hits.append(hit)
                break
    return GuardResult(version=patterns.version, hits=tuple(hits))
