"""Precision and recall of the shipped patterns per category: on the labelled corpus (≥ 0.9),
and on a held-out set written after the patterns and never tuned on (printed; decision 0012)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ishibashi.guards import CATEGORIES, detect

CORPUS = Path(__file__).with_name("corpus.jsonl")
HOLDOUT = Path(__file__).with_name("holdout.jsonl")
# The bar the product asks of each category, on precision and on recall alike.
ACCURACY_MIN = 0.9


# On messages the patterns were not written from, a warning must still be right most of the
# time, or readers learn to ignore it; recall there is reported, not asserted (decision 0012).
HOLDOUT_PRECISION_MIN = 0.8


def _corpus(path: Path = CORPUS) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _scores(path: Path = CORPUS) -> dict[str, tuple[float, float, int, int, int]]:
    counts = {category: [0, 0, 0] for category in CATEGORIES}  # true pos., false pos., false neg.
    for row in _corpus(path):
        found = set(detect(str(row["text"])).categories)
        wanted = set(row["labels"])  # type: ignore[call-overload]
        for category in CATEGORIES:
            if category in found and category in wanted:
                counts[category][0] += 1
            elif category in found:
                counts[category][1] += 1
            elif category in wanted:
                counts[category][2] += 1
    scores = {}
    for category, (true_pos, false_pos, false_neg) in counts.items():
        precision = true_pos / (true_pos + false_pos) if true_pos + false_pos else 0.0
        recall = true_pos / (true_pos + false_neg) if true_pos + false_neg else 0.0
        scores[category] = (precision, recall, true_pos, false_pos, false_neg)
    return scores


def test_the_corpus_is_big_and_covers_every_category_in_both_languages() -> None:
    rows = _corpus()
    assert len(rows) >= 300
    for language in ("ja", "en"):
        mine = [row for row in rows if row["lang"] == language]
        for category in CATEGORIES:
            assert any(category in row["labels"] for row in mine), (language, category)  # type: ignore[operator]
        # Hard negatives: messages that look close but ask for nothing wrong.
        assert sum(1 for row in mine if not row["labels"]) >= 50


def test_precision_and_recall_per_category_are_at_least_0_9(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # given the labelled corpus; when every message is checked
    scores = _scores()
    # then the numbers are printed and each meets the bar
    with capsys.disabled():
        _print("guards corpus", CORPUS, scores)
    for category, (precision, recall, *_counts) in scores.items():
        assert precision >= ACCURACY_MIN, category
        assert recall >= ACCURACY_MIN, category


def test_the_held_out_set_is_printed_and_its_warnings_are_mostly_right(
    capsys: pytest.CaptureFixture[str],
) -> None:
    scores = _scores(HOLDOUT)
    with capsys.disabled():
        _print("guards held-out set (never tuned on)", HOLDOUT, scores)
    for category, (precision, _recall, *_counts) in scores.items():
        assert precision >= HOLDOUT_PRECISION_MIN, category


def _print(title: str, path: Path, scores: dict[str, tuple[float, float, int, int, int]]) -> None:
    # The numbers are the point of these tests: they go to the terminal, not a log.
    print(f"\n{title}: {len(_corpus(path))} messages")  # noqa: T201
    for category, (precision, recall, true_pos, false_pos, false_neg) in scores.items():
        print(  # noqa: T201
            f"  {category:14} precision {precision:.3f}  recall {recall:.3f}  "
            f"(tp {true_pos}, fp {false_pos}, fn {false_neg})"
        )
