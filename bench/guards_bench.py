"""Message guards: how many messages per second `guards.detect` checks, on the labelled corpus.

    python bench/guards_bench.py [--rounds 20]

Reads src/ishibashi/guards/tests/corpus.jsonl (ja/en, short messages), checks every message
once to warm up (the patterns are compiled on first use), then times --rounds passes over the
whole corpus in one process and prints messages/s for the median pass and the slowest, with
the mean message length. No database: the detector is pure Python.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ishibashi.config.settings")
    import django

    django.setup()
    from ishibashi.guards import detect

    corpus = ROOT / "src/ishibashi/guards/tests/corpus.jsonl"
    texts = [json.loads(line)["text"] for line in corpus.read_text(encoding="utf-8").splitlines()]
    for text in texts:
        detect(text)
    passes = []
    for _ in range(args.rounds):
        started = time.perf_counter()
        for text in texts:
            detect(text)
        passes.append(time.perf_counter() - started)
    median, slowest = statistics.median(passes), max(passes)
    mean_chars = sum(map(len, texts)) / len(texts)
    sys.stdout.write(
        f"{len(texts)} messages (mean {mean_chars:.0f} characters), {args.rounds} passes: "
        f"median {len(texts) / median:,.0f} messages/s "
        f"({median / len(texts) * 1e6:.0f} µs each), slowest pass {len(texts) / slowest:,.0f}/s\n"
    )


if __name__ == "__main__":
    main()
