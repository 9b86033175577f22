"""Per-day cached minute series: the shape shared by the random-access world models.

A model computes a whole UTC day of one-minute values at once (cheap, and lets it run a small
seeded Markov chain inside the day) and answers ``value(t)`` for any instant from that table. The
value is constant within a minute, which is finer than anything the capacity tariff or the
controller resolves (quarter-hours, intervals of 1 min and more).
"""

from __future__ import annotations

from collections import OrderedDict

DAY = 86400
MINUTES = 1440


class MinuteSeries:
    """Base class: subclasses implement ``build_day(day) -> list[float]`` of 1440 values."""

    cache_days = 4

    def __init__(self) -> None:
        """Start with an empty cache."""
        self._cache: OrderedDict[int, list[float]] = OrderedDict()
        self._day = -(1 << 62)
        self._table: list[float] = []

    def build_day(self, day: int) -> list[float]:
        """Return the 1440 one-minute values of UTC day ``day`` (days since 1970-01-01)."""
        raise NotImplementedError

    def day_table(self, day: int) -> list[float]:
        """Return the cached table of UTC day ``day``."""
        table = self._cache.get(day)
        if table is None:
            table = self.build_day(day)
            if len(table) != MINUTES:
                raise ValueError("%s.build_day(%d) gave %d values, expected %d"
                                 % (type(self).__name__, day, len(table), MINUTES))
            self._cache[day] = table
            while len(self._cache) > self.cache_days:
                self._cache.popitem(last=False)
        return table

    def value(self, t: int) -> float:
        """Return the model's value at UTC epoch second ``t`` (constant within each minute)."""
        day = t // DAY
        if day != self._day:
            self._table = self.day_table(day)
            self._day = day
        return self._table[(t - day * DAY) // 60]

    def mean(self, t0: int, t1: int, step: int = 60) -> float:
        """Mean value over [t0, t1) sampled every ``step`` seconds."""
        n = 0
        s = 0.0
        for t in range(t0, t1, step):
            s += self.value(t)
            n += 1
        if n == 0:
            raise ValueError("empty range [%d, %d)" % (t0, t1))
        return s / n
