# Daily Energy: the plug's own energy since local midnight, by the meter's clock.
#
# Pure and MicroPython-valid. Energy is an integer in mWh (the page shows kWh with 5 decimals, 10 mWh).
# The count belongs to a local calendar day (day number since 1970-01-01 in local time, EU DST rules via
# firmware/timebase.py). clock(t) with the meter's time (UTC epoch seconds) resets the count when t
# reaches the next local midnight: exactly once per local day, whether that day has 23, 24 or 25 hours,
# and never when the meter's clock steps back. A saved (day, mwh) pair restores it after a reboot: the
# same day keeps counting, a later day starts from zero at the first clock() call.
from firmware.timebase import CET, civil_from_days, local_day, local_to_utc


class DailyEnergy:

    def __init__(self, day=None, mwh=0, std=CET):
        self.std = std
        self.day = day          # local day number the count belongs to; None until the clock is known
        self.mwh = mwh
        self.resets = 0
        self._midnight = None if day is None else self._next_midnight(day)

    def _next_midnight(self, day):
        # Local midnight is never inside an EU DST change (those happen at 02:00/03:00 local).
        y, m, d = civil_from_days(day + 1)
        return local_to_utc(y, m, d, 0, 0, 0, None, self.std)

    def add(self, d_mwh):
        """Count d_mwh (>= 0) of the plug's energy into the current day."""
        self.mwh += d_mwh

    def clock(self, t):
        """The meter's time t (UTC s). True when this call started a new local day (count reset)."""
        if self._midnight is not None and t < self._midnight:
            return False
        day = local_day(t, self.std)
        if self.day is None:
            self.day = day
            self._midnight = self._next_midnight(day)
            return False
        if day <= self.day:
            return False
        self.day = day
        self.mwh = 0
        self.resets += 1
        self._midnight = self._next_midnight(day)
        return True

    def kwh_text(self):
        """The page's value: kWh with 5 decimals (rounded), e.g. '0.15689'."""
        from firmware.fixed import Dec
        return Dec(Dec(self.mwh, 6).scaled(5), 5).text()
