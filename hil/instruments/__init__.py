"""Instrument drivers: small pyvisa classes that talk to real and emulated instruments alike."""

from hil.instruments.ac_load import AcLoad, AcLoadReading
from hil.instruments.base import Identity, InstrumentError, ScpiInstrument
from hil.instruments.dmm import Dmm
from hil.instruments.pdu import Pdu
from hil.instruments.power_analyzer import AcMeasurement, PowerAnalyzer
from hil.instruments.registry import DRIVERS, driver_for, open_instrument

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
