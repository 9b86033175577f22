"""Bring a rig file up and down: the world, the P1 emulator, instruments, metering chips and boards.

``with RigRuntime(load_rig(path)) as rig: ...`` (see :mod:`hil.rig.runtime.runtime`).
"""

from hil.rig.runtime.runtime import DEFAULT_START, RigRuntime, RigRuntimeError, RuntimeOptions

__all__ = ["DEFAULT_START", "RigRuntime", "RigRuntimeError", "RuntimeOptions"]
