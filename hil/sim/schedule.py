"""A prescient schedule: a relay policy that knows the household's future and keeps the physical constraints.

The prescient bound (``hil.sim.prescient``) is a lower bound: it lets the appliance modulate freely
anywhere in its flex window. Whether a real on/off appliance could reach it depends on constraints the
bound leaves out (a compressor's minimum run and off times, the room's comfort band, the relay's minimum
on/off times and switch budget). This decider *is* such a controller, with one unfair advantage: it reads
the household's and the PV's future minute by minute (the world is seeded, so the future is known), and it
reads the appliance's state (room temperature, thermostat, the car's remaining need and departure). Its
monthly peak is therefore an achievable figure (an upper bound on the constrained optimum); when it
equals the prescient bound, the bound is exact under the same constraints, and the gap between Peak Guard
and the bound is what foresight is worth, not an artefact of the bound (docs/peak-guard.md).

Several plugs share one ``Plan`` (the draws they committed to, minute by minute), asked in list order each
minute like the guards; each adds its own draw to the plan before the next one decides.

Heat pump (released by a PowerDetector contact, ``hil.emulators.world.thermal.HeatPump``): the contact is
closed only to let a start through that its thermostat asks for (calling, its own minimum off time over),
and only when a run of the minimum run time from now keeps every quarter it touches at or under the cap
(the energy already imported in the running quarter, the household's known future, the heat pump at rated
power); after the minimum run it keeps running minute by minute while the rest of the quarter stays under
the cap with it. The contact then also keeps the plug's minimum on/off times and switch budget (the
scenario's Peak Guard settings). A start held back is deferred heat: the room cools, and a comfort deficit
shows in the figures like the guard's. When the room reaches the comfort limit the start goes through
whatever the cap says (comfort first, counted as ``forced``).

Charger, water heater, radiator (the plug switches the load itself): on when the appliance wants power, its
minimum off time is over and a run of the plug's minimum on time at rated power fits under the cap; kept on
minute by minute while the next minute fits (charging as early as the cap allows is what gets a vehicle
full by its departure). A shortfall shows as unmet energy. While a heat-pump start is held back for want
of room, the loads that can wait yield to it (the heat pump is the one that cannot run in short pieces),
except a car with less than an hour of slack before its departure.
"""

from __future__ import annotations

from typing import Any

from hil.emulators.world.appliance import Appliance
from hil.emulators.world.site import Site
from hil.sim.capacity import MonthPeak, month_of
from hil.sim.deciders import Decider
from hil.sim.guard import GuardConfig

SAFETY_WH = 2.0       # the registers are whole Wh: the quarter's energy so far is known to 1 Wh
URGENT_S = 3600      # a car with less slack than this before its departure does not yield to the heat pump


class Plan:
    """The household's known future and the draws the scheduled plugs committed to, per minute (W)."""

    def __init__(self, site: Site, cap_w: float | list[MonthPeak]) -> None:
        """Plan one home under ``cap_w`` (W), or per local month under each month's ``peak_w``."""
        self.site = site
        self.caps = ({(m.year, m.month): float(m.peak_w) for m in cap_w} if isinstance(cap_w, list)
                     else None)
        self.cap_w = 0.0 if isinstance(cap_w, list) else float(cap_w)
        self.draw: dict[int, float] = {}
        self.waiting = False          # a heat-pump start is held back: the flexible loads yield to it
        self._t = -1
        self._q = -1
        self._q_wh = 0

    def base_w(self, t: int) -> float:
        """Household minus PV at UTC minute ``t`` (W, import positive)."""
        day = t // 86400
        m = (t - day * 86400) // 60
        return self.site.household.day_table(day)[m] - self.site.pv.day_table(day)[m]

    def reading(self, t: int, import_wh: int) -> float:
        """Take the meter's import register at minute ``t``; return the quarter's import so far (Wh)."""
        if t != self._t:
            self._t = t
            for k in [k for k in self.draw if k < t]:
                del self.draw[k]
        q = t - t % 900
        if q != self._q:
            self._q = q
            self._q_wh = import_wh
            if self.caps is not None:
                self.cap_w = self.caps.get(month_of(q), 0.0)
        return import_wh - self._q_wh + 1.0

    def commit(self, t: int, run_s: int, w: float) -> None:
        """Add ``w`` W over the minutes [t, t + run_s)."""
        for m in range(t, t + run_s, 60):
            self.draw[m] = self.draw.get(m, 0.0) + w

    def fits(self, t: int, run_s: int, w: float, e_so_far: float) -> bool:
        """Whether ``w`` W more over [t, t + run_s) keeps every quarter it touches at or under the cap.

        A quarter of the next month is held to this month's cap (the plan looks at most a run ahead).
        """
        lim = self.cap_w / 4.0 - SAFETY_WH
        end = t + run_s
        q = t - t % 900
        while q < end:
            qe = q + 900
            lo = t if q <= t else q
            e = e_so_far if q <= t else 0.0
            for m in range(lo, qe, 60):
                b = self.base_w(m) + self.draw.get(m, 0.0)
                e += (b if b > 0 else 0.0) / 60.0
            e += w * ((end if end < qe else qe) - lo) / 3600.0
            if e > lim:
                return False
            q = qe
        return True


class ScheduledPlug(Decider):
    """One plug under a prescient schedule (see the module docstring); several share one ``Plan``."""

    name = "schedule"
    uses_power = True

    def __init__(self, plan: Plan, app: Appliance, guard: GuardConfig) -> None:
        """Schedule ``app`` in ``plan`` with the plug's minimum times and switch budget (``guard``)."""
        self.plan = plan
        self.app = app
        self.guard = guard
        self.relay = False
        self._last_switch = -10 ** 9
        self._switches: list[float] = []
        self.forced = 0             # heat-pump starts let through for comfort over the cap
        self.max_per_hour = 0

    def _switch(self, on: bool, mono: float) -> bool | None:
        g = self.guard
        since = mono - self._last_switch
        if since < (g.min_off_s if on else g.min_on_s):
            return None
        self._switches = [x for x in self._switches if mono - x < 3600]
        if len(self._switches) > g.max_sw_h - (2 if on else 1):
            return None
        self._switches.append(mono)
        self.max_per_hour = max(self.max_per_hour, len(self._switches))
        self._last_switch = mono
        self.relay = on
        return on

    def meter_power(self, t: int, import_wh: int, export_wh: int, net_w: float, mono: float) -> bool | None:
        """Decide the relay for the step starting at ``t``."""
        e = self.plan.reading(t, import_wh)
        if self.app.kind == "heat_pump":
            return self._heat_pump(t, e, mono)
        return self._load(t, e, mono)

    def _heat_pump(self, t: int, e: float, mono: float) -> bool | None:
        hp: Any = self.app
        p = hp.p
        plan = self.plan
        if not hp.season.on(t):
            return self._switch(False, mono) if self.relay else None
        room = hp.zone.temp_c
        half = 0.5 * p.hysteresis_k
        sp = p.setpoint_c
        calling = True if room < sp - half else (False if room > sp + half else hp.calling)
        if hp.running:
            plan.waiting = False
            if hp._since_s < p.min_run_s:
                return None                       # committed (its minutes are in the plan)
            if calling and plan.fits(t, 60, p.rated_w, e):
                plan.commit(t, 60, p.rated_w)
                return None
            return self._switch(False, mono) if self.relay else None
        if self.relay:
            return self._switch(False, mono)      # idle: open, so that no start goes through unchecked
        if not calling or hp._since_s < p.min_off_s:
            plan.waiting = False
            return None
        ok = plan.fits(t, p.min_run_s, p.rated_w, e)
        plan.waiting = not ok
        if not ok and room <= sp - half - p.comfort_margin_k + 0.05:
            ok = True
            self.forced += 1
        if ok and self._switch(True, mono):
            plan.commit(t, p.min_run_s, p.rated_w)
            return True
        return None

    def _wants(self, t: int) -> bool:
        a: Any = self.app
        if a.kind == "charger":
            if a.wants_power():
                return True
            if a._session is None:
                day = a.clock.local_day(t)
                for d in (day - 1, day):
                    s = a.session(d)
                    if s is not None and s[0] <= t < s[1] and s[0] not in a._done_arrivals:
                        return True
            return False
        return a.wants_power()

    def _urgent(self, t: int) -> bool:
        """Return whether a car has less than URGENT_S of slack before its departure."""
        a: Any = self.app
        s = a._session if a.kind == "charger" else None
        return s is not None and a.remaining_wh >= a.rated_w * (s[1] - t - URGENT_S) / 3600.0

    def _load(self, t: int, e: float, mono: float) -> bool | None:
        rated = self.app.rated_w
        plan = self.plan
        wants = self._wants(t)
        waiting = plan.waiting and not self._urgent(t)
        since = mono - self._last_switch
        if self.relay:
            if since < self.guard.min_on_s:
                return None                       # committed: its minutes are in the plan
            if wants and not waiting and plan.fits(t, 60, rated, e):
                plan.commit(t, 60, rated)
                return None
            return self._switch(False, mono)
        if not wants or waiting:
            return None
        run = self.guard.min_on_s if self.guard.min_on_s > 60 else 60
        if plan.fits(t, run, rated, e) and self._switch(True, mono):
            plan.commit(t, run, rated)
            return True
        return None

    def counters(self) -> dict[str, Any]:
        """Return the heat-pump starts forced by comfort and the most switches in any hour."""
        return {"forced": self.forced, "max_switches_per_hour": self.max_per_hour}
