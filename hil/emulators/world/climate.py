"""Outdoor temperature and cloudiness for central Belgium (Uccle, about 50.8 N 4.4 E).

Temperature (degrees C): a seasonal sinusoid fitted to the 1991-2020 Uccle normals (mean 10.6,
amplitude 7.6, coldest around 20 January), a daily swing (2.5 K in winter to 4.5 K in summer,
minimum at 06:00, maximum at 15:00 solar time) and a weather anomaly: the mean of five consecutive
daily Gaussian draws (standard deviation ``anomaly_k``), so cold and warm spells last several days.

Cloudiness is a clear-sky index k (0 = black sky, 1 = clear): each day is clear, mixed or overcast
with seasonal probabilities (Belgian winters are grey); inside a mixed day a two-state Markov chain
of sun and cloud spells (minutes long) gives the fast PV swings a self-consumption controller sees.
"""

from __future__ import annotations

import math

import attrs

from firmware.timebase import civil_from_days, days_from_civil
from hil.emulators.world.noise import rng, salt
from hil.emulators.world.series import DAY, MINUTES, MinuteSeries

_T_SALT = salt("temperature")
_K_SALT = salt("clouds")
_K_DAY_SALT = salt("cloud-day")
_TWO_PI = 2 * math.pi


def _pos(x: float) -> bool:
    return x > 0


@attrs.frozen
class ClimateParams:
    """Parameters of the climate model (defaults: central Belgium)."""

    mean_c: float = 10.6
    amplitude_c: float = 7.6
    coldest_doy: float = 20.0
    daily_swing_winter_k: float = 2.5
    daily_swing_summer_k: float = 4.5
    anomaly_k: float = attrs.field(default=3.0, validator=attrs.validators.ge(0))
    lon_deg: float = 4.4
    # probability of a clear / overcast day in mid-winter and mid-summer (the rest is mixed)
    p_clear_winter: float = attrs.field(default=0.08, validator=attrs.validators.and_(
        attrs.validators.ge(0), attrs.validators.le(1)))
    p_clear_summer: float = attrs.field(default=0.30, validator=attrs.validators.and_(
        attrs.validators.ge(0), attrs.validators.le(1)))
    p_overcast_winter: float = attrs.field(default=0.60, validator=attrs.validators.and_(
        attrs.validators.ge(0), attrs.validators.le(1)))
    p_overcast_summer: float = attrs.field(default=0.22, validator=attrs.validators.and_(
        attrs.validators.ge(0), attrs.validators.le(1)))


def _season(doy: float) -> float:
    """0 in mid-winter (around 21 December), 1 in mid-summer (around 21 June)."""
    return 0.5 - 0.5 * math.cos(_TWO_PI * (doy + 10) / 365.25)


class Temperature(MinuteSeries):
    """Outdoor air temperature in degrees C, one value per minute."""

    def __init__(self, seed: int, params: ClimateParams | None = None) -> None:
        """Build a seeded temperature model."""
        super().__init__()
        self.seed = seed
        self.p = params or ClimateParams()

    def _daily_noise(self, day: int) -> float:
        return rng(self.seed, _T_SALT, day).gauss(0.0, 1.0)

    def anomaly_k(self, day: int) -> float:
        """Return the weather anomaly of UTC day ``day`` in kelvin (five-day moving mean of daily draws)."""
        s = 0.0
        for k in range(5):
            s += self._daily_noise(day - k)
        return self.p.anomaly_k * s / math.sqrt(5.0)

    def build_day(self, day: int) -> list[float]:
        """1440 minute temperatures of UTC day ``day``."""
        p = self.p
        doy0 = day - _jan1(day) + 1
        a0 = self.anomaly_k(day)
        a1 = self.anomaly_k(day + 1)
        s0 = p.mean_c - p.amplitude_c * math.cos(_TWO_PI * (doy0 - p.coldest_doy) / 365.25) + a0
        s1 = p.mean_c - p.amplitude_c * math.cos(_TWO_PI * (doy0 + 1 - p.coldest_doy) / 365.25) + a1
        s = _season(doy0 + 0.5)
        half_swing = 0.5 * (p.daily_swing_winter_k + (p.daily_swing_summer_k - p.daily_swing_winter_k) * s)
        shape = _daily_shape(p.lon_deg)
        step = (s1 - s0) / MINUTES
        return [s0 + step * i + half_swing * shape[i] for i in range(MINUTES)]


_SHAPES: dict[float, list[float]] = {}


def _daily_shape(lon_deg: float) -> list[float]:
    """-1 at 06:00 solar time, +1 at 15:00, a cosine stretched over the two unequal halves; per UTC minute."""
    shape = _SHAPES.get(lon_deg)
    if shape is None:
        shape = []
        for i in range(MINUTES):
            solar_h = ((i + lon_deg * 4.0) / 60.0) % 24.0
            if 6.0 <= solar_h < 15.0:
                shape.append(-math.cos(math.pi * (solar_h - 6.0) / 9.0))
            else:
                h = solar_h - 15.0 if solar_h >= 15.0 else solar_h + 9.0
                shape.append(math.cos(math.pi * h / 15.0))
        _SHAPES[lon_deg] = shape
    return shape


class Clouds(MinuteSeries):
    """Clear-sky index k in [0.05, 1.05], one value per minute."""

    def __init__(self, seed: int, params: ClimateParams | None = None) -> None:
        """Build a seeded cloud model."""
        super().__init__()
        self.seed = seed
        self.p = params or ClimateParams()

    def day_kind(self, day: int) -> str:
        """'clear', 'mixed' or 'overcast' for UTC day ``day``."""
        p = self.p
        s = _season(day - _jan1(day) + 1)
        p_clear = p.p_clear_winter + (p.p_clear_summer - p.p_clear_winter) * s
        p_over = p.p_overcast_winter + (p.p_overcast_summer - p.p_overcast_winter) * s
        u = rng(self.seed, _K_DAY_SALT, day).random()
        if u < p_clear:
            return "clear"
        if u < p_clear + p_over:
            return "overcast"
        return "mixed"

    def build_day(self, day: int) -> list[float]:
        """1440 minute clear-sky indices of UTC day ``day``."""
        r = rng(self.seed, _K_SALT, day)
        rand = r.random
        kind = self.day_kind(day)
        out: list[float] = []
        add = out.append
        if kind == "clear":
            base = r.uniform(0.82, 0.95)
            return [base + 0.06 * rand() for _ in range(MINUTES)]
        if kind == "overcast":
            level = r.uniform(0.12, 0.35)
            for _ in range(MINUTES):
                level += 0.035 * (rand() - 0.5) + 0.02 * (0.24 - level)
                add(0.05 if level < 0.05 else (0.5 if level > 0.5 else level))
            return out
        # mixed: sun spells and cloud spells; the fraction of sun varies from day to day and with season
        season = _season(day - _jan1(day) + 1)
        sun_frac = r.uniform(0.15 + 0.2 * season, 0.55 + 0.3 * season)
        mean_spell = r.uniform(4.0, 20.0)
        p_leave_sun = 1.0 / (mean_spell * sun_frac / (1 - sun_frac) + 1.0)
        p_leave_cloud = 1.0 / (mean_spell + 1.0)
        sunny = rand() < sun_frac
        cloud_k = r.uniform(0.2, 0.45)
        for _ in range(MINUTES):
            if sunny:
                add(0.9 + 0.15 * rand())
                if rand() < p_leave_sun:
                    sunny = False
            else:
                k = cloud_k + 0.16 * (rand() - 0.5)
                add(k if k > 0.05 else 0.05)
                if rand() < p_leave_cloud:
                    sunny = True
        return out


def _jan1(day: int) -> int:
    """Day number of 1 January of the year that contains ``day``."""
    return days_from_civil(civil_from_days(day)[0], 1, 1)


__all__ = ["ClimateParams", "Temperature", "Clouds", "DAY"]
