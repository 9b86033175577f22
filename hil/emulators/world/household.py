"""A household's base load (everything except the switched appliance and PV), seeded.

The load at a minute is

    standby_w + smooth(t) x noise + sum of the appliance events running at t

- ``standby_w``: always-on load (fridge average, router, standby), constant.
- smooth: the household's diffuse consumption (lighting, TV, computers, small kitchen use) following an
  hourly weekday or weekend profile (relative weights, normalised to a mean of 1), scaled by the season
  (``1 + seasonal_amplitude x cos(2 pi (doy - 15) / 365.25)``: more in mid-January, less in mid-July)
  and by ``weekend_factor`` on Saturdays and Sundays; ``noise`` is a uniform multiplicative jitter of
  +/- ``noise`` per minute.
- events: the high-power appliances that make the capacity-tariff peaks: a cooking hob, an oven, a
  kettle, a washing machine, a dishwasher, a tumble dryer, ... Each ``EventKind`` has its power phases,
  its mean count per day and the local time windows it happens in. Counts and start times are drawn per
  local day from the seed.

The smooth part's level is solved from ``annual_kwh``: annual = standby + expected events + smooth,
so the yearly consumption matches the parameter on average (3,500 kWh is a Flemish family's typical
figure). Times are UTC epoch seconds; profiles and windows are in local (Belgian) wall time.
"""

from __future__ import annotations

import math

import attrs

from hil.emulators.world.clock import DAY, LocalClock
from hil.emulators.world.noise import rng, salt
from hil.emulators.world.series import MINUTES, MinuteSeries

_EVENT_SALT = salt("household-events")
_NOISE_SALT = salt("household-noise")

WEEKDAY_PROFILE = (0.55, 0.45, 0.42, 0.40, 0.40, 0.45, 0.70, 1.05, 1.00, 0.85, 0.80, 0.85,
                   0.95, 0.90, 0.80, 0.80, 0.95, 1.30, 1.70, 1.80, 1.65, 1.40, 1.10, 0.80)
WEEKEND_PROFILE = (0.65, 0.50, 0.45, 0.42, 0.40, 0.42, 0.50, 0.70, 1.00, 1.15, 1.20, 1.25,
                   1.30, 1.20, 1.05, 1.00, 1.05, 1.35, 1.65, 1.70, 1.55, 1.35, 1.10, 0.85)


def _profile(values: tuple[float, ...]) -> tuple[float, ...]:
    if len(values) != 24 or min(values) < 0 or sum(values) <= 0:
        raise ValueError("a profile needs 24 non-negative hourly weights, got %r" % (values,))
    return tuple(float(v) for v in values)


def _windows(values: tuple[tuple[float, float], ...]) -> tuple[tuple[float, float], ...]:
    out = []
    for w in values:
        a, b = float(w[0]), float(w[1])
        if not 0 <= a < b <= 24:
            raise ValueError("a time window needs 0 <= start < end <= 24 (local hours), got %r" % (w,))
        out.append((a, b))
    if not out:
        raise ValueError("an event kind needs at least one time window")
    return tuple(out)


def _phases(values: tuple[tuple[float, float], ...]) -> tuple[tuple[float, float], ...]:
    out = []
    for ph in values:
        w, m = float(ph[0]), float(ph[1])
        if w < 0 or m <= 0:
            raise ValueError("an event phase needs power >= 0 W and minutes > 0, got %r" % (ph,))
        out.append((w, m))
    if not out:
        raise ValueError("an event kind needs at least one (watts, minutes) phase")
    return tuple(out)


@attrs.frozen
class EventKind:
    """A high-power appliance use: phases of (watts, minutes), how often, and when (local hours)."""

    name: str
    phases: tuple[tuple[float, float], ...] = attrs.field(converter=_phases)
    per_day: float = attrs.field(validator=attrs.validators.ge(0))
    windows: tuple[tuple[float, float], ...] = attrs.field(converter=_windows)
    weekend_per_day: float | None = None
    duration_jitter: float = attrs.field(default=0.25, validator=attrs.validators.and_(
        attrs.validators.ge(0), attrs.validators.lt(1)))

    @property
    def energy_wh(self) -> float:
        """Energy of one use at nominal duration."""
        return sum(w * m / 60.0 for w, m in self.phases)

    def mean_per_day(self, weekend: bool) -> float:
        """Return the expected uses on a weekday / weekend day."""
        if weekend and self.weekend_per_day is not None:
            return self.weekend_per_day
        return self.per_day


DEFAULT_EVENTS = (
    EventKind("cooking hob", ((2800, 8), (1300, 17)), 0.85, ((17.5, 19.5),), weekend_per_day=1.3),
    EventKind("oven", ((2200, 12), (1000, 35)), 0.3, ((17.0, 19.5), (11.5, 12.5))),
    EventKind("kettle", ((2200, 3),), 3.0, ((6.5, 9.0), (12.0, 14.0), (15.0, 22.0))),
    EventKind("microwave", ((1200, 4),), 1.5, ((7.0, 9.0), (12.0, 13.5), (18.0, 20.0))),
    EventKind("washing machine", ((2000, 15), (250, 70)), 0.45, ((8.0, 21.0),), weekend_per_day=0.9),
    EventKind("dishwasher", ((2000, 20), (120, 60), (2000, 15), (50, 30)), 0.7, ((19.0, 22.0),)),
    EventKind("tumble dryer", ((2000, 60),), 0.25, ((9.0, 21.0),), weekend_per_day=0.5),
    EventKind("vacuum / hair dryer", ((1600, 12),), 0.6, ((7.0, 21.0),)),
)


@attrs.frozen
class HouseholdParams:
    """Parameters of the base load (defaults: a Flemish family of four, 3,500 kWh/year, gas heating)."""

    annual_kwh: float = attrs.field(default=3500.0, validator=attrs.validators.gt(0))
    standby_w: float = attrs.field(default=110.0, validator=attrs.validators.ge(0))
    seasonal_amplitude: float = attrs.field(default=0.2, validator=attrs.validators.and_(
        attrs.validators.ge(0), attrs.validators.lt(1)))
    weekend_factor: float = attrs.field(default=1.1, validator=attrs.validators.gt(0))
    noise: float = attrs.field(default=0.15, validator=attrs.validators.and_(
        attrs.validators.ge(0), attrs.validators.lt(1)))
    weekday_profile: tuple[float, ...] = attrs.field(default=WEEKDAY_PROFILE, converter=_profile)
    weekend_profile: tuple[float, ...] = attrs.field(default=WEEKEND_PROFILE, converter=_profile)
    events: tuple[EventKind, ...] = DEFAULT_EVENTS

    def expected_event_kwh_per_year(self) -> float:
        """Energy the events use in an average year."""
        per_week = sum(k.energy_wh * (5 * k.mean_per_day(False) + 2 * k.mean_per_day(True))
                       for k in self.events)
        return per_week * 365.25 / 7 / 1000.0

    def smooth_kwh_per_day(self) -> float:
        """Mean daily energy of the smooth part, solved from ``annual_kwh``."""
        rest = self.annual_kwh - self.standby_w * 8.766 - self.expected_event_kwh_per_year()
        if rest <= 0:
            raise ValueError(
                "annual_kwh %.0f is too small: standby (%.0f kWh) and appliance events (%.0f kWh) already "
                "use more; expected annual_kwh above %.0f"
                % (self.annual_kwh, self.standby_w * 8.766, self.expected_event_kwh_per_year(),
                   self.standby_w * 8.766 + self.expected_event_kwh_per_year()))
        return rest / 365.25


def _minute_table(profile: tuple[float, ...]) -> list[float]:
    """Hourly weights -> 1440 minute weights (linear between hour centres), mean 1."""
    out = []
    for i in range(MINUTES):
        x = i / 60.0 - 0.5 + 1 / 120.0
        h0 = math.floor(x)
        f = x - h0
        out.append(profile[h0 % 24] * (1 - f) + profile[(h0 + 1) % 24] * f)
    mean = sum(out) / MINUTES
    return [v / mean for v in out]


class Household(MinuteSeries):
    """Base load in W at any UTC second: ``power_w(t)``; events of a local day: ``events(day)``."""

    def __init__(self, seed: int, params: HouseholdParams | None = None,
                 clock: LocalClock | None = None) -> None:
        """Build a seeded household."""
        super().__init__()
        self.seed = seed
        self.p = params or HouseholdParams()
        self.clock = clock or LocalClock()
        self._wk = _minute_table(self.p.weekday_profile)
        self._we = _minute_table(self.p.weekend_profile)
        self._smooth_w = self.p.smooth_kwh_per_day() * 1000.0 / 24.0
        weekend_share = 2.0 / 7.0
        # weekday factor chosen so that the week's mean stays 1
        self._weekday_factor = (1.0 - weekend_share * self.p.weekend_factor) / (1.0 - weekend_share)
        if self._weekday_factor <= 0:
            raise ValueError("weekend_factor %.2f is too large (at most 3.5)" % self.p.weekend_factor)
        self._events: dict[int, list[tuple[int, int, float, str]]] = {}

    def power_w(self, t: int) -> float:
        """Return the base load in W at UTC second ``t``."""
        return self.value(t)

    def seasonal(self, local_day: int) -> float:
        """Seasonal factor of the smooth part on a local day (mean 1 over a year)."""
        doy = LocalClock.day_of_year(local_day)
        return 1.0 + self.p.seasonal_amplitude * math.cos(2 * math.pi * (doy - 15) / 365.25)

    def events(self, local_day: int) -> list[tuple[int, int, float, str]]:
        """(start UTC, end UTC, watts, name) of each event phase on a local day, seeded."""
        ev = self._events.get(local_day)
        if ev is not None:
            return ev
        if len(self._events) > 8:
            self._events.clear()
        r = rng(self.seed, _EVENT_SALT, local_day)
        weekend = LocalClock.weekday(local_day) >= 5
        ev = []
        for kind in self.p.events:
            mean = kind.mean_per_day(weekend)
            n = int(mean)
            if r.random() < mean - n:
                n += 1
            total_h = sum(b - a for a, b in kind.windows)
            for _ in range(n):
                u = r.random() * total_h
                for a, b in kind.windows:
                    if u < b - a:
                        start_h = a + u
                        break
                    u -= b - a
                else:
                    start_h = kind.windows[-1][0]
                scale = 1.0 + kind.duration_jitter * (2 * r.random() - 1)
                s = self.clock.utc_of_local(local_day, int(start_h * 3600) // 60 * 60)
                for w, m in kind.phases:
                    e = s + int(m * scale * 60)
                    ev.append((s, e, w, kind.name))
                    s = e
        self._events[local_day] = ev
        return ev

    def build_day(self, day: int) -> list[float]:
        """1440 minute loads of UTC day ``day``."""
        p = self.p
        clock = self.clock
        t0 = day * DAY
        noise = rng(self.seed, _NOISE_SALT, day).random
        amp = 2.0 * p.noise
        base = 1.0 - p.noise
        out = []
        level_cache: dict[int, tuple[float, list[float]]] = {}
        off = 0
        for i in range(MINUTES):
            t = t0 + 60 * i
            if i % 60 == 0:  # DST changes happen on whole UTC hours
                off = clock.offset_s(t)
            ls = t + off
            lday = ls // DAY
            lv = level_cache.get(lday)
            if lv is None:
                weekend = LocalClock.weekday(lday) >= 5
                f = p.weekend_factor if weekend else self._weekday_factor
                table = self._we if weekend else self._wk
                lv = level_cache[lday] = (self._smooth_w * self.seasonal(lday) * f, table)
            out.append(p.standby_w + lv[0] * lv[1][(ls - lday * DAY) // 60] * (base + amp * noise()))
        lday0 = (t0 + clock.offset_s(t0)) // DAY
        t_end = t0 + DAY
        for lday in (lday0 - 1, lday0, lday0 + 1):
            for s, e, w, _name in self.events(lday):
                if e <= t0 or s >= t_end:
                    continue
                a = max(s, t0)
                b = min(e, t_end)
                m = (a - t0) // 60
                while a < b:
                    m_end = t0 + (m + 1) * 60
                    seg = min(b, m_end) - a
                    out[m] += w * seg / 60.0
                    a += seg
                    m += 1
        return out
