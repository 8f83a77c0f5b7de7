"""Code rules no linter here checks: time comes only from core.clock."""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "ishibashi"
CLOCK = SRC / "core" / "clock.py"


def _python_files():
    for path in SRC.rglob("*.py"):
        if "migrations" in path.parts or "tests" in path.parts or path == CLOCK:
            continue
        yield path


def test_time_is_read_only_through_core_clock():
    offenders = []
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in {"now", "today", "utcnow"}
                and isinstance(node.value, ast.Name)
                and node.value.id in {"timezone", "datetime", "date"}
            ):
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno}")

    assert offenders == [], f"read the time through ishibashi.core.clock.now(): {offenders}"
