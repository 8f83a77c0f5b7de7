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


def test_only_the_transition_writes_a_milestone_state():
    """contracts.states.transition() is the one door: it checks the table and logs the event."""
    states = SRC / "contracts" / "states.py"
    offenders = []
    for path in _python_files():
        if path == states:
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            targets = node.targets if isinstance(node, ast.Assign) else []
            for target in targets:
                if (
                    isinstance(target, ast.Attribute)
                    and target.attr == "state"
                    and isinstance(target.value, ast.Name)
                    and "milestone" in target.value.id.lower()
                ):
                    offenders.append(f"{path.relative_to(SRC)}:{node.lineno}")
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "update"
                and any(k.arg == "state" for k in node.keywords)
                and "Milestone" in ast.unparse(node.func.value)
            ):
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno}")

    assert offenders == [], f"change a milestone's state through states.transition(): {offenders}"
