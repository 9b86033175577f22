"""What the emulated instruments see of the physical world: small value types and callback types.

An emulated instrument never models the household itself; it asks a callback the rig supplies
("the world") for the quantity at its input terminals each time it measures. Defaults describe
an instrument with nothing connected: 0 V / 0 A at an analyzer, open leads at a DMM.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import attrs


@attrs.frozen
class AcSample:
    """RMS voltage, RMS current and active power at an AC measurement point."""

    volts: float = 0.0
    amps: float = 0.0
    watts: float = 0.0
    hz: float = 50.0

    @property
    def va(self) -> float:
        """Apparent power S = U * I."""
        return self.volts * self.amps

    @property
    def var(self) -> float:
        """Reactive power magnitude sqrt(S^2 - P^2) (0 when rounding makes P exceed S)."""
        return math.sqrt(max(self.va**2 - self.watts**2, 0.0))

    @property
    def power_factor(self) -> float:
        """Lambda = P / S (NaN without current, as a real analyzer shows no data)."""
        return self.watts / self.va if self.va else math.nan


@attrs.frozen
class AcLine:
    """The AC voltage presented to an electronic load's input (0 V when the plug's relay is open)."""

    volts: float = 0.0
    hz: float = 50.0


Clock = Callable[[], float]
PowerWorld = Callable[[], AcSample]
LineWorld = Callable[[], AcLine]
ResistanceWorld = Callable[[], float]
VoltageWorld = Callable[[], float]
OutletListener = Callable[[int, bool], None]

OPEN_CIRCUIT = math.inf


def nothing_connected() -> AcSample:
    """Return an analyzer input with nothing connected."""
    return AcSample()


def dead_line() -> AcLine:
    """Return a load input with no voltage."""
    return AcLine()


def open_leads() -> float:
    """DMM leads touching nothing: infinite resistance."""
    return OPEN_CIRCUIT


def zero_volts() -> float:
    """DMM leads shorted / nothing driving them."""
    return 0.0


def scaled_clock(scale: float = 1.0, base: Clock = time.monotonic) -> Clock:
    """Return a clock running ``scale`` times faster than ``base``, from base's current reading."""
    if not scale > 0:
        raise ValueError(f"time scale: expected a number > 0, got {scale!r}")
    origin = base()

    def clock() -> float:
        return origin + (base() - origin) * scale

    return clock
