"""Read a rig file's YAML and remember the line of every key, so problems can point at it.

Duplicate keys, which YAML loaders silently collapse to the last one, are problems here: two
boards both called ``plug1`` are a mistake, not an override.
"""

from __future__ import annotations

from typing import Any

import yaml

from hil.rig.errors import Problem

Path = tuple[str | int, ...]
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: 10x faster


def dotted(path: Path) -> str:
    """Return a key path as text: ``boards.plug1.mac``, ``wiring[2].to``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def load_yaml(text: str) -> tuple[Any, dict[Path, int], list[Problem]]:
    """Parse YAML; returns (data, {key path: 1-based line}, problems) (data is None on a syntax error)."""
    loader = _LOADER(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        return None, {}, [Problem("(YAML)", "valid YAML", reason, line)]
    finally:
        loader.dispose()
    lines: dict[Path, int] = {}
    problems: list[Problem] = []
    if node is not None:
        _walk(node, (), lines, problems)
    return data, lines, problems


def _walk(node: yaml.Node, path: Path, lines: dict[Path, int], problems: list[Problem]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                problems.append(
                    Problem(
                        dotted((*path, key)),
                        "each key once",
                        f"a second {key!r}",
                        line,
                        f"first on line {seen[key]}",
                    )
                )
                continue
            seen[key] = line
            lines[(*path, key)] = line
            _walk(value_node, (*path, key), lines, problems)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[(*path, i)] = item.start_mark.line + 1
            _walk(item, (*path, i), lines, problems)
