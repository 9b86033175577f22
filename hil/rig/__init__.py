"""Rig files: which boards, instruments and appliances a rig has and how they are wired.

``load_rig(path)`` validates a YAML rig file and returns a :class:`Rig`; every mistake is
reported at once in a :class:`RigError`, each naming the file, line, key path, what was expected
and what came. ``default_rig_path()`` is the embedded emulated rig.

The names below load on first use (PEP 562): a board process imports ``hil.rig.clock.shared`` on every
boot and re-exec, and must not pay for the rig-file loader (pydantic models, YAML, cross-checks).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hil.rig.errors import Problem, RigError
    from hil.rig.load import default_rig_path, load_rig, load_rig_text
    from hil.rig.model import ApplianceSpec, Board, InstrumentSpec, P1Emulator, PowerDetectorSpec, Rig, Wire

_WHERE = {
    "Problem": "hil.rig.errors", "RigError": "hil.rig.errors",
    "default_rig_path": "hil.rig.load", "load_rig": "hil.rig.load", "load_rig_text": "hil.rig.load",
    "ApplianceSpec": "hil.rig.model", "Board": "hil.rig.model", "InstrumentSpec": "hil.rig.model",
    "P1Emulator": "hil.rig.model", "PowerDetectorSpec": "hil.rig.model", "Rig": "hil.rig.model",
    "Wire": "hil.rig.model",
}

__all__ = [
    "ApplianceSpec",
    "Board",
    "InstrumentSpec",
    "P1Emulator",
    "PowerDetectorSpec",
    "Problem",
    "Rig",
    "RigError",
    "Wire",
    "default_rig_path",
    "load_rig",
    "load_rig_text",
]


def __getattr__(name: str) -> Any:
    """Import ``name`` from its module on first use."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'hil.rig' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
