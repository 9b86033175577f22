"""Rig files: which boards, instruments and appliances a rig has and how they are wired.

``load_rig(path)`` validates a YAML rig file and returns a :class:`Rig`; every mistake is
reported at once in a :class:`RigError`, each naming the file, line, key path, what was expected
and what came. ``default_rig_path()`` is the embedded emulated rig.
"""

from hil.rig.errors import Problem, RigError
from hil.rig.load import default_rig_path, load_rig, load_rig_text
from hil.rig.model import ApplianceSpec, Board, InstrumentSpec, P1Emulator, PowerDetectorSpec, Rig, Wire

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
