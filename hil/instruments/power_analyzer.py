"""Driver for a single-phase power analyzer: Yokogawa WT310E / WT310 (``:NUMeric`` + ``:INTEGrate``).

The driver puts five items in the numeric list (U, I, P, WH, TIME of element 1) and reads them in
one ``:NUMeric:NORMal:VALue?``, so a measurement is one consistent update of the instrument.
"""

from __future__ import annotations

import math
import time

import attrs

from hil.instruments.base import InstrumentError, ScpiInstrument
from hil.instruments.models import POWER_ANALYZER

ITEMS = ("U", "I", "P", "WH", "TIME")
NO_DATA = 9.9e37  # the WT310 sends 9.91E+37 for "no data" and 9.9E+37 for overrange
STATES = {
    "RES": "reset",
    "STAR": "running",
    "STOP": "stopped",
    "TIM": "timeup",
    "READ": "ready",
    "ERR": "error",
}


def _value(raw: float) -> float:
    return math.nan if abs(raw) >= NO_DATA else raw


@attrs.frozen
class AcMeasurement:
    """One update of the analyzer: RMS volts, RMS amps, watts, integrated Wh and seconds."""

    volts: float
    amps: float
    watts: float
    wh: float
    seconds: int


class PowerAnalyzer(ScpiInstrument):
    """Yokogawa WT310E-compatible power analyzer on one input element."""

    KIND = POWER_ANALYZER
    ERROR_QUERY = ":STATus:ERRor?"

    configured = False

    def configure(self, rate_s: float | None = None) -> None:
        """Set ASCII numeric items U, I, P, WH, TIME and, if given, the update rate (0.1 .. 5 s).

        :meth:`measure` sets the items if nobody did before (the rate stays as it is, so this
        works while integrating, when the WT310 refuses a rate change).
        """
        self.write(":COMMunicate:HEADer OFF")
        self.write(":COMMunicate:VERBose OFF")
        self.write(f":NUMeric:NORMal:NUMber {len(ITEMS)}")
        for n, function in enumerate(ITEMS, start=1):
            self.write(f":NUMeric:NORMal:ITEM{n} {function},1")
        if rate_s is not None:
            self.write(f":RATE {round(rate_s * 1000)}MS")
        self.configured = True

    def reset(self) -> None:
        """``*RST`` and ``*CLS``; the numeric items are set again on the next :meth:`measure`."""
        super().reset()
        self.configured = False

    def measure(self) -> AcMeasurement:
        """Read the latest update (NaN where the analyzer has no data)."""
        if not self.configured:
            self.configure()
        u, i, p, wh, seconds = self.query_floats(":NUMeric:NORMal:VALue?", len(ITEMS))
        return AcMeasurement(_value(u), _value(i), _value(p), _value(wh), int(seconds))

    def integration_start(self) -> None:
        """Start (or resume) the energy integrator."""
        self.write(":INTEGrate:STARt")

    def integration_stop(self) -> None:
        """Stop the integrator, holding its values."""
        self.write(":INTEGrate:STOP")

    def integration_reset(self) -> None:
        """Zero the integrator (stop it first if it runs)."""
        if self.integration_state() == "running":
            self.integration_stop()
        self.write(":INTEGrate:RESet")

    def integration_timer(self, seconds: int) -> None:
        """Let the integrator stop by itself after ``seconds`` (0: no timer)."""
        self.write(f":INTEGrate:TIMer {seconds // 3600},{seconds // 60 % 60},{seconds % 60}")

    def integration_state(self) -> str:
        """Return reset, running, stopped, timeup, ready or error."""
        answer = self.query(":INTEGrate:STATe?").upper()
        for prefix, state in STATES.items():
            if answer.startswith(prefix):
                return state
        raise InstrumentError(
            f"{self.name}: :INTEGrate:STATe?: expected one of {', '.join(STATES)}, got {answer!r}"
        )

    def energy_wh(self) -> float:
        """Return the integrated active energy WH of element 1."""
        return self.measure().wh

    def wait_integrated(self, seconds: int, timeout_s: float) -> AcMeasurement:
        """Poll until the integrator has run ``seconds`` (instrument time); error after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            m = self.measure()
            if m.seconds >= seconds:
                return m
            if time.monotonic() > deadline:
                raise InstrumentError(
                    f"{self.name}: integrated {m.seconds} s, expected {seconds} s within {timeout_s} s"
                )
            time.sleep(0.02)
