"""Driver for a Keysight 34461A-compatible DMM: 2-wire resistance and DC volts."""

from __future__ import annotations

import math

from hil.instruments.base import ScpiInstrument
from hil.instruments.models import DMM

OVERLOAD = 9.9e37


class Dmm(ScpiInstrument):
    """34461A/34465A/34470A (Truevolt) DMM; overload readings come back as ``math.inf``."""

    KIND = DMM

    def resistance(self, range_ohm: float | None = None) -> float:
        """Measure 2-wire resistance in ohms (autorange unless ``range_ohm``); open input is inf."""
        arg = "AUTO" if range_ohm is None else f"{range_ohm:g}"
        return self._reading(self.query_float(f"MEASure:RESistance? {arg}"))

    def dc_volts(self, range_v: float | None = None) -> float:
        """Measure DC volts (autorange unless ``range_v``); overload is +/-inf."""
        arg = "AUTO" if range_v is None else f"{range_v:g}"
        return self._reading(self.query_float(f"MEASure:VOLTage:DC? {arg}"))

    def contact_closed(self, threshold_ohm: float = 10.0) -> bool:
        """Return whether a dry contact across the input reads below ``threshold_ohm`` (closed)."""
        return self.resistance(range_ohm=100.0) < threshold_ohm

    @staticmethod
    def _reading(value: float) -> float:
        if abs(value) >= OVERLOAD:
            return math.copysign(math.inf, value)
        return value
