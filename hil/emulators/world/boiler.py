"""An electric water heater (boiler) with its own thermostat, and the household's hot-water draws.

A fully mixed tank of ``volume_l`` litres: the element (``rated_w``) heats while the thermostat calls
(below ``setpoint_c - hysteresis_k`` until ``setpoint_c``) and the plug supplies it; the tank loses
``loss_w_per_k`` to the room. Draws are litres of water at ``use_c`` (40 degrees C, a shower): the tank
gives the hot share of it and refills with cold water. A draw the tank is too cold for is counted as
unmet energy (what it would have taken to reach ``use_c``).
"""

from __future__ import annotations

import attrs

from hil.emulators.world.appliance import Appliance, local_day_windows
from hil.emulators.world.clock import LocalClock
from hil.emulators.world.noise import rng, salt

_DRAW_SALT = salt("boiler-draws")
_WATER_KJ_PER_L_K = 4.186


def _windows(values: tuple[tuple[float, float], ...]) -> tuple[tuple[float, float], ...]:
    out = tuple((float(a), float(b)) for a, b in values)
    for a, b in out:
        if not 0 <= a < b <= 24:
            raise ValueError("a draw window needs 0 <= start < end <= 24 (local hours), got (%r, %r)"
                             % (a, b))
    return out


@attrs.frozen
class DrawKind:
    """A kind of hot-water use: litres at the use temperature, uses per day, local time windows."""

    name: str
    litres: float = attrs.field(validator=attrs.validators.gt(0))
    per_day: float = attrs.field(validator=attrs.validators.ge(0))
    windows: tuple[tuple[float, float], ...] = attrs.field(converter=_windows)


DEFAULT_DRAWS = (
    DrawKind("morning shower", 45.0, 0.9, ((6.5, 8.0),)),
    DrawKind("second shower", 40.0, 0.6, ((7.0, 8.5),)),
    DrawKind("evening shower or bath", 55.0, 0.6, ((19.0, 22.0),)),
    DrawKind("kitchen", 6.0, 4.0, ((7.0, 21.0),)),
)


@attrs.frozen
class BoilerParams:
    """A 150 l electric water heater, 2.4 kW, at 60 degrees C."""

    rated_w: float = attrs.field(default=2400.0, validator=attrs.validators.gt(0))
    volume_l: float = attrs.field(default=150.0, validator=attrs.validators.gt(0))
    setpoint_c: float = 60.0
    hysteresis_k: float = attrs.field(default=6.0, validator=attrs.validators.gt(0))
    cold_c: float = 10.0
    ambient_c: float = 18.0
    use_c: float = 40.0
    loss_w_per_k: float = attrs.field(default=1.4, validator=attrs.validators.ge(0))
    draws: tuple[DrawKind, ...] = DEFAULT_DRAWS


class Boiler(Appliance):
    """The water heater: stepped like every appliance; its draws are seeded per local day."""

    kind = "boiler"

    def __init__(self, params: BoilerParams, seed: int, clock: LocalClock | None = None,
                 name: str = "boiler") -> None:
        """Build a boiler that starts full and at its setpoint."""
        super().__init__(params, name, clock)
        self.seed = seed
        self.tank_c = params.setpoint_c
        self.calling = False
        self.heating = False
        self._cap_j_per_k = params.volume_l * _WATER_KJ_PER_L_K * 1000.0
        self._day: int | None = None
        self._draws: list[tuple[int, float]] = []
        self._i = 0
        self.drawn_l = 0.0

    def draws(self, local_day: int) -> list[tuple[int, float]]:
        """Return (UTC second, litres at use temperature) of each draw on a local day, seeded, sorted."""
        r = rng(self.seed, _DRAW_SALT, local_day)
        out = []
        for kind in self.p.draws:
            n = int(kind.per_day)
            if r.random() < kind.per_day - n:
                n += 1
            total = sum(b - a for a, b in kind.windows)
            for _ in range(n):
                u = r.random() * total
                h = kind.windows[-1][0]
                for a, b in kind.windows:
                    if u < b - a:
                        h = a + u
                        break
                    u -= b - a
                out.append((self.clock.utc_of_local(local_day, int(h * 3600)), kind.litres))
        out.sort()
        return out

    def wants_power(self) -> bool:
        """Whether the thermostat calls for heat."""
        return self.calling

    def _draw(self, litres: float) -> None:
        p = self.p
        t = self.tank_c
        self.drawn_l += litres
        if t <= p.use_c:
            self.stats.unmet_wh += litres * _WATER_KJ_PER_L_K * (p.use_c - t) / 3.6
            hot = litres
        else:
            hot = litres * (p.use_c - p.cold_c) / (t - p.cold_c)
        hot = min(hot, p.volume_l)
        self.tank_c = t - hot / p.volume_l * (t - p.cold_c)

    def step(self, t: int, dt: float, supplied: bool) -> tuple[float, float]:
        """Advance over [t, t + dt): draws due in the step, thermostat, element, standing loss."""
        p = self.p
        day = self.clock.local_day(t)
        if day != self._day:
            self._day = day
            self._draws = self.draws(day)
            self._i = 0
            while self._i < len(self._draws) and self._draws[self._i][0] < t:
                self._i += 1
        end = t + dt
        draws = self._draws
        while self._i < len(draws) and draws[self._i][0] < end:
            self._draw(draws[self._i][1])
            self._i += 1
        if self.tank_c < p.setpoint_c - p.hysteresis_k:
            self.calling = True
        elif self.tank_c >= p.setpoint_c:
            self.calling = False
        on = self.calling and supplied
        w = p.rated_w if on else 0.0
        st = self.stats
        if on:
            if not self.heating:
                st.starts += 1
            st.run_s += dt
            st.served_wh += w * dt / 3600.0
        elif self.calling:
            st.deferred_wh += p.rated_w * dt / 3600.0
        self.heating = on
        self.tank_c += (w - p.loss_w_per_k * (self.tank_c - p.ambient_c)) * dt / self._cap_j_per_k
        return w, w

    def flex_windows(self, t0: int, t1: int) -> list[tuple[int, int]]:
        """Return the local days: a day's heating may move anywhere within that day."""
        return local_day_windows(self.clock, t0, t1)
