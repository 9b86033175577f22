"""Instrument kinds and the real models each driver speaks to (no pyvisa import: rig files use it).

``MODELS[kind]`` maps the model name a rig file uses to the model field ``*IDN?`` returns.
The first model of each kind is the one its emulator impersonates.
"""

from __future__ import annotations

POWER_ANALYZER = "power_analyzer"
AC_LOAD = "ac_load"
DMM = "dmm"
PDU = "pdu"
KINDS = (POWER_ANALYZER, AC_LOAD, DMM, PDU)

MODELS: dict[str, dict[str, str]] = {
    POWER_ANALYZER: {"Yokogawa WT310E": "WT310E", "Yokogawa WT310": "WT310"},
    AC_LOAD: {"Chroma 63804": "63804", "Chroma 63803": "63803", "Chroma 63802": "63802"},
    DMM: {"Keysight 34461A": "34461A", "Keysight 34465A": "34465A", "Keysight 34470A": "34470A"},
    PDU: {"Keysight 34972A": "34972A", "Keysight DAQ970A": "DAQ970A"},
}


def emulated_model(kind: str) -> str:
    """Return the model name the emulator of ``kind`` answers as."""
    return next(iter(MODELS[kind]))
