"""Capacity-tariff accounting (Flanders, since 2023), pure.

- Quarter-hours are fixed clock quarters. Belgian local time is UTC + 1 h or + 2 h, so local quarters
  start where UTC quarters start (``t % 900 == 0``); a 23-hour day has 92 quarters, a 25-hour day 100.
- Quarter power = imported kWh in the quarter x 4. Only the import register counts: energy exported in
  the same quarter does not offset it (injection does not lower the capacity term).
- The monthly peak is the highest quarter power of the local calendar month (a quarter belongs to the
  month of its local start); the bill counts at least ``FLOOR_W`` (2.5 kW) for a month.
- The capacity term of a month uses the mean of the billed peaks of that month and the 11 before it
  (calendar months; at the start of a history, the months there are); it is charged at
  ``eur_per_kw_year`` pro rata of the month's share of the year (``quarters / quarters in the year``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from firmware.timebase import CET, days_from_civil, local_fields

QUARTER_S = 900
FLOOR_W = 2500.0
DEFAULT_EUR_PER_KW_YEAR = 55.0
WINDOW_MONTHS = 12


def quarter_start(t: int) -> int:
    """Return the start of the clock quarter-hour holding UTC second ``t``."""
    return t - t % QUARTER_S


class Quarter(NamedTuple):
    """One clock quarter-hour: its UTC start and the energy imported in it."""

    start: int
    import_wh: float

    @property
    def power_w(self) -> float:
        """Return the quarter power in W (imported Wh x 4)."""
        return self.import_wh * 4.0


class QuarterAccumulator:
    """Integrates imported energy into clock quarters; closed quarters land in ``quarters``.

    ``add(t0, t1, wh)`` says ``wh`` was imported evenly over [t0, t1); an interval that crosses a quarter
    boundary is split there in proportion to time. Intervals must come in time order. A quarter with no
    data at all does not appear; a quarter with some data counts what it got (like a meter after an
    outage).
    """

    def __init__(self) -> None:
        """Start with no quarters."""
        self.quarters: list[Quarter] = []
        self._q: int | None = None
        self._wh = 0.0
        self._t = -(1 << 62)

    def add(self, t0: int, t1: int, import_wh: float) -> None:
        """Add ``import_wh`` (>= 0) imported evenly over [t0, t1)."""
        if t1 < t0:
            raise ValueError("quarter accounting: expected t0 <= t1, got [%d, %d)" % (t0, t1))
        if t0 < self._t:
            raise ValueError("quarter accounting: expected time order, got [%d, %d) after data up to %d"
                             % (t0, t1, self._t))
        if not import_wh >= 0:
            raise ValueError("quarter accounting: expected imported Wh >= 0 over [%d, %d), got %r (injection "
                             "does not offset: pass the import register's increase only)"
                             % (t0, t1, import_wh))
        self._t = t1
        q = t0 - t0 % QUARTER_S
        if q != self._q:
            self._roll(q)
        if t1 <= q + QUARTER_S:
            self._wh += import_wh
            return
        span = t1 - t0
        while t0 < t1:
            q_end = q + QUARTER_S
            seg = (q_end if q_end < t1 else t1) - t0
            self._wh += import_wh * seg / span
            t0 += seg
            if t0 < t1:
                q = q_end
                self._roll(q)

    def _roll(self, q: int) -> None:
        if self._q is not None:
            self.quarters.append(Quarter(self._q, self._wh))
        self._q = q
        self._wh = 0.0

    def close(self) -> list[Quarter]:
        """Close the running quarter (possibly partial) and return all quarters."""
        if self._q is not None:
            self.quarters.append(Quarter(self._q, self._wh))
            self._q = None
            self._wh = 0.0
        return self.quarters

    def current(self) -> Quarter | None:
        """Return the running (not yet closed) quarter so far, or None."""
        return None if self._q is None else Quarter(self._q, self._wh)


def quarters_from_register(samples: Iterable[tuple[int, float]]) -> list[Quarter]:
    """Quarters from readings (t, cumulative import Wh) of an import register, in time order.

    Energy between two readings is spread evenly over the time between them. A register that goes
    down is an error (a meter register never runs backwards).
    """
    acc = QuarterAccumulator()
    prev: tuple[int, float] | None = None
    for t, wh in samples:
        if prev is not None:
            if wh < prev[1]:
                raise ValueError("import register ran backwards at %d: %r Wh after %r Wh" % (t, wh, prev[1]))
            acc.add(prev[0], t, wh - prev[1])
        prev = (t, wh)
    return acc.close()


class MonthPeak(NamedTuple):
    """The highest quarter of a local calendar month."""

    year: int
    month: int
    peak_w: float
    peak_start: int | None
    quarters: int


def month_of(t: int, std: int = CET) -> tuple[int, int]:
    """Return the local (year, month) of UTC second ``t``."""
    f = local_fields(t, std)
    return f[0], f[1]


def monthly_peaks(quarters: Iterable[Quarter], std: int = CET) -> list[MonthPeak]:
    """Return the peak quarter of each local month with data, in month order."""
    best: dict[tuple[int, int], list] = {}
    for q in quarters:
        key = month_of(q.start, std)
        cur = best.get(key)
        p = q.import_wh * 4.0
        if cur is None:
            best[key] = [p, q.start, 1]
        else:
            cur[2] += 1
            if p > cur[0]:
                cur[0] = p
                cur[1] = q.start
    return [MonthPeak(k[0], k[1], v[0], v[1], v[2]) for k, v in sorted(best.items())]


def billed_w(peak_w: float, floor_w: float = FLOOR_W) -> float:
    """Return the peak a month is billed for: at least ``floor_w``."""
    return peak_w if peak_w > floor_w else floor_w


def _month_index(y: int, m: int) -> int:
    return y * 12 + (m - 1)


def quarters_in_year(y: int) -> int:
    """Return the number of quarter-hours in calendar year ``y`` (35,040 or 35,136)."""
    return (days_from_civil(y + 1, 1, 1) - days_from_civil(y, 1, 1)) * 96


class MonthBill(NamedTuple):
    """The capacity term of one month."""

    year: int
    month: int
    peak_w: float
    billed_w: float
    mean12_w: float
    months_in_mean: int
    charge_eur: float
    quarters: int


def bill(peaks: Iterable[MonthPeak], eur_per_kw_year: float = DEFAULT_EUR_PER_KW_YEAR,
         floor_w: float = FLOOR_W, history: Iterable[tuple[int, int, float]] = ()) -> list[MonthBill]:
    """Bill each month of ``peaks``: billed peak, mean of the last 12 months, charge in EUR.

    ``history`` adds earlier months as (year, month, peak W) that count in the 12-month mean but are not
    billed here. A month's charge is ``mean12 kW x eur_per_kw_year x quarters / quarters in the year``:
    the share of the year the month's data covers.
    """
    if eur_per_kw_year < 0:
        raise ValueError("capacity tariff: expected EUR/kW/year >= 0, got %r" % eur_per_kw_year)
    billed: dict[int, float] = {}
    for y, m, p in history:
        billed[_month_index(y, m)] = billed_w(p, floor_w)
    out = []
    for pk in peaks:
        idx = _month_index(pk.year, pk.month)
        b = billed_w(pk.peak_w, floor_w)
        billed[idx] = b
        window = [billed[i] for i in range(idx - WINDOW_MONTHS + 1, idx + 1) if i in billed]
        mean = sum(window) / len(window)
        charge = mean / 1000.0 * eur_per_kw_year * pk.quarters / quarters_in_year(pk.year)
        out.append(MonthBill(pk.year, pk.month, pk.peak_w, b, mean, len(window), charge, pk.quarters))
    return out


def yearly_cost_eur(bills: list[MonthBill]) -> float:
    """Return the capacity cost per year at the billed months' rate: their charges scaled to 365 days.

    For a whole calendar year this is the sum of the monthly charges; for a shorter run it is what a
    year of such months would cost.
    """
    q = sum(b.quarters for b in bills)
    if q == 0:
        return 0.0
    return sum(b.charge_eur for b in bills) * 35040.0 / q
