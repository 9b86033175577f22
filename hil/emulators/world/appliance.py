"""What every switched appliance model shares: its step contract and its statistics.

An appliance sits behind a plug's relay. The caller steps it through time:

    grid_w, plug_w = appliance.step(t, dt, supplied)

``supplied`` is whether the plug's output is live during [t, t + dt); the result is the average power the
appliance took from the mains over that step (``grid_w``, what the electricity meter sees) and the part
the plug's own metering chip sees (``plug_w``: the same for a load plugged into the plug, only a relay
coil's watt for a heat pump switched through a PowerDetector). Models never look at a clock of their own,
so the same object runs in virtual time (simulator) or real time (emulated rig).

``flex_windows(t0, t1)`` tells the prescient baseline when the appliance's energy may be moved to: a
local day for thermal loads, the time the car is plugged in for a charger, the timer window of a pool
pump.
"""

from __future__ import annotations

from typing import Any

import attrs

from hil.emulators.world.clock import LocalClock


@attrs.define
class ApplianceStats:
    """Counters an appliance keeps while it is stepped (energies in Wh, times in s)."""

    served_wh: float = 0.0
    deferred_wh: float = 0.0
    unmet_wh: float = 0.0
    comfort_kh: float = 0.0
    run_s: float = 0.0
    starts: int = 0

    def as_dict(self) -> dict[str, float]:
        """Return the counters as a plain dict (JSON-able)."""
        return attrs.asdict(self)


class Appliance:
    """Base class of the switched appliances."""

    name = "appliance"
    kind = "appliance"
    rated_w = 0.0

    def __init__(self, params: Any = None, name: str | None = None, clock: LocalClock | None = None) -> None:
        """Start with zeroed statistics; a model passes its parameters (with ``rated_w``), name and clock."""
        self.stats = ApplianceStats()
        self.clock = clock or LocalClock()
        if params is not None:
            self.p = params
            self.rated_w = params.rated_w
        if name is not None:
            self.name = name

    def step(self, t: int, dt: float, supplied: bool) -> tuple[float, float]:
        """Advance over [t, t + dt) with the plug's output live or not; (grid W, plug-measured W)."""
        raise NotImplementedError

    def flex_windows(self, t0: int, t1: int) -> list[tuple[int, int]]:
        """Return the windows (UTC start, end) within which the prescient baseline may move its energy."""
        raise NotImplementedError

    def wants_power(self) -> bool:
        """Whether the appliance would draw power now if supplied (its own control calls for it)."""
        raise NotImplementedError


def local_day_windows(clock: LocalClock, t0: int, t1: int) -> list[tuple[int, int]]:
    """Return the local calendar days overlapping [t0, t1) as (UTC start, UTC end) windows, clipped."""
    out = []
    day = clock.local_day(t0)
    while True:
        a = clock.utc_of_local(day, 0)
        b = clock.utc_of_local(day + 1, 0)
        if a >= t1:
            break
        out.append((max(a, t0), min(b, t1)))
        day += 1
    return out
