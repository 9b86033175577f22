"""The rig's world in real (or scaled) time: household, PV and what each plug switches, one step at a time.

:class:`World` is the closed loop's core, with no I/O and no thread of its own: every ``step(t)`` it
asks each plug whether its output is live (a callable per plug: the emulated board's relay line and
its power, or a real plug's HTTP state), steps each branch (see :mod:`hil.rig.runtime.branches`), and
integrates the household's net power into import and export energy. The P1 emulator takes that energy
once per telegram (:meth:`take_energy`), so every watt-second the world produced reaches the meter's
registers exactly once. The metering chips and instruments read :meth:`chip_sample` and
:meth:`output_sample`.

Tests of a scenario set the household with :meth:`set_base` / :meth:`set_pv` (constant watts instead
of the seeded models) and the mains with :meth:`set_mains`; :meth:`reset` returns to the rig file's
world.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any

import attrs

from hil.emulators.instruments.world import AcSample
from hil.emulators.world import Site
from hil.rig.runtime.branches import NOMINAL_V, Branch

MAX_STEP_S = 60.0  # a long gap (a stalled thread, a time jump) is stepped in pieces of at most this


@attrs.frozen
class TracePoint:
    """The world at one step: rig time, household powers, and per plug (live, grid W, plug W)."""

    t: float
    base_w: float
    pv_w: float
    net_w: float
    volts: float
    plugs: dict[str, tuple[bool, float, float]]


class World:
    """Household + PV + branches, stepped by the caller; thread-safe for readers."""

    def __init__(self, site: Site, branches: list[Branch], live: dict[str, Callable[[], bool | None]],
                 start_t: float, volts: float = NOMINAL_V, trace_len: int = 36000) -> None:
        """Build the world at rig time ``start_t``; ``live[plug]()`` says whether a plug's output is live."""
        self.site = site
        self.branches = {b.name: b for b in branches}
        self.by_plug = {b.plug: b for b in branches}
        self.live_of = live
        self.lock = threading.Lock()
        self.volts = volts
        self.base_override: float | None = None
        self.pv_override: float | None = None
        self.t = float(start_t)
        self.import_ws = 0.0
        self.export_ws = 0.0
        self.taken_t = self.t     # where the last take() ended
        self.total_import_ws = 0.0
        self.total_export_ws = 0.0
        self.steps = 0
        self.live: dict[str, bool] = dict.fromkeys(self.by_plug, False)
        self.chip: dict[str, AcSample] = {p: AcSample(volts=volts) for p in self.by_plug}
        self.net_w = 0.0
        self.trace: deque[TracePoint] = deque(maxlen=trace_len)

    # ---- what tests set ---------------------------------------------------------------------------
    def set_base(self, watts: float | None) -> None:
        """Household base load: constant ``watts`` (>= 0), or None for the seeded household model."""
        if watts is not None and watts < 0:
            raise ValueError(f"world: base load: expected watts >= 0 or None, got {watts!r}")
        with self.lock:
            self.base_override = watts

    def set_pv(self, watts: float | None) -> None:
        """PV production: constant ``watts`` (>= 0), or None for the site's PV model."""
        if watts is not None and watts < 0:
            raise ValueError(f"world: PV: expected watts >= 0 or None, got {watts!r}")
        with self.lock:
            self.pv_override = watts

    def set_mains(self, volts: float) -> None:
        """Mains RMS voltage at the house (a sag: 195 V; nominal 230 V)."""
        if not 0 <= volts <= 300:
            raise ValueError(f"world: mains: expected 0 .. 300 V, got {volts!r}")
        with self.lock:
            self.volts = float(volts)

    def replace(self, branch: Branch) -> None:
        """Put a rebuilt branch in place of the one with the same name (a world reset)."""
        with self.lock:
            self.branches[branch.name] = branch
            self.by_plug[branch.plug] = branch

    # ---- stepping ------------------------------------------------------------------------------------
    def base_w(self, t: float) -> float:
        """Household base load at rig time t."""
        return self.base_override if self.base_override is not None else self.site.base_w(int(t))

    def pv_w(self, t: float) -> float:
        """PV production at rig time t."""
        return self.pv_override if self.pv_override is not None else self.site.pv_w(int(t))

    def step(self, now: float) -> TracePoint | None:
        """Advance the world to rig time ``now`` (nothing when time did not move); returns the new state."""
        with self.lock:
            if now <= self.t:
                return None
            for plug, fn in self.live_of.items():
                v = fn()
                if v is not None:
                    self.live[plug] = bool(v)
            point = None
            while self.t < now:
                dt = min(now - self.t, MAX_STEP_S)
                point = self._step(self.t, dt)
                self.t += dt
            self.steps += 1
            if point is not None:
                self.trace.append(point)
            return point

    def _step(self, t: float, dt: float) -> TracePoint:
        volts = self.volts
        base = self.base_w(t)
        pv = self.pv_w(t)
        plugs: dict[str, tuple[bool, float, float]] = {}
        total = base
        for plug, branch in self.by_plug.items():
            live = self.live.get(plug, False)
            flow = branch.step(t, dt, live, volts)
            total += flow.grid_w
            self.chip[plug] = AcSample(volts=volts, amps=flow.plug.amps, watts=flow.plug.watts)
            plugs[plug] = (live, flow.grid_w, flow.plug.watts)
        net = total - pv
        self.net_w = net
        if net >= 0:
            self.import_ws += net * dt
            self.total_import_ws += net * dt
        else:
            self.export_ws -= net * dt
            self.total_export_ws -= net * dt
        return TracePoint(t, base, pv, net, volts, plugs)

    # ---- what the emulators read ---------------------------------------------------------------------
    def take_energy(self) -> tuple[float, float]:
        """Return (import, export) watt-seconds since the last call, and start counting again."""
        imp, exp, _ = self.take()
        return imp, exp

    def take(self) -> tuple[float, float, float]:
        """Return (import, export) watt-seconds since the last take and the rig seconds they cover."""
        with self.lock:
            out = (self.import_ws, self.export_ws, self.t - self.taken_t)
            self.import_ws = 0.0
            self.export_ws = 0.0
            self.taken_t = self.t
            return out

    def power_now(self) -> tuple[float, float]:
        """Return (import W, export W) of the last step."""
        with self.lock:
            net = self.net_w
        return (net, 0.0) if net >= 0 else (0.0, -net)

    def chip_sample(self, plug: str) -> AcSample:
        """Return what the plug's metering chip sees: mains volts, current and power through its relay."""
        with self.lock:
            return self.chip.get(plug, AcSample(volts=self.volts))

    def output_sample(self, plug: str) -> AcSample:
        """Return what an analyzer on the plug's output socket sees (0 V while the relay is open)."""
        with self.lock:
            s = self.chip.get(plug, AcSample())
            live = self.live.get(plug, False)
        return s if live else AcSample(volts=0.0, amps=0.0, watts=0.0, hz=s.hz)

    def status(self) -> dict[str, Any]:
        """Return a JSON-able summary: rig time, powers, each branch."""
        with self.lock:
            return {
                "t": self.t, "volts": self.volts, "net_w": round(self.net_w, 1),
                "base_w": self.base_override, "pv_w": self.pv_override,
                "import_wh_total": round(self.total_import_ws / 3600, 3),
                "export_wh_total": round(self.total_export_ws / 3600, 3),
                "plugs": {p: dict(b.describe(), live=self.live.get(p, False), appliance=b.name)
                          for p, b in self.by_plug.items()},
            }

    def trace_since(self, t0: float) -> list[TracePoint]:
        """Return the trace points at or after rig time ``t0``."""
        with self.lock:
            return [p for p in self.trace if p.t >= t0]
