"""Emulated AC electronic load in the Chroma 63800 command style (CC / CR / CP, LOAD ON|OFF).

The pure :class:`AcLoadModel` says what the load draws from the line voltage the world presents
(the plug's output); :class:`AcLoadDevice` wraps it in SCPI. The rig reads :meth:`AcLoadDevice.draw`
to put the load's consumption into the plug's metering chip and the household total.
"""

from __future__ import annotations

import attrs

from hil.emulators.instruments.scpi import Call, ScpiDevice
from hil.emulators.instruments.world import AcLine, AcSample, LineWorld, dead_line

MODES = ("CC", "CR", "CP")
MIN_VOLTS = 10.0  # below this the load sinks nothing (the plug's relay is open)
IDN = "CHROMA,63804,EMULATED,01.00"


@attrs.frozen
class LoadRatings:
    """Limits of one load model (RMS values)."""

    max_volts: float = 350.0
    max_amps: float = 45.0
    max_watts: float = 4500.0
    min_ohms: float = 1.0
    max_ohms: float = 2500.0


RATINGS = {
    "63802": LoadRatings(max_amps=18.0, max_watts=1800.0),
    "63803": LoadRatings(max_amps=36.0, max_watts=3600.0),
    "63804": LoadRatings(max_amps=45.0, max_watts=4500.0),
}


@attrs.define
class AcLoadModel:
    """Mode, setpoints and input state; what the load draws at a given line voltage."""

    ratings: LoadRatings = attrs.field(factory=LoadRatings)
    mode: str = "CC"
    amps: float = 0.0
    ohms: float = 2500.0
    watts: float = 0.0
    on: bool = False

    def draw(self, line: AcLine) -> AcSample:
        """Return the operating point at ``line`` (resistive: power factor 1), limited by the ratings."""
        v = line.volts
        if not self.on or v < MIN_VOLTS or v > self.ratings.max_volts:
            return AcSample(volts=v, amps=0.0, watts=0.0, hz=line.hz)
        if self.mode == "CC":
            amps = self.amps
        elif self.mode == "CR":
            amps = v / self.ohms
        else:
            amps = self.watts / v
        amps = min(amps, self.ratings.max_amps, self.ratings.max_watts / v)
        return AcSample(volts=v, amps=amps, watts=v * amps, hz=line.hz)


class AcLoadDevice(ScpiDevice):
    """Chroma 63800-style SCPI over an :class:`AcLoadModel`."""

    def __init__(self, world: LineWorld = dead_line, model: str = "63804", idn: str = IDN) -> None:
        super().__init__(idn)
        self.world = world
        self.ratings = RATINGS[model]
        self.model = AcLoadModel(self.ratings)
        r = self.ratings
        self.add("MODE", self._set_mode)
        self.add("MODE?", lambda c: self.model.mode)
        self.add("CURRent[:STATic]", lambda c: self._set("amps", c, 0.0, r.max_amps, "A"))
        self.add("CURRent[:STATic]?", lambda c: f"{self.model.amps:.4f}")
        self.add("RESistance[:STATic]", lambda c: self._set("ohms", c, r.min_ohms, r.max_ohms, "OHM"))
        self.add("RESistance[:STATic]?", lambda c: f"{self.model.ohms:.4f}")
        self.add("POWer[:STATic]", lambda c: self._set("watts", c, 0.0, r.max_watts, "W"))
        self.add("POWer[:STATic]?", lambda c: f"{self.model.watts:.4f}")
        for head in ("LOAD[:STATe]", "INPut[:STATe]"):
            self.add(head, self._set_on)
            self.add(head + "?", lambda c: "1" if self.model.on else "0")
        self.add("MEASure:VOLTage?", lambda c: f"{self.draw().volts:.4f}")
        self.add("MEASure:CURRent?", lambda c: f"{self.draw().amps:.5f}")
        self.add("MEASure:POWer?", lambda c: f"{self.draw().watts:.4f}")
        self.add("MEASure:POWer:APParent?", lambda c: f"{self.draw().va:.4f}")
        self.add("MEASure:POWer:PFACtor?", lambda c: self._pf())
        self.add("MEASure:FREQuency?", lambda c: f"{self.world().hz:.3f}")

    def reset(self) -> None:
        """*RST: input off, CC mode, zero setpoints, maximum resistance."""
        self.model = AcLoadModel(self.ratings)

    def draw(self) -> AcSample:
        """Return what the load draws right now from the world's line voltage."""
        with self.lock:
            line = self.world()
            if not isinstance(line, AcLine):
                raise TypeError(f"world callback: expected an AcLine, got {type(line).__name__}")
            return self.model.draw(line)

    def _pf(self) -> str:
        sample = self.draw()
        return "1.0000" if sample.amps > 0 else "0.0000"

    def _set_mode(self, c: Call) -> None:
        c.count(1)
        self.model.mode = c.choice(0, MODES)

    def _set(self, field: str, c: Call, lo: float, hi: float, unit: str) -> None:
        c.count(1)
        setattr(self.model, field, c.number(0, lo, hi, unit=unit))

    def _set_on(self, c: Call) -> None:
        c.count(1)
        self.model.on = c.boolean(0)
