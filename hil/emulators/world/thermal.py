"""Space heating behind a plug: a radiator with a thermostat, a heat pump behind a PowerDetector.

Both heat a single-zone thermal mass (``capacity_kj_per_k``) that loses ``ua_w_per_k`` to the outdoor air
(the climate model's temperature) and gains ``gains_w`` from people and appliances. Each step is solved
exactly (exponential approach to the equilibrium temperature), so any step length is stable.
"""

from __future__ import annotations

import math

import attrs

from firmware.timebase import civil_from_days
from hil.emulators.world.appliance import Appliance, local_day_windows
from hil.emulators.world.climate import Temperature
from hil.emulators.world.clock import DAY, LocalClock

_pos = attrs.validators.gt(0)
_nonneg = attrs.validators.ge(0)
_month = attrs.validators.and_(attrs.validators.ge(1), attrs.validators.le(12))


class _Season:
    """Heating season by local month (from .. to, wrapping over new year), cached per local day."""

    def __init__(self, clock: LocalClock, from_month: int, to_month: int) -> None:
        """Build a season test for months ``from_month`` .. ``to_month`` inclusive."""
        self.clock = clock
        self.a = from_month
        self.b = to_month
        self._day = -1
        self._on = False

    def on(self, t: int) -> bool:
        """Whether UTC second ``t`` lies in the heating season."""
        return self.on_local(t + self.clock.offset_s(t))

    def on_local(self, local_s: int) -> bool:
        """Whether local wall-time second ``local_s`` (since 1970 local) lies in the heating season."""
        day = local_s // DAY
        if day != self._day:
            self._day = day
            m = civil_from_days(day)[1]
            self._on = self.a <= m <= self.b if self.a <= self.b else (m >= self.a or m <= self.b)
        return self._on


@attrs.frozen
class HeaterParams:
    """An electric radiator (resistive) in a living room with a thermostat and a night setback."""

    rated_w: float = attrs.field(default=2000.0, validator=_pos)
    comfort_c: float = 20.0
    setback_c: float = 17.0
    comfort_from_h: float = attrs.field(default=6.5, validator=attrs.validators.and_(_nonneg,
                                                                                    attrs.validators.le(24)))
    comfort_to_h: float = attrs.field(default=22.5, validator=attrs.validators.and_(_nonneg,
                                                                                   attrs.validators.le(24)))
    hysteresis_k: float = attrs.field(default=0.6, validator=_pos)
    ua_w_per_k: float = attrs.field(default=60.0, validator=_pos)
    capacity_kj_per_k: float = attrs.field(default=3000.0, validator=_pos)
    gains_w: float = attrs.field(default=150.0, validator=_nonneg)
    comfort_margin_k: float = attrs.field(default=0.5, validator=_nonneg)
    season_from_month: int = attrs.field(default=10, validator=_month)
    season_to_month: int = attrs.field(default=4, validator=_month)


class _Zone:
    """A single thermal zone: temperature, exact exponential step."""

    def __init__(self, temp_c: float, ua: float, capacity_kj: float) -> None:
        """Build a zone at ``temp_c`` losing ``ua`` W/K with ``capacity_kj`` kJ/K of thermal mass."""
        self.temp_c = temp_c
        self.ua = ua
        self.tau_s = capacity_kj * 1000.0 / ua
        self._dt = -1.0
        self._k = 1.0

    def advance(self, dt: float, outdoor_c: float, heat_w: float) -> None:
        """Advance ``dt`` seconds with ``heat_w`` W of heat in and the outdoor air at ``outdoor_c``."""
        if dt != self._dt:
            self._dt = dt
            self._k = math.exp(-dt / self.tau_s)
        teq = outdoor_c + heat_w / self.ua
        self.temp_c = teq + (self.temp_c - teq) * self._k


class RoomHeater(Appliance):
    """A resistive radiator: draws ``rated_w`` while its thermostat calls for heat and it is supplied."""

    kind = "heater"

    def __init__(self, params: HeaterParams, temperature: Temperature, clock: LocalClock | None = None,
                 name: str = "heater") -> None:
        """Build a heater in a room that starts at its comfort temperature."""
        super().__init__(params, name, clock)
        self.temperature = temperature
        self.zone = _Zone(params.comfort_c, params.ua_w_per_k, params.capacity_kj_per_k)
        self.calling = False
        self.heating = False
        self._from_s = int(params.comfort_from_h * 3600)
        self._to_s = int(params.comfort_to_h * 3600)
        self.season = _Season(self.clock, params.season_from_month, params.season_to_month)
        self._t_day = -1
        self._t_tab: list[float] = []

    @property
    def room_c(self) -> float:
        """Room temperature in degrees C."""
        return self.zone.temp_c

    def setpoint_c(self, t: int) -> float:
        """Return the thermostat's setpoint at UTC second ``t`` (comfort by day, setback at night)."""
        s = (t + self.clock.offset_s(t)) % DAY
        return self.p.comfort_c if self._from_s <= s < self._to_s else self.p.setback_c

    def wants_power(self) -> bool:
        """Whether the thermostat calls for heat."""
        return self.calling

    def step(self, t: int, dt: float, supplied: bool) -> tuple[float, float]:
        """Advance the room over [t, t + dt); return (grid W, plug W)."""
        p = self.p
        zone = self.zone
        room = zone.temp_c
        ls = t + self.clock.offset_s(t)
        half = 0.5 * p.hysteresis_k
        if not self.season.on_local(ls):
            self.calling = False
            sp = -100.0
        else:
            sp = p.comfort_c if self._from_s <= ls % DAY < self._to_s else p.setback_c
            if room < sp - half:
                self.calling = True
            elif room > sp + half:
                self.calling = False
        st = self.stats
        if self.calling:
            if supplied:
                w = p.rated_w
                if not self.heating:
                    st.starts += 1
                    self.heating = True
                st.run_s += dt
                st.served_wh += w * dt / 3600.0
            else:
                w = 0.0
                self.heating = False
                st.deferred_wh += p.rated_w * dt / 3600.0
        else:
            w = 0.0
            self.heating = False
        deficit = sp - half - p.comfort_margin_k - room
        if deficit > 0:
            st.comfort_kh += deficit * dt / 3600.0
        if dt != zone._dt:
            zone._dt = dt
            zone._k = math.exp(-dt / zone.tau_s)
        day = t // DAY
        if day != self._t_day:
            self._t_day = day
            self._t_tab = self.temperature.day_table(day)
        teq = self._t_tab[(t - day * DAY) // 60] + (w + p.gains_w) / zone.ua
        zone.temp_c = teq + (room - teq) * zone._k
        return w, w

    def flex_windows(self, t0: int, t1: int) -> list[tuple[int, int]]:
        """Return the local days: a day's heat may move anywhere within that day."""
        return local_day_windows(self.clock, t0, t1)


@attrs.frozen
class HeatPumpParams:
    """An on/off air-water heat pump for a whole house, released by a dry contact ("SG ready" style)."""

    rated_w: float = attrs.field(default=2200.0, validator=_pos)
    cop_at_0c: float = attrs.field(default=3.0, validator=_pos)
    cop_per_k: float = 0.09
    cop_min: float = attrs.field(default=1.6, validator=_pos)
    cop_max: float = attrs.field(default=5.5, validator=_pos)
    setpoint_c: float = 20.5
    hysteresis_k: float = attrs.field(default=1.0, validator=_pos)
    min_run_s: int = attrs.field(default=1200, validator=_nonneg)
    min_off_s: int = attrs.field(default=600, validator=_nonneg)
    ua_w_per_k: float = attrs.field(default=180.0, validator=_pos)
    capacity_kj_per_k: float = attrs.field(default=25000.0, validator=_pos)
    gains_w: float = attrs.field(default=400.0, validator=_nonneg)
    detector_coil_w: float = attrs.field(default=1.0, validator=_nonneg)
    comfort_margin_k: float = attrs.field(default=0.5, validator=_nonneg)
    season_from_month: int = attrs.field(default=10, validator=_month)
    season_to_month: int = attrs.field(default=4, validator=_month)


class HeatPump(Appliance):
    """A heat pump whose release input is wired to a PowerDetector plugged into the SmartPlug.

    The detector's contact is closed while the plug's output is live (the few tens of ms of pull-in and
    bounce are far below a simulation step). Closed = the heat pump may run when its own thermostat calls
    for heat; open = blocked. A compressor once started runs at least ``min_run_s`` (even if the contact
    opens) and once stopped stays off at least ``min_off_s``. The heat pump's power flows through its own
    supply, so the plug measures only the detector's coil (``detector_coil_w``) while its output is live.
    """

    kind = "heat_pump"

    def __init__(self, params: HeatPumpParams, temperature: Temperature, clock: LocalClock | None = None,
                 name: str = "heat pump") -> None:
        """Build a heat pump in a house that starts at its setpoint, compressor off."""
        super().__init__(params, name, clock)
        self.temperature = temperature
        self.zone = _Zone(params.setpoint_c, params.ua_w_per_k, params.capacity_kj_per_k)
        self.calling = False
        self.running = False
        self._since_s = float(params.min_off_s)   # time in the current run / off state
        self.season = _Season(self.clock, params.season_from_month, params.season_to_month)

    @property
    def room_c(self) -> float:
        """House temperature in degrees C."""
        return self.zone.temp_c

    def cop(self, outdoor_c: float) -> float:
        """Return the coefficient of performance at an outdoor temperature."""
        p = self.p
        c = p.cop_at_0c + p.cop_per_k * outdoor_c
        return p.cop_min if c < p.cop_min else (p.cop_max if c > p.cop_max else c)

    def wants_power(self) -> bool:
        """Whether the heat pump's thermostat calls for heat."""
        return self.calling

    def step(self, t: int, dt: float, supplied: bool) -> tuple[float, float]:
        """Advance over [t, t + dt) with the detector's contact closed iff ``supplied``."""
        p = self.p
        room = self.zone.temp_c
        half = 0.5 * p.hysteresis_k
        sp = p.setpoint_c
        if not self.season.on(t):
            self.calling = False
            sp = -100.0
        elif room < sp - half:
            self.calling = True
        elif room > sp + half:
            self.calling = False
        st = self.stats
        if self.running:
            if (not supplied or not self.calling) and self._since_s >= p.min_run_s:
                self.running = False
                self._since_s = 0.0
        elif supplied and self.calling and self._since_s >= p.min_off_s:
            self.running = True
            self._since_s = 0.0
            st.starts += 1
        self._since_s += dt
        outdoor = self.temperature.value(t)
        w = p.rated_w if self.running else 0.0
        if self.running:
            st.run_s += dt
            st.served_wh += w * dt / 3600.0
        elif self.calling and not supplied:
            st.deferred_wh += p.rated_w * dt / 3600.0
        deficit = sp - half - p.comfort_margin_k - room
        if deficit > 0:
            st.comfort_kh += deficit * dt / 3600.0
        self.zone.advance(dt, outdoor, w * self.cop(outdoor) + p.gains_w)
        coil = p.detector_coil_w if supplied else 0.0
        return w + coil, coil

    def flex_windows(self, t0: int, t1: int) -> list[tuple[int, int]]:
        """Return the local days: a day's heat may move anywhere within that day."""
        return local_day_windows(self.clock, t0, t1)
