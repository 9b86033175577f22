"""The prescient bound: exact on small hand-made cases, and never above what no control reaches."""

import pytest

from firmware.timebase import local_to_utc
from hil.sim.prescient import min_cap_w, prescient_peaks


def test_energy_spread_evenly_when_nothing_else_runs():
    # 1 kWh in 4 empty quarters at up to 2 kW: 250 Wh a quarter, a 1 kW cap
    assert min_cap_w(1000.0, 2000.0, [(0.0, 1.0)] * 4) == pytest.approx(1000.0, abs=1.0)


def test_the_cap_fills_around_the_base_load():
    # base 400 Wh (1.6 kW) in q1, empty q2..q4; 1 kWh to place: 3 x X/4 >= 1000 -> X = 1333 W (q1 is full
    # below 1.6 kW); 2 kWh: 3 x X/4 + (X/4 - 400) >= 2000 -> X = 2400 W
    parts = [(400.0, 1.0), (0.0, 1.0), (0.0, 1.0), (0.0, 1.0)]
    assert min_cap_w(1000.0, 4000.0, parts) == pytest.approx(4000.0 / 3, abs=1.0)
    assert min_cap_w(2000.0, 4000.0, parts) == pytest.approx(2400.0, abs=1.0)


def test_rated_power_limits_each_quarter_and_partial_quarters_count_in_part():
    # 1.5 kW appliance, 2 quarters, the second only half available: room 375 + 187.5 Wh
    assert min_cap_w(500.0, 1500.0, [(0.0, 1.0), (0.0, 0.5)]) == pytest.approx(1250.0, abs=1.0)
    with pytest.raises(ValueError, match="does not fit"):
        min_cap_w(600.0, 1500.0, [(0.0, 1.0), (0.0, 0.5)])


def test_export_in_a_quarter_absorbs_energy_for_free():
    # 300 Wh exported in q1 (net -300): 300 Wh fit there without any import
    assert min_cap_w(300.0, 2000.0, [(-300.0, 1.0)]) == pytest.approx(0.0, abs=1.0)
    assert min_cap_w(400.0, 2000.0, [(-300.0, 1.0)]) == pytest.approx(400.0, abs=1.0)


def test_month_bound_is_never_below_the_base_loads_own_peak_nor_above_the_uncontrolled_peak():
    t0 = local_to_utc(2025, 1, 1, 0, 0, 0)
    step = 60
    n = 2 * 1440
    base = [300.0] * n
    for i in range(18 * 60, 18 * 60 + 30):      # a 30-minute 3 kW cooking peak on day 1
        base[i] = 3300.0
    app = [0.0] * n
    for i in range(17 * 60 + 45, 19 * 60 + 45):  # uncontrolled: the 2 kW appliance runs right through it
        app[i] = 2000.0
    day = 86400
    peaks = prescient_peaks(t0, step, base, app, [(t0, t0 + day), (t0 + day, t0 + 2 * day)], 2000.0)
    (jan,) = peaks
    assert (jan.year, jan.month) == (2025, 1)
    assert jan.peak_w == pytest.approx(3300.0, abs=1.0)      # the cooking quarter; the 4 kWh moves away
    uncontrolled = max(sum(base[i] + app[i] for i in range(q, q + 15)) / 15 for q in range(0, n, 15))
    assert jan.peak_w <= uncontrolled


def test_a_window_across_a_month_boundary_only_needs_what_the_other_side_cannot_hold():
    t0 = local_to_utc(2025, 1, 31, 20, 0, 0)
    step = 60
    n = 8 * 60                                  # 20:00 .. 04:00 local, across 1 February 00:00
    base = [0.0] * n
    app = [2000.0] * (3 * 60) + [0.0] * (n - 3 * 60)   # 6 kWh drawn in January without control
    peaks = {(p.year, p.month): p.peak_w for p in prescient_peaks(t0, step, base, app, [(t0, t0 + n * 60)],
                                                                   2000.0)}
    # February's 4 h can hold 8 kWh at 2 kW, so January needs nothing, and the other way round
    assert peaks[(2025, 1)] == 0.0 and peaks[(2025, 2)] == 0.0
