"""An EV or e-bike charger: plugged-in sessions with an energy need and a departure deadline.

Each local day may start one session (probability ``p_weekday`` / ``p_weekend``): the vehicle arrives
around ``arrive_h``, leaves around ``depart_h`` (the next day when that is earlier than the arrival) and
needs ``need_kwh`` (normal, clipped to [need_min_kwh, need_max_kwh]). While plugged in and not full the
charger draws ``rated_w`` when the plug supplies it. Energy still missing at departure is unmet.
"""

from __future__ import annotations

import attrs

from hil.emulators.world.appliance import Appliance
from hil.emulators.world.clock import LocalClock
from hil.emulators.world.noise import rng, salt

_SESSION_SALT = salt("charger-sessions")
_prob = attrs.validators.and_(attrs.validators.ge(0), attrs.validators.le(1))
_hour = attrs.validators.and_(attrs.validators.ge(0), attrs.validators.lt(24))


@attrs.frozen
class ChargerParams:
    """Defaults: an EV on a 10 A (2.3 kW) cable, home in the evening, away by day."""

    rated_w: float = attrs.field(default=2300.0, validator=attrs.validators.gt(0))
    need_kwh: float = attrs.field(default=8.0, validator=attrs.validators.gt(0))
    need_sd_kwh: float = attrs.field(default=3.0, validator=attrs.validators.ge(0))
    need_min_kwh: float = attrs.field(default=1.0, validator=attrs.validators.ge(0))
    need_max_kwh: float = attrs.field(default=40.0, validator=attrs.validators.gt(0))
    arrive_h: float = attrs.field(default=18.0, validator=_hour)
    arrive_sd_h: float = attrs.field(default=1.0, validator=attrs.validators.ge(0))
    depart_h: float = attrs.field(default=7.5, validator=_hour)
    depart_sd_h: float = attrs.field(default=0.5, validator=attrs.validators.ge(0))
    p_weekday: float = attrs.field(default=0.85, validator=_prob)
    p_weekend: float = attrs.field(default=0.5, validator=_prob)

    @classmethod
    def ebike(cls) -> ChargerParams:
        """Return an e-bike: 0.2 kW charger, 0.4 kWh a ride, plugged in from the evening to the morning."""
        return cls(rated_w=200.0, need_kwh=0.4, need_sd_kwh=0.1, need_min_kwh=0.1, need_max_kwh=0.6,
                   arrive_h=17.5, depart_h=7.75, p_weekday=0.8, p_weekend=0.4)


class Charger(Appliance):
    """A charger stepped like every appliance; its sessions are seeded per local day."""

    kind = "charger"

    def __init__(self, params: ChargerParams, seed: int, clock: LocalClock | None = None,
                 name: str = "charger") -> None:
        """Build a charger with no vehicle plugged in."""
        super().__init__(params, name, clock)
        self.seed = seed
        self._session: tuple[int, int, float] | None = None
        self.remaining_wh = 0.0
        self._done_arrivals: set[int] = set()
        self._cache: dict[int, tuple[int, int, float] | None] = {}
        self.sessions = 0
        self._started: int | None = None   # arrival time of the session that has had power

    def _raw(self, local_day: int) -> tuple[int, int, float] | None:
        """Return the seeded session of a local day before overlap with the previous one is resolved."""
        if local_day in self._cache:
            return self._cache[local_day]
        p = self.p
        r = rng(self.seed, _SESSION_SALT, local_day)
        weekend = LocalClock.weekday(local_day) >= 5
        s: tuple[int, int, float] | None = None
        if r.random() < (p.p_weekend if weekend else p.p_weekday):
            a_h = min(23.99, max(0.0, r.gauss(p.arrive_h, p.arrive_sd_h)))
            d_h = min(23.99, max(0.0, r.gauss(p.depart_h, p.depart_sd_h)))
            need = min(p.need_max_kwh, max(p.need_min_kwh, r.gauss(p.need_kwh, p.need_sd_kwh)))
            a = self.clock.utc_of_local(local_day, int(a_h * 3600))
            d = self.clock.utc_of_local(local_day + (1 if d_h <= a_h else 0), int(d_h * 3600))
            if d > a:
                s = (a, d, need * 1000.0)
        if len(self._cache) > 16:
            self._cache.clear()
        self._cache[local_day] = s
        return s

    def session(self, local_day: int) -> tuple[int, int, float] | None:
        """Return the session (arrive UTC, depart UTC, need Wh) starting on a local day, or None.

        A session never starts before the previous day's vehicle left.
        """
        s = self._raw(local_day)
        if s is None:
            return None
        prev = self._raw(local_day - 1)
        if prev is not None and s[0] < prev[1]:
            if s[1] <= prev[1]:
                return None
            s = (prev[1], s[1], s[2])
        return s

    def wants_power(self) -> bool:
        """Whether a vehicle is plugged in and not full."""
        return self._session is not None and self.remaining_wh > 0

    def step(self, t: int, dt: float, supplied: bool) -> tuple[float, float]:
        """Advance over [t, t + dt): sessions begin and end, the vehicle charges when supplied."""
        st = self.stats
        s = self._session
        if s is not None and t >= s[1]:
            st.unmet_wh += self.remaining_wh
            self.remaining_wh = 0.0
            self._session = s = None
        if s is None:
            day = self.clock.local_day(t)
            for d in (day - 1, day):
                cand = self.session(d)
                if cand is not None and cand[0] <= t < cand[1] and cand[0] not in self._done_arrivals:
                    self._done_arrivals.add(cand[0])
                    if len(self._done_arrivals) > 8:
                        self._done_arrivals = {a for a in self._done_arrivals if a >= t - 3 * 86400}
                    self._session = s = cand
                    self.remaining_wh = cand[2]
                    self.sessions += 1
                    break
        if s is None or self.remaining_wh <= 0:
            return 0.0, 0.0
        if not supplied:
            st.deferred_wh += min(self.p.rated_w * dt / 3600.0, self.remaining_wh)
            return 0.0, 0.0
        wh = min(self.p.rated_w * dt / 3600.0, self.remaining_wh)
        self.remaining_wh -= wh
        if self._started != s[0]:
            self._started = s[0]
            st.starts += 1
        st.run_s += dt
        st.served_wh += wh
        w = wh * 3600.0 / dt
        return w, w

    def flex_windows(self, t0: int, t1: int) -> list[tuple[int, int]]:
        """Return the sessions (arrive, depart) overlapping [t0, t1), clipped."""
        out = []
        day = self.clock.local_day(t0) - 1
        while True:
            s = self.session(day)
            if s is not None:
                if s[0] >= t1:
                    break
                if s[1] > t0:
                    out.append((max(s[0], t0), min(s[1], t1)))
            elif self.clock.utc_of_local(day, 0) >= t1:
                break
            day += 1
        return out
