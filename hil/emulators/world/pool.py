"""A pool pump (or pool heat pump): a daily run-time quota inside its own timer window and season.

In season (months ``season_from_month`` .. ``season_to_month``) the pump must run ``hours_per_day``
each local day within its timer window [``window_from_h``, ``window_to_h``). It runs whenever the plug
supplies it inside the window until the day's quota is met; run time still missing when the window
closes is unmet (as energy at ``rated_w``).
"""

from __future__ import annotations

import attrs

from firmware.timebase import civil_from_days
from hil.emulators.world.appliance import Appliance
from hil.emulators.world.clock import DAY, LocalClock

_hour = attrs.validators.and_(attrs.validators.ge(0), attrs.validators.le(24))
_month = attrs.validators.and_(attrs.validators.ge(1), attrs.validators.le(12))


@attrs.frozen
class PoolPumpParams:
    """Defaults: a 0.75 kW filtration pump, 6 h a day between 08:00 and 20:00, May to September."""

    rated_w: float = attrs.field(default=750.0, validator=attrs.validators.gt(0))
    hours_per_day: float = attrs.field(default=6.0, validator=attrs.validators.and_(
        attrs.validators.ge(0), attrs.validators.le(24)))
    window_from_h: float = attrs.field(default=8.0, validator=_hour)
    window_to_h: float = attrs.field(default=20.0, validator=_hour)
    season_from_month: int = attrs.field(default=5, validator=_month)
    season_to_month: int = attrs.field(default=9, validator=_month)

    def __attrs_post_init__(self) -> None:
        """Check the window holds the quota."""
        if self.window_to_h <= self.window_from_h:
            raise ValueError("pool pump window: expected window_from_h < window_to_h, got %r .. %r"
                             % (self.window_from_h, self.window_to_h))
        if self.hours_per_day > self.window_to_h - self.window_from_h:
            raise ValueError("pool pump: %.1f h a day does not fit in its %.1f h window"
                             % (self.hours_per_day, self.window_to_h - self.window_from_h))


class PoolPump(Appliance):
    """The pool pump, stepped like every appliance."""

    kind = "pool_pump"

    def __init__(self, params: PoolPumpParams, clock: LocalClock | None = None,
                 name: str = "pool pump") -> None:
        """Build a pump that has not run today."""
        super().__init__(params, name, clock)
        self._day: int | None = None
        self._in_season = False
        self._ran_s = 0.0
        self._quota_s = params.hours_per_day * 3600.0
        self._from_s = int(params.window_from_h * 3600)
        self._to_s = int(params.window_to_h * 3600)
        self._running = False
        self._in_window = False

    def in_season(self, local_day: int) -> bool:
        """Whether the pump works on a local day."""
        m = civil_from_days(local_day)[1]
        a, b = self.p.season_from_month, self.p.season_to_month
        return a <= m <= b if a <= b else (m >= a or m <= b)

    def _close_day(self) -> None:
        if self._day is not None and self._in_season and self._ran_s < self._quota_s:
            self.stats.unmet_wh += (self._quota_s - self._ran_s) * self.rated_w / 3600.0
        self._ran_s = 0.0

    def wants_power(self) -> bool:
        """Whether the pump is in season, inside its window and short of its quota."""
        return self._in_season and self._ran_s < self._quota_s and self._in_window

    def step(self, t: int, dt: float, supplied: bool) -> tuple[float, float]:
        """Advance over [t, t + dt)."""
        ls = t + self.clock.offset_s(t)
        day = ls // DAY
        if day != self._day:
            self._close_day()
            self._day = day
            self._in_season = self.in_season(day)
        s = ls - day * DAY
        self._in_window = self._from_s <= s < self._to_s
        st = self.stats
        if not self.wants_power():
            self._running = False
            return 0.0, 0.0
        if not supplied:
            st.deferred_wh += min(dt, self._quota_s - self._ran_s) * self.rated_w / 3600.0
            self._running = False
            return 0.0, 0.0
        run = min(dt, self._quota_s - self._ran_s)
        self._ran_s += run
        if not self._running:
            st.starts += 1
        self._running = True
        st.run_s += run
        wh = run * self.rated_w / 3600.0
        st.served_wh += wh
        w = wh * 3600.0 / dt
        return w, w

    def flex_windows(self, t0: int, t1: int) -> list[tuple[int, int]]:
        """Return the timer windows of the in-season days overlapping [t0, t1), clipped."""
        out = []
        day = self.clock.local_day(t0)
        while self.clock.utc_of_local(day, 0) < t1:
            if self.in_season(day):
                a = self.clock.utc_of_local(day, self._from_s)
                b = self.clock.utc_of_local(day, self._to_s) if self._to_s < DAY else self.clock.utc_of_local(
                    day + 1, 0)
                if b > t0 and a < t1:
                    out.append((max(a, t0), min(b, t1)))
            day += 1
        return out
