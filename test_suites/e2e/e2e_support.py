"""Shared arithmetic and waiting for the end-to-end scenarios (written against the rig fixtures only).

Intervals are 1 minute of meter time; on a time-scaled rig (``rig.time_scale`` = S rig seconds per
host second) one interval takes 60 / S host seconds, and the boards' controller follows the meter's
clock, so every threshold below is the manual's example scaled to a 1-minute interval
(2.5 kW x 1/60 h = 0.042 kWh instead of x 1/4 h = 0.625 kWh).

What does not scale: the SmartPlug's own clock (SmartMeter Status turns Disconnected 30 host seconds
after the last fresh reading; the fail-safe counts host time) and its metering chip (energy per host
second), so the plug's own energy over an interval (the C of the equal-threshold rule, Daily Energy)
is 1/S of what the meter registers for the same power. The scenarios compute with that.
"""

from __future__ import annotations

from typing import Any

INTERVAL_MIN = 1


def interval_s(rig: Any, minutes: int = INTERVAL_MIN) -> float:
    """Return the host seconds one interval of ``minutes`` takes on this rig."""
    return minutes * 60 / rig.time_scale


def wh_per_interval(watts: float, minutes: int = INTERVAL_MIN) -> float:
    """Return the energy (Wh) that ``watts`` make over one interval of meter time."""
    return watts * minutes / 60


def kwh(wh: float) -> str:
    """Return a threshold as the page writes it: Wh -> kWh text with 3 decimals ('-0.033')."""
    return f"{round(wh) / 1000:.3f}"


def decision_timeout(rig: Any, n: int) -> float:
    """Return how long ``n`` more decisions may take: n intervals, one more to cross, and some slack."""
    return (n + 1.5) * interval_s(rig) + 5.0


def trace(decisions: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Return decisions as short tuples for assertion messages: (boundary, kind, E Wh, before, after)."""
    return [(d["boundary"], d["kind"], d["e_wh"], d["before"], d["relay"]) for d in decisions]
