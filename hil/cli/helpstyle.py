"""Help that shows flags as flags: `--json`, `--std INTEGER`, `FILES...` (not `--json <bool>`, `{files}...`).

typer 0.2x labels every parameter with its Python type in angle brackets. `apply()` changes three methods
of typer's parameter classes, once, for the whole `hil` command: a flag shows no value, an option shows its
value as click always did (INTEGER, FLOAT, TEXT, PATH, a choice as [a|b]), an argument shows its name in
capitals; and a usage error is one line on stderr instead of a box. Parsing is untouched. On a typer
without these methods nothing changes.
"""

from __future__ import annotations

import re
import sys
from typing import Any

_NAMES = {"int": "INTEGER", "float": "FLOAT", "str": "TEXT", "Path": "PATH", "bool": "BOOLEAN",
          "file": "PATH", "dir": "PATH", "path": "PATH", "datetime": "DATETIME"}
_applied = False


def value_label(typed: str) -> str:
    """'<int>' -> 'INTEGER', '<list[Path]>' -> 'PATH', '<int range>' -> 'INTEGER', '<a|b>' -> '[a|b]'."""
    more = typed.endswith("...")
    s = typed[:-3] if more else typed
    if s.startswith("<") and s.endswith(">"):
        s = s[1:-1]
    m = re.fullmatch(r"list\[(.*)\]", s)
    if m:
        s = m.group(1)
    s = s.removesuffix(" range")
    if "|" in s:
        label = f"[{s}]"
    else:
        label = _NAMES.get(s, s.upper())
    return label + ("..." if more else "")


def _one_line_usage_errors() -> None:
    """Bad usage prints one line on stderr (what was expected, what came, where help is); exit status 2."""
    try:
        from typer import rich_utils
    except ImportError:
        return

    def one_line(exc: Any) -> None:
        if exc.__class__.__name__ == "NoArgsIsHelpError":
            return
        ctx = getattr(exc, "ctx", None)
        where = f"{ctx.command_path}: " if ctx is not None else ""
        usage = ""
        if ctx is not None:
            usage = f" (usage: {ctx.get_usage().removeprefix('Usage: ')}; --help for more)"
        print(f"{where}{exc.format_message()}{usage}", file=sys.stderr)

    if hasattr(rich_utils, "rich_format_error"):
        rich_utils.rich_format_error = one_line


def apply() -> None:
    """Patch typer's help labels (idempotent)."""
    global _applied
    if _applied:
        return
    _applied = True
    try:
        from typer.core import TyperArgument, TyperOption
    except ImportError:  # another typer: its own labels stay
        return
    if not hasattr(TyperOption, "display_type_rich") or not hasattr(TyperArgument, "_usage_display_name"):
        return
    option_type = TyperOption.display_type_rich

    def option_display_type(self: Any, ctx: Any) -> str | None:
        if getattr(self, "is_flag", False) or getattr(self, "count", False):
            return None
        if self.metavar is not None:
            return self.metavar
        shown = option_type(self, ctx)
        return None if shown is None else value_label(shown)

    def argument_name(self: Any) -> str:
        name = self.metavar if self.metavar is not None else self.name.upper()
        return name + ("..." if self.metavar is None and self.nargs != 1 else "")

    def argument_usage(self: Any) -> str:
        name = argument_name(self)
        return name if self.required else f"[{name}]"

    TyperOption.display_type_rich = option_display_type
    _one_line_usage_errors()
    TyperArgument.display_type_rich = lambda self, ctx: None
    TyperArgument.display_name_raw = property(
        lambda self: self.metavar if self.metavar is not None else (self.name or "").upper())
    TyperArgument._rich_display_name = argument_name
    TyperArgument._usage_display_name = argument_usage
