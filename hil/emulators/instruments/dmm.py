"""Emulated digital multimeter in the Keysight 34461A (Truevolt) command style.

Two functions: 2-wire resistance and DC voltage, with fixed ranges or autorange. A reading above
120 % of the range (or an open input in resistance) is the overload value +9.9E+37, as the real
meter returns it. The world callbacks give the true resistance / voltage at the input terminals.
"""

from __future__ import annotations

import math

import attrs

from hil.emulators.instruments.scpi import DATA_STALE, Call, ScpiDevice, ScpiError, keysight
from hil.emulators.instruments.world import ResistanceWorld, VoltageWorld, open_leads, zero_volts

OVERLOAD = 9.9e37
RANGES = {
    "RES": (100.0, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8),
    "VOLT": (0.1, 1.0, 10.0, 100.0, 1000.0),
}
DEFAULT_RESOLUTION = 3e-7  # fraction of range, 34461A default (10 PLC)
IDN = "Keysight Technologies,34461A,EMULATED,A.03.01-03.15-03.01-00.52-03-01"


@attrs.define
class DmmConfig:
    """Function, range (None: autorange) and resolution (None: default)."""

    function: str = "VOLT"
    range: float | None = None
    resolution: float | None = None


def reading(function: str, true_value: float, config: DmmConfig) -> float:
    """Return what the meter shows for ``true_value`` under ``config`` (overload above 120 % of range)."""
    ranges = RANGES[function]
    overload = math.copysign(OVERLOAD, true_value)  # -OVLD for a large negative voltage
    if math.isnan(true_value):
        return OVERLOAD
    if math.isinf(true_value) or abs(true_value) >= OVERLOAD:
        return overload
    rng = config.range
    if rng is None:
        rng = next((r for r in ranges if abs(true_value) <= r * 1.2), None)
        if rng is None:
            return overload
    elif abs(true_value) > rng * 1.2:
        return overload
    step = resolution_step(config, rng)
    return round(true_value / step) * step


def resolution_step(config: DmmConfig, rng: float) -> float:
    """Return the reading's resolution on range ``rng``: a power of ten at or below the requested one."""
    return 10.0 ** math.floor(math.log10(config.resolution or rng * DEFAULT_RESOLUTION))


class DmmDevice(ScpiDevice):
    """34461A-like DMM: MEASure/CONFigure/READ?/INITiate/FETCh? for RES and VOLT:DC."""

    def __init__(
        self, resistance: ResistanceWorld = open_leads, volts: VoltageWorld = zero_volts, idn: str = IDN
    ) -> None:
        super().__init__(idn)
        self.worlds = {"RES": resistance, "VOLT": volts}
        self.config = DmmConfig()
        self.last: float | None = None
        self.add("MEASure:RESistance?", lambda c: self._measure("RES", c))
        self.add("MEASure:VOLTage[:DC]?", lambda c: self._measure("VOLT", c))
        self.add("CONFigure:RESistance", lambda c: self._configure("RES", c) and None)
        self.add("CONFigure:VOLTage[:DC]", lambda c: self._configure("VOLT", c) and None)
        self.add("CONFigure?", self._config_query)
        self.add("READ?", lambda c: keysight(self._read()))
        self.add("INITiate[:IMMediate]", lambda c: self._initiate())
        self.add("FETCh?", self._fetch)

    def reset(self) -> None:
        """*RST: DC volts, autorange, default resolution, no stored reading."""
        self.config = DmmConfig()
        self.last = None

    def _configure(self, function: str, c: Call) -> DmmConfig:
        c.count(0, 2)
        rng: float | None = None
        res: float | None = None
        ranges = RANGES[function]
        unit = "OHM" if function == "RES" else "V"
        if c.args and c.text(0).upper() not in ("AUTO", "DEF", "DEFAULT"):
            wanted = c.number(0, 0.0, ranges[-1], unit=unit)
            rng = next(r for r in ranges if wanted <= r)  # the smallest range that holds the value
        if len(c.args) == 2 and c.text(1).upper() not in ("DEF", "DEFAULT"):
            span = rng or ranges[-1]
            res = c.number(1, span * 3e-8, span * 1e-3, unit=unit)
        self.config = DmmConfig(function, rng, res)
        self.last = None
        return self.config

    def _measure(self, function: str, c: Call) -> str:
        self._configure(function, c)
        return keysight(self._read())

    def _read(self) -> float:
        function = self.config.function
        value = self.worlds[function]()
        self.last = reading(function, float(value), self.config)
        return self.last

    def _initiate(self) -> None:
        self._read()

    def _fetch(self, c: Call) -> str:
        if self.last is None:
            raise ScpiError(DATA_STALE, "FETCh?: no reading stored; expected INITiate first")
        return keysight(self.last)

    def _config_query(self, c: Call) -> str:
        cfg = self.config
        ranges = RANGES[cfg.function]
        rng = cfg.range or ranges[-1]
        res = resolution_step(cfg, rng)
        name = "RES" if cfg.function == "RES" else "VOLT"
        return f'"{name} {keysight(rng)},{keysight(res)}"'
