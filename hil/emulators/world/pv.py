"""PV production of a roof installation in Belgium (about 51 degrees N).

P = kWp x POA/1000 x performance ratio x temperature derate, capped by the inverter. POA (plane of
array irradiance) = beam on the tilted plane + isotropic sky diffuse + ground reflection, from the
clear-sky irradiance scaled by the clear-sky index of the cloud model. Defaults give about
900-1000 kWh per kWp per year, the usual figure for Flanders.
"""

from __future__ import annotations

import math

import attrs

from hil.emulators.world.climate import Clouds, Temperature
from hil.emulators.world.series import DAY, MINUTES, MinuteSeries
from hil.emulators.world.sun import day_angle, declination, equation_of_time_min


@attrs.frozen
class PVParams:
    """A PV installation: size (default none: give ``kwp``), orientation (south, 35 degrees), losses."""

    kwp: float = attrs.field(default=0.0, validator=attrs.validators.ge(0))
    tilt_deg: float = attrs.field(default=35.0, validator=attrs.validators.and_(
        attrs.validators.ge(0), attrs.validators.le(90)))
    azimuth_deg: float = attrs.field(default=0.0, validator=attrs.validators.and_(
        attrs.validators.ge(-180), attrs.validators.le(180)))
    lat_deg: float = 51.0
    lon_deg: float = 4.4
    performance_ratio: float = attrs.field(default=0.84, validator=attrs.validators.and_(
        attrs.validators.gt(0), attrs.validators.le(1)))
    inverter_kw: float | None = None
    temp_coeff_per_k: float = -0.004
    albedo: float = 0.2


class PVArray(MinuteSeries):
    """AC power (W, >= 0) of a PV installation, one value per minute (evaluated mid-minute)."""

    def __init__(self, params: PVParams, clouds: Clouds, temperature: Temperature) -> None:
        """PV driven by a cloud and a temperature model (share them with the household's world)."""
        super().__init__()
        self.p = params
        self.clouds = clouds
        self.temperature = temperature

    def power_w(self, t: int) -> float:
        """AC power in W at UTC second ``t``."""
        return self.value(t)

    def build_day(self, day: int) -> list[float]:
        """1440 minute powers of UTC day ``day``.

        Declination and equation of time are taken once per day (at noon UTC): the error is a few
        hundredths of a degree, far below what clouds do.
        """
        p = self.p
        if p.kwp == 0:
            return [0.0] * MINUTES
        g = day_angle(day * DAY + DAY // 2)
        d = declination(g)
        eot = equation_of_time_min(g)
        phi = math.radians(p.lat_deg)
        b = math.radians(p.tilt_deg)
        gam = math.radians(p.azimuth_deg)
        sd, cd = math.sin(d), math.cos(d)
        sp, cp = math.sin(phi), math.cos(phi)
        sb, cb = math.sin(b), math.cos(b)
        # cos(zenith) = za + zb cos h ; cos(incidence) = ia + ib cos h + ic sin h
        za, zb = sp * sd, cp * cd
        ia = sd * sp * cb - sd * cp * sb * math.cos(gam)
        ib = cd * cp * cb + cd * sp * sb * math.cos(gam)
        ic = cd * sb * math.sin(gam)
        k_tab = self.clouds.day_table(day)
        t_tab = self.temperature.day_table(day)
        cap_w = (p.inverter_kw if p.inverter_kw is not None else p.kwp) * 1000.0
        sky = (1 + cb) / 2
        ground = p.albedo * (1 - cb) / 2
        scale = p.kwp * p.performance_ratio
        tc = p.temp_coeff_per_k
        # hour angle of minute i (evaluated mid-minute), in radians: h0 + i * dh
        h0 = math.radians((0.5 + eot + 4.0 * p.lon_deg) / 4.0 - 180.0)
        dh = math.radians(0.25)
        cos, sin, exp = math.cos, math.sin, math.exp
        out = [0.0] * MINUTES
        for i in range(MINUTES):
            h = h0 + i * dh
            ch = cos(h)
            cz = za + zb * ch
            if cz <= 0.0:
                continue
            k = k_tab[i]
            ghi = 1098.0 * cz * exp(-0.057 / cz) * k
            diffuse_frac = 0.12 + 0.88 * (1.0 - k) ** 1.5 if k < 1.0 else 0.12
            dhi = ghi * diffuse_frac
            ci = ia + ib * ch + ic * sin(h)
            beam = (ghi - dhi) / (cz if cz > 0.065 else 0.065) * ci if ci > 0.0 else 0.0
            poa = beam + dhi * sky + ghi * ground
            w = scale * poa * (1.0 + tc * (t_tab[i] + 0.03 * poa - 25.0))
            out[i] = w if w < cap_w else cap_w
        return out
