"""Capacity-tariff accounting: clock quarters (DST too), the 2.5 kW floor, the 12-month mean, the cost."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.timebase import local_to_utc
from hil.sim.capacity import (
    FLOOR_W,
    MonthPeak,
    Quarter,
    QuarterAccumulator,
    bill,
    billed_w,
    month_of,
    monthly_peaks,
    quarter_start,
    quarters_from_register,
    quarters_in_year,
    yearly_cost_eur,
)


def local(y, mo, d, h=0, mi=0, s=0):
    return local_to_utc(y, mo, d, h, mi, s)


def quarters_of_local_day(y, mo, d, watts=1000.0):
    """Integrate a constant import over one local day in 60 s steps; return the closed quarters."""
    a, b = local(y, mo, d), local(*_next_day(y, mo, d))
    acc = QuarterAccumulator()
    for t in range(a, b, 60):
        acc.add(t, t + 60, watts / 60.0)
    return acc.close()


def _next_day(y, mo, d):
    from firmware.timebase import civil_from_days, days_from_civil

    return civil_from_days(days_from_civil(y, mo, d) + 1)


def test_quarters_start_on_local_clock_quarters():
    for t in (local(2025, 1, 15, 10, 7, 31), local(2025, 7, 15, 10, 7, 31)):
        q = quarter_start(t)
        assert q == local(2025, 1 if t < local(2025, 3, 1) else 7, 15, 10, 0, 0)
    assert quarter_start(local(2025, 7, 15, 23, 59, 59)) == local(2025, 7, 15, 23, 45)


@pytest.mark.parametrize("day, n", [((2025, 3, 30), 92), ((2025, 10, 26), 100), ((2025, 6, 1), 96),
                                    ((2024, 3, 31), 92), ((2024, 10, 27), 100)])
def test_a_local_day_has_92_96_or_100_quarters_and_each_holds_a_quarter_of_an_hour(day, n):
    qs = quarters_of_local_day(*day, watts=2000.0)
    assert len(qs) == n
    assert all(q.start % 900 == 0 for q in qs)
    assert all(abs(q.import_wh - 500.0) < 1e-9 for q in qs)   # 2 kW x 1/4 h
    assert all(abs(q.power_w - 2000.0) < 1e-6 for q in qs)


def test_quarters_around_the_dst_changes_keep_their_local_wall_clock_labels():
    from firmware.timebase import local_fields

    spring = quarters_of_local_day(2025, 3, 30)
    walls = [local_fields(q.start)[3:5] for q in spring]
    assert (1, 45) in walls and (3, 0) in walls and (2, 0) not in walls   # 02:00-03:00 does not exist
    autumn = quarters_of_local_day(2025, 10, 26)
    walls = [local_fields(q.start)[3:5] for q in autumn]
    assert walls.count((2, 0)) == 2 and walls.count((2, 45)) == 2          # 02:00-03:00 happens twice


def test_a_quarter_belongs_to_the_local_month_it_starts_in():
    # 31 January 23:45 local (CET) = 22:45 UTC: January; 1 February 00:00 local = 23:00 UTC: February
    assert month_of(local(2025, 1, 31, 23, 45)) == (2025, 1)
    assert month_of(local(2025, 2, 1, 0, 0)) == (2025, 2)
    # summer time: 1 July 00:00 local is 30 June 22:00 UTC
    assert month_of(local(2025, 7, 1, 0, 0)) == (2025, 7)
    assert month_of(local(2025, 7, 1, 0, 0) - 1) == (2025, 6)
    qs = [Quarter(local(2025, 6, 30, 23, 45), 700.0), Quarter(local(2025, 7, 1, 0, 0), 900.0)]
    peaks = monthly_peaks(qs)
    assert [(p.year, p.month, p.peak_w) for p in peaks] == [(2025, 6, 2800.0), (2025, 7, 3600.0)]


def test_injection_does_not_offset_the_quarter():
    acc = QuarterAccumulator()
    t0 = local(2025, 6, 1, 12, 0)
    # 1 kWh imported in the first 5 minutes, then 10 minutes of export: only the import counts
    acc.add(t0, t0 + 300, 1000.0)
    acc.add(t0 + 300, t0 + 900, 0.0)
    (q,) = acc.close()
    assert q.import_wh == 1000.0 and q.power_w == 4000.0
    with pytest.raises(ValueError, match="injection does not offset"):
        QuarterAccumulator().add(t0, t0 + 60, -5.0)


def test_an_interval_across_a_boundary_is_split_in_proportion():
    acc = QuarterAccumulator()
    t0 = local(2025, 1, 10, 8, 10)          # 08:10 .. 08:20 local crosses 08:15
    acc.add(t0, t0 + 600, 100.0)
    qs = acc.close()
    assert [q.start for q in qs] == [local(2025, 1, 10, 8, 0), local(2025, 1, 10, 8, 15)]
    assert [q.import_wh for q in qs] == [50.0, 50.0]


def test_accumulator_refuses_time_going_back_and_says_where():
    acc = QuarterAccumulator()
    acc.add(1000 * 900, 1000 * 900 + 60, 1.0)
    with pytest.raises(ValueError, match="expected time order"):
        acc.add(1000 * 900, 1000 * 900 + 60, 1.0)
    with pytest.raises(ValueError, match="expected t0 <= t1"):
        acc.add(1000 * 900 + 120, 1000 * 900 + 60, 1.0)


def test_quarters_from_a_register_and_a_register_running_back():
    t0 = local(2025, 1, 10, 8, 0)
    qs = quarters_from_register([(t0, 5000.0), (t0 + 900, 5625.0), (t0 + 1800, 5700.0)])
    assert [q.power_w for q in qs] == [2500.0, 300.0]
    with pytest.raises(ValueError, match="ran backwards"):
        quarters_from_register([(t0, 5000.0), (t0 + 900, 4999.0)])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 4000), st.floats(0, 5000)), min_size=1, max_size=40))
def test_no_energy_is_lost_or_made_when_intervals_are_split(steps):
    acc = QuarterAccumulator()
    t = local(2025, 3, 30, 0, 7)        # through the spring DST change
    total = 0.0
    for dt, wh in steps:
        acc.add(t, t + dt, wh)
        t += dt
        total += wh
    qs = acc.close()
    assert abs(sum(q.import_wh for q in qs) - total) <= 1e-6 * max(1.0, total)
    assert all(q.start % 900 == 0 for q in qs)
    assert [q.start for q in qs] == sorted(set(q.start for q in qs))


def test_floor_of_2_5_kw():
    assert FLOOR_W == 2500.0
    assert billed_w(1800.0) == 2500.0
    assert billed_w(2500.0) == 2500.0
    assert billed_w(3200.0) == 3200.0
    (b,) = bill([MonthPeak(2025, 5, 1800.0, 0, 2976)])
    assert b.peak_w == 1800.0 and b.billed_w == 2500.0 and b.mean12_w == 2500.0


def test_mean_of_the_last_12_months_with_fewer_at_the_start():
    peaks = [MonthPeak(2024 + (m - 1) // 12, (m - 1) % 12 + 1, 1000.0 * m, 0, 2880) for m in range(1, 15)]
    bills = bill(peaks)
    billed = [max(2500.0, 1000.0 * m) for m in range(1, 15)]
    assert bills[0].months_in_mean == 1 and bills[0].mean12_w == 2500.0
    assert bills[2].mean12_w == pytest.approx(sum(billed[:3]) / 3)
    assert bills[11].months_in_mean == 12 and bills[11].mean12_w == pytest.approx(sum(billed[:12]) / 12)
    # month 13 drops month 1, month 14 drops month 2
    assert bills[12].months_in_mean == 12 and bills[12].mean12_w == pytest.approx(sum(billed[1:13]) / 12)
    assert bills[13].mean12_w == pytest.approx(sum(billed[2:14]) / 12)


def test_months_without_data_do_not_count_in_the_mean_and_history_does():
    peaks = [MonthPeak(2025, 1, 4000.0, 0, 2976), MonthPeak(2025, 4, 6000.0, 0, 2880)]
    bills = bill(peaks, history=[(2024, 12, 5000.0), (2023, 12, 9000.0)])
    assert bills[0].mean12_w == pytest.approx(4500.0)         # Dec 2024 + Jan 2025 (Dec 2023 too old)
    assert bills[1].mean12_w == pytest.approx(5000.0)         # Dec, Jan, Apr


def test_yearly_cost_at_the_default_55_eur_per_kw():
    # a whole year at a constant 4 kW billed peak costs 4 x 55 = 220 EUR
    peaks = []
    for m in range(1, 13):
        a = local(2025, m, 1)
        b = local(2025 + (m == 12), m % 12 + 1, 1)
        peaks.append(MonthPeak(2025, m, 4000.0, a, (b - a) // 900))
    assert sum(p.quarters for p in peaks) == quarters_in_year(2025) == 35040
    bills = bill(peaks)
    assert sum(b.charge_eur for b in bills) == pytest.approx(220.0)
    assert yearly_cost_eur(bills) == pytest.approx(220.0)
    assert yearly_cost_eur(bill(peaks, eur_per_kw_year=60.0)) == pytest.approx(240.0)
    # one month alone extrapolates to its own rate for a year
    assert yearly_cost_eur(bill(peaks[:1])) == pytest.approx(220.0)
    with pytest.raises(ValueError, match="EUR/kW/year >= 0"):
        bill(peaks, eur_per_kw_year=-1)
