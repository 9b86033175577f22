"""Instrument drivers: small pyvisa classes that talk to real and emulated instruments alike.

Names are imported on first use, so ``hil.instruments.models`` (what rig files need) does not
pull in pyvisa.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hil.instruments.ac_load import AcLoad, AcLoadReading
    from hil.instruments.base import Identity, InstrumentError, ScpiInstrument
    from hil.instruments.dmm import Dmm
    from hil.instruments.pdu import Pdu
    from hil.instruments.power_analyzer import AcMeasurement, PowerAnalyzer
    from hil.instruments.registry import DRIVERS, driver_for, open_instrument

_WHERE = {
    "AcLoad": "ac_load",
    "AcLoadReading": "ac_load",
    "Identity": "base",
    "InstrumentError": "base",
    "ScpiInstrument": "base",
    "Dmm": "dmm",
    "Pdu": "pdu",
    "AcMeasurement": "power_analyzer",
    "PowerAnalyzer": "power_analyzer",
    "DRIVERS": "registry",
    "driver_for": "registry",
    "open_instrument": "registry",
}

__all__ = [
    "DRIVERS",
    "AcLoad",
    "AcLoadReading",
    "AcMeasurement",
    "Dmm",
    "Identity",
    "InstrumentError",
    "Pdu",
    "PowerAnalyzer",
    "ScpiInstrument",
    "driver_for",
    "open_instrument",
]


def __getattr__(name: str) -> Any:
    """Import a driver name from its module on first use."""
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"hil.instruments.{_WHERE[name]}"), name)
