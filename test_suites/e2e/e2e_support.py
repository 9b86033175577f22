"""Shared arithmetic and waiting for the end-to-end scenarios (written against the rig fixtures only).

Every number is the manual's own: 15-minute intervals, thresholds in kWh per quarter-hour (2.5 kW x 1/4 h
= 0.625 kWh), SmartMeter Status Disconnected 30 s after the last fresh reading, the fail-safe after N
intervals without data, Daily Energy restarting at local midnight. Times are rig seconds: every part of
the rig (the meter, the plugs' own clocks and metering chips, the instruments) runs on the one rig clock,
so a plug's energy over an interval is the same in its own counters as in the meter's registers. On the
emulated rig the clock is virtual: a quarter-hour costs what its events cost, not 15 minutes.
"""

from __future__ import annotations

from typing import Any

INTERVAL_MIN = 15


def interval_s(rig: Any, minutes: int = INTERVAL_MIN) -> float:
    """Return the rig seconds one interval of ``minutes`` takes."""
    return minutes * 60.0


def wh_per_interval(watts: float, minutes: int = INTERVAL_MIN) -> float:
    """Return the energy (Wh) that ``watts`` make over one interval."""
    return watts * minutes / 60


def kwh(wh: float) -> str:
    """Return a threshold as the page writes it: Wh -> kWh text with 3 decimals ('-0.500')."""
    return f"{round(wh) / 1000:.3f}"


def decision_timeout(rig: Any, n: int, minutes: int = INTERVAL_MIN) -> float:
    """Return how long ``n`` more decisions may take (rig s): n intervals, one more to cross, a poll."""
    return (n + 1) * interval_s(rig, minutes) + 60.0


def trace(decisions: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Return decisions as short tuples for assertion messages: (boundary, kind, E Wh, before, after)."""
    return [(d["boundary"], d["kind"], d["e_wh"], d["before"], d["relay"]) for d in decisions]
