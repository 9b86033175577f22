"""Rig-file problems: each names the file, the line, the key path, what was expected and what came."""

from __future__ import annotations

from typing import Any

import attrs

MISSING = object()


def shown(value: Any) -> str:
    """Return how a YAML value is quoted in a message (``'text'``, ``12``, ``a mapping``, ``nothing``)."""
    if value is MISSING:
        return "nothing (the key is missing)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return f"a mapping with keys {', '.join(map(str, value)) or '(none)'}"
    if isinstance(value, list):
        return f"a list of {len(value)} item(s)"
    if isinstance(value, str):
        return repr(value)
    return f"{value!r} ({type(value).__name__})"


class FieldProblem(ValueError):
    """Raised by a field validator: what was expected and what came (the builder adds the path)."""

    def __init__(self, expected: str, got: Any, note: str = "") -> None:
        super().__init__(f"expected {expected}; got {shown(got)}")
        self.expected = expected
        self.got = got
        self.note = note


@attrs.frozen
class Problem:
    """One mistake in a rig file."""

    path: str
    expected: str
    got: str
    line: int | None = None
    note: str = ""

    def text(self, source: str) -> str:
        """Return the problem as one line: ``file:line: path: expected ...; got ... (note)``."""
        where = f"{source}:{self.line}" if self.line else source
        note = f" ({self.note})" if self.note else ""
        return f"{where}: {self.path}: expected {self.expected}; got {self.got}{note}"


class RigError(ValueError):
    """A rig file that cannot be used; ``problems`` lists every mistake found, in file order."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = sorted(problems, key=lambda p: (p.line or 0, p.path))
        lines = "\n".join("  " + p.text(source) for p in self.problems)
        super().__init__(f"rig file {source}: {len(self.problems)} problem(s)\n{lines}")
