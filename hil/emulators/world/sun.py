"""Sun position and clear-sky irradiance (NOAA/Spencer series; Haurwitz clear sky).

Accurate to a fraction of a degree, which is far below what cloud cover does to a PV panel. Angles in
radians inside, degrees in the parameters; times are UTC epoch seconds.
"""

from __future__ import annotations

import math

from firmware.timebase import civil_from_days, days_from_civil

DAY = 86400
_TWO_PI = 2 * math.pi


def day_angle(t: float) -> float:
    """Fractional year angle (radians) of UTC instant ``t``."""
    day = int(t // DAY)
    y = civil_from_days(day)[0]
    n = 366 if (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)) else 365
    doy = day - days_from_civil(y, 1, 1)
    return _TWO_PI / n * (doy + (t - day * DAY) / DAY)


def declination(g: float) -> float:
    """Solar declination (radians) for day angle ``g``."""
    return (0.006918 - 0.399912 * math.cos(g) + 0.070257 * math.sin(g) - 0.006758 * math.cos(2 * g)
            + 0.000907 * math.sin(2 * g) - 0.002697 * math.cos(3 * g) + 0.00148 * math.sin(3 * g))


def equation_of_time_min(g: float) -> float:
    """Equation of time (minutes) for day angle ``g``."""
    return 229.18 * (0.000075 + 0.001868 * math.cos(g) - 0.032077 * math.sin(g)
                     - 0.014615 * math.cos(2 * g) - 0.040849 * math.sin(2 * g))


def hour_angle(t: float, lon_deg: float, g: float) -> float:
    """Solar hour angle (radians, 0 at solar noon, positive in the afternoon)."""
    utc_min = (t % DAY) / 60.0
    true_solar_min = utc_min + equation_of_time_min(g) + 4.0 * lon_deg
    return math.radians(true_solar_min / 4.0 - 180.0)


def cos_zenith(t: float, lat_deg: float, lon_deg: float) -> float:
    """Cosine of the solar zenith angle (= sine of the elevation); negative when the sun is down."""
    g = day_angle(t)
    d = declination(g)
    h = hour_angle(t, lon_deg, g)
    phi = math.radians(lat_deg)
    return math.sin(phi) * math.sin(d) + math.cos(phi) * math.cos(d) * math.cos(h)


def elevation_deg(t: float, lat_deg: float, lon_deg: float) -> float:
    """Solar elevation above the horizon in degrees."""
    return math.degrees(math.asin(max(-1.0, min(1.0, cos_zenith(t, lat_deg, lon_deg)))))


def day_length_h(t: float, lat_deg: float) -> float:
    """Hours from sunrise to sunset (geometric, sun centre) on the day of ``t``."""
    d = declination(day_angle(t))
    x = -math.tan(math.radians(lat_deg)) * math.tan(d)
    x = max(-1.0, min(1.0, x))
    return 2.0 * math.degrees(math.acos(x)) / 15.0


def clear_sky_ghi(cz: float) -> float:
    """Haurwitz clear-sky global horizontal irradiance (W/m2) for cos(zenith) ``cz``."""
    if cz <= 0.0:
        return 0.0
    return 1098.0 * cz * math.exp(-0.057 / cz)


def cos_incidence(t: float, lat_deg: float, lon_deg: float, tilt_deg: float, azimuth_deg: float) -> float:
    """Cosine of the angle between the sun and a plane's normal.

    ``azimuth_deg``: 0 = facing south, -90 = east, +90 = west (Duffie & Beckman convention).
    """
    g = day_angle(t)
    d = declination(g)
    h = hour_angle(t, lon_deg, g)
    phi = math.radians(lat_deg)
    b = math.radians(tilt_deg)
    gam = math.radians(azimuth_deg)
    sd, cd = math.sin(d), math.cos(d)
    sp, cp = math.sin(phi), math.cos(phi)
    sb, cb = math.sin(b), math.cos(b)
    return (sd * sp * cb - sd * cp * sb * math.cos(gam) + cd * cp * cb * math.cos(h)
            + cd * sp * sb * math.cos(gam) * math.cos(h) + cd * sb * math.sin(gam) * math.sin(h))
