"""Driver for an AC electronic load in the Chroma 63800 command style (MODE CC|CR|CP, LOAD ON|OFF)."""

from __future__ import annotations

import attrs

from hil.instruments.base import InstrumentError, ScpiInstrument
from hil.instruments.models import AC_LOAD

MODES = {"CC": "CURRent", "CR": "RESistance", "CP": "POWer"}


@attrs.frozen
class AcLoadReading:
    """What the load measures at its input: RMS volts, RMS amps, watts."""

    volts: float
    amps: float
    watts: float


class AcLoad(ScpiInstrument):
    """Chroma 63802/63803/63804-compatible AC load."""

    KIND = AC_LOAD

    def set_mode(self, mode: str, setpoint: float) -> None:
        """Select CC (A rms), CR (ohm) or CP (W) and its setpoint; the input state is unchanged."""
        if mode not in MODES:
            raise InstrumentError(f"{self.name}: mode: expected one of {', '.join(MODES)}, got {mode!r}")
        self.write(f"MODE {mode}")
        self.write(f"{MODES[mode]} {setpoint:g}")

    def mode(self) -> str:
        """Return the active mode (CC, CR or CP)."""
        return self.query("MODE?").upper()

    def input_on(self) -> None:
        """Start sinking current."""
        self.write("LOAD ON")

    def input_off(self) -> None:
        """Stop sinking current."""
        self.write("LOAD OFF")

    def is_on(self) -> bool:
        """Return whether the input is on."""
        return self.query("LOAD?") in ("1", "ON")

    def measure(self) -> AcLoadReading:
        """Read volts, amps and watts at the input."""
        return AcLoadReading(
            self.query_float("MEASure:VOLTage?"),
            self.query_float("MEASure:CURRent?"),
            self.query_float("MEASure:POWer?"),
        )
