"""Bring a rig file up and down: the world, the P1 emulator, instruments, metering chips and boards.

``with RigRuntime(load_rig(path)) as rig: ...`` (see :mod:`hil.rig.runtime.runtime`).
"""

from hil.rig.runtime.options import DEFAULT_START, RigRuntimeError, RuntimeOptions
from hil.rig.runtime.runtime import RigRuntime

__all__ = ["DEFAULT_START", "RigRuntime", "RigRuntimeError", "RuntimeOptions"]
