"""The `hil` command, one module per verb (`hil.cli.p1`, `hil.cli.board`, ...); `hil.cli.root` joins them.

`app` and `main` load lazily so that `python -m hil.cli.board run ...` (what `hil.board_process` starts)
imports only its own verb, not the whole command line.
"""

from __future__ import annotations

from typing import Any

from hil.cli import helpstyle

__all__ = ["app", "main"]

helpstyle.apply()  # flags as flags in every verb's --help


def __getattr__(name: str) -> Any:
    """`hil.cli.app` / `hil.cli.main`: the joined command line, imported on first use."""
    if name in __all__:
        import importlib

        return getattr(importlib.import_module("hil.cli.root"), name)
    raise AttributeError(f"module 'hil.cli' has no attribute {name!r}")
