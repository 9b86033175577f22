"""Turn parsed YAML into rig objects, collecting every problem with its key path and line.

Each object's fields are checked one by one with the attrs validators of its class (so a wrong
``role`` and a wrong ``mac`` on the same board are both reported), unknown and missing keys are
problems too, and only objects without problems are built (which runs the validators again).
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from typing import Any, TypeVar

import attrs

from hil.rig.checks import ByEmulation, Check
from hil.rig.errors import MISSING, FieldProblem, Problem, shown
from hil.rig.source import Path, dotted

T = TypeVar("T")


class Collector:
    """Problems found so far, and the line map to place them."""

    def __init__(self, lines: dict[Path, int]) -> None:
        self.lines = lines
        self.problems: list[Problem] = []
        self.broken: set[str] = set()  # names declared in the file whose entry has problems

    def unknown(self, ref: str, known: Mapping[str, object]) -> bool:
        """Return whether a reference names nothing: neither a built object nor a broken entry.

        References to a broken entry are not reported again: its own problems already are.
        """
        return ref not in known and ref not in self.broken

    def add(self, path: Path, expected: str, got: Any, note: str = "", shown_got: str | None = None) -> None:
        """Record a problem at ``path`` (its line is the key's, or the nearest enclosing one's)."""
        line = None
        probe = path
        while line is None:
            line = self.lines.get(probe)
            if not probe:
                break
            probe = probe[:-1]
        self.problems.append(Problem(dotted(path), expected, shown_got or shown(got), line, note))


def _expected(field: attrs.Attribute[Any], instance: object) -> str:
    validator = field.validator
    if isinstance(validator, ByEmulation):
        return validator.expected(instance)
    if isinstance(validator, Check):
        return validator.expected
    return "a value"


def build(cls: type[T], data: Any, path: Path, out: Collector, **given: Any) -> T | None:
    """Build ``cls`` from a YAML mapping at ``path``; ``given`` fields (``name``) come from the caller."""
    if not isinstance(data, dict):
        out.add(path, f"a mapping of {', '.join(_keys(cls, given))}", data)
        return None
    fields = {f.name: f for f in attrs.fields(cls) if _in_file(f) and f.name not in given}
    bad = False
    for key in data:
        if key not in fields:
            out.add(
                (*path, str(key)),
                f"one of the keys {', '.join(_keys(cls, given))}",
                str(key),
                shown_got="unknown key",
            )
            bad = True
    values: dict[str, Any] = dict(given)
    for field_name, field in fields.items():
        if field_name in data:
            values[field_name] = data[field_name]
        elif field.default is attrs.NOTHING:
            values[field_name] = MISSING
        elif isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
            values[field_name] = field.default.factory()
        else:
            values[field_name] = field.default
    probe = types.SimpleNamespace(**values)
    for field_name, field in fields.items():
        value = values[field_name]
        if value is MISSING:
            out.add((*path, field_name), _expected(field, probe), MISSING)
            bad = True
            continue
        if field.validator is None:
            continue
        try:
            field.validator(probe, field, value)
        except FieldProblem as problem:
            out.add((*path, field_name), problem.expected, problem.got, problem.note)
            bad = True
        except (TypeError, ValueError) as exc:  # attrs' own validators (instance_of ...)
            out.add((*path, field_name), str(exc).split(" (got")[0] or "a valid value", value)
            bad = True
    if bad:
        return None
    return cls(**values)


def _keys(cls: type, given: dict[str, Any]) -> list[str]:
    return [f.name for f in attrs.fields(cls) if _in_file(f) and f.name not in given]


def _in_file(field: attrs.Attribute[Any]) -> bool:
    """Whether a rig file may set the field (not one filled in later, such as a board's token)."""
    return field.init and field.metadata.get("rig_file", True)


def build_named(cls: type[T], data: Any, path: Path, out: Collector) -> dict[str, T]:
    """Build a mapping ``{name: cls}`` from a YAML mapping of names to field mappings."""
    from hil.rig.checks import name as name_check

    if data is None:
        return {}
    if not isinstance(data, dict):
        out.add(path, f"a mapping of names to {cls.__name__} entries", data)
        return {}
    built: dict[str, T] = {}
    check = name_check()
    for key, body in data.items():
        if not check.ok(key):
            out.add((*path, str(key)), check.expected, key)
            continue
        obj = build(cls, body, (*path, key), out, name=key)
        if obj is not None:
            built[key] = obj
        else:
            out.broken.add(key)
    return built


def build_list(cls: type[T], data: Any, path: Path, out: Collector) -> list[tuple[int, T]]:
    """Build a list of ``cls`` from a YAML sequence; returns (index, object) for the good items."""
    if data is None:
        return []
    if not isinstance(data, list):
        out.add(path, f"a list of {cls.__name__} entries", data)
        return []
    built: list[tuple[int, T]] = []
    for i, body in enumerate(data):
        obj = build(cls, body, (*path, i), out)
        if obj is not None:
            built.append((i, obj))
    return built
