"""The pattern file: versioned data, checked when read, the version reported with each result."""

from __future__ import annotations

import json

import pytest

from ishibashi.guards import detect, pattern_set
from ishibashi.guards.detector import PATTERNS_FILE, patterns_parse


def test_the_result_names_the_version_of_the_shipped_patterns() -> None:
    shipped = json.loads(PATTERNS_FILE.read_text(encoding="utf-8"))
    assert detect("hello").version == shipped["version"] == pattern_set().version


def test_every_pattern_has_an_id_a_category_a_language_and_a_reason() -> None:
    for pattern in pattern_set().patterns:
        assert pattern.id
        assert pattern.category in ("before_escrow", "off_platform", "free_test")
        assert pattern.language in ("ja", "en", "any")
        assert pattern.reason


@pytest.mark.parametrize(
    ("_case", "change"),
    [
        ("no version", {"version": 0}),
        ("unknown category", {"category": "rude"}),
        ("unknown view", {"view": "upside-down"}),
    ],
)
def test_a_bad_pattern_file_fails_when_read(_case: str, change: dict[str, object]) -> None:
    entry = {"id": "x", "category": "free_test", "language": "en", "reason": "r", "regex": "x"}
    data: dict[str, object] = {"version": 1, "patterns": [entry]}
    if "version" in change:
        data["version"] = change["version"]
    else:
        entry.update(change)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="patterns"):
        patterns_parse(data)


def test_phrase_lists_work_as_well_as_regexes() -> None:
    patterns = patterns_parse(
        {
            "version": 7,
            "patterns": [
                {
                    "id": "p",
                    "category": "off_platform",
                    "language": "ja",
                    "reason": "off_platform_deal",
                    "phrases": ["直接取引", "サイト外"],
                }
            ],
        }
    )
    result = detect("ｻｲﾄ外でお願いします", patterns=patterns)
    assert (result.categories, result.version) == (["off_platform"], 7)
