"""Local wall time for the world models: Belgian civil time (CET/CEST) from UTC epoch seconds.

A thin, cached layer over ``firmware.timebase`` (the same EU DST rule the firmware uses), fast enough to
be called for every simulated minute.
"""

from __future__ import annotations

from firmware.timebase import CET, civil_from_days, days_from_civil, dst_bounds_utc

DAY = 86400


class LocalClock:
    """UTC epoch seconds -> local offset, local day, minute of day, weekday, day of year."""

    def __init__(self, std_min: int = CET) -> None:
        """Build a clock for a zone ``std_min`` minutes east of UTC that follows the EU DST rule."""
        self.std_s = std_min * 60
        self._lo = 1
        self._hi = 0
        self._off = self.std_s

    def offset_s(self, t: int) -> int:
        """Seconds to add to UTC ``t`` to get local wall time."""
        if self._lo <= t < self._hi:
            return self._off
        y = civil_from_days(t // DAY)[0]
        start, end = dst_bounds_utc(y)
        if t < start:
            self._lo, self._hi, self._off = dst_bounds_utc(y - 1)[1], start, self.std_s
        elif t < end:
            self._lo, self._hi, self._off = start, end, self.std_s + 3600
        else:
            self._lo, self._hi, self._off = end, dst_bounds_utc(y + 1)[0], self.std_s
        return self._off

    def local_s(self, t: int) -> int:
        """Local wall time of ``t`` as seconds since 1970-01-01 00:00 local."""
        return t + self.offset_s(t)

    def local_day(self, t: int) -> int:
        """Local calendar day number (days since 1970-01-01) of ``t``."""
        return self.local_s(t) // DAY

    @staticmethod
    def weekday(day: int) -> int:
        """0 = Monday ... 6 = Sunday of a day number."""
        return (day + 3) % 7

    @staticmethod
    def day_of_year(day: int) -> int:
        """1 ... 366: the day of year of a day number."""
        y = civil_from_days(day)[0]
        return day - days_from_civil(y, 1, 1) + 1

    def utc_of_local(self, day: int, second_of_day: int) -> int:
        """UTC instant of local wall time ``second_of_day`` on local ``day`` (skipped hour: standard time)."""
        wall = day * DAY + second_of_day
        t = wall - self.std_s - 3600
        if self.offset_s(t) == self.std_s + 3600:
            return t
        return wall - self.std_s
