"""Meter-state physics: energy is the integral of power, tariffs switch at the right local times (DST
days included), quarter-hour demand, monthly peak, history rollover, gas captures, per-phase rules."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.timebase import days_from_civil, local_fields, local_to_utc
from hil.emulators.p1.meter import HISTORY_MAX, MeterState, month_start_utc
from hil.emulators.p1.tariff import belgian_tariff, holiday


def local(y, mo, d, h=0, mi=0, s=0):
    return local_to_utc(y, mo, d, h, mi, s)


# ---- energy -------------------------------------------------------------------------------------------
def test_energy_is_the_integral_of_power_within_one_tariff():
    m = MeterState(local(2024, 1, 15, 10), import_wh=(1000, 2000), export_wh=(30, 40))
    steps = [(1, 3600), (2.5, 1440), (10, 720), (0.25, 14400), (60, 600), (0.001, 3_600_000)]
    want = 0
    for dt, w in steps:
        m.advance(dt, w, 0)
        want += w * dt / 3600
    assert m.import_wh == (1000 + round(want), 2000)
    assert m.export_wh == (30, 40)


def test_export_integrates_into_export_registers():
    m = MeterState(local(2024, 1, 15, 23))          # a Monday night: tariff 2
    m.advance(1800, 0, 5000)
    assert m.export_wh == (0, 2500)
    assert m.import_wh == (0, 0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 7_200_000), st.integers(0, 20_000)), min_size=1, max_size=30),
       st.integers(0, 86400 * 14))
def test_energy_integral_over_any_schedule_and_tariffs(steps, offset):
    m = MeterState(local(2024, 3, 20) + offset)
    imp = exp = 0
    for dt_ms, w in steps:
        m.advance(dt_ms / 1000, w, w // 3)
        imp += w * dt_ms
        exp += w // 3 * dt_ms
    # each register floors its own W*ms: the two together are at most 1 Wh short of the exact integral
    assert imp // 3_600_000 - 1 <= sum(m.import_wh) <= imp // 3_600_000
    assert exp // 3_600_000 - 1 <= sum(m.export_wh) <= exp // 3_600_000


def test_an_interval_crossing_the_morning_switch_is_split_at_0700():
    m = MeterState(local(2024, 1, 15, 6, 59, 30))    # Monday, winter
    m.advance(60, 3600, 0)                           # 30 s before and 30 s after 07:00
    assert m.import_wh == (30, 30)


# ---- tariffs ------------------------------------------------------------------------------------------
@pytest.mark.parametrize('when, tariff', [
    ((2024, 1, 15, 6, 59, 59), 2), ((2024, 1, 15, 7, 0, 0), 1),      # Monday morning
    ((2024, 1, 19, 21, 59, 59), 1), ((2024, 1, 19, 22, 0, 0), 2),    # Friday evening
    ((2024, 1, 20, 12, 0, 0), 2), ((2024, 1, 21, 12, 0, 0), 2),      # weekend middays
    ((2024, 1, 22, 0, 0, 0), 2), ((2024, 1, 22, 7, 0, 0), 1),        # Monday after the weekend
])
def test_belgian_day_night_switching(when, tariff):
    assert belgian_tariff(local(*when)) == tariff


def test_tariff_follows_local_time_across_dst():
    # Monday after spring forward (2024-03-31): 07:00 CEST = 05:00 UTC
    summer_monday = days_from_civil(2024, 4, 1) * 86400
    assert belgian_tariff(summer_monday + 5 * 3600 - 1) == 2
    assert belgian_tariff(summer_monday + 5 * 3600) == 1
    assert belgian_tariff(summer_monday + 20 * 3600) == 2          # 22:00 CEST = 20:00 UTC
    # Monday after fall back (2024-10-27): 07:00 CET = 06:00 UTC
    winter_monday = days_from_civil(2024, 10, 28) * 86400
    assert belgian_tariff(winter_monday + 6 * 3600 - 1) == 2
    assert belgian_tariff(winter_monday + 6 * 3600) == 1
    assert belgian_tariff(winter_monday + 21 * 3600) == 2          # 22:00 CET = 21:00 UTC


def test_meter_registers_switch_at_0700_local_on_the_monday_after_spring_forward():
    start = days_from_civil(2024, 4, 1) * 86400 + 4 * 3600        # 06:00 CEST
    m = MeterState(start)
    for _ in range(120):                                           # 2 h in 60 s steps at 3.6 kW
        m.advance(60, 3600, 0)
    assert m.import_wh == (3600, 3600)                             # 06:00-07:00 night, 07:00-08:00 day


def test_the_dst_sundays_are_night_all_day():
    for y, mo, d in ((2024, 3, 31), (2024, 10, 27)):
        m = MeterState(local(y, mo, d))
        m.advance(86400, 1000, 0)
        assert m.import_wh[0] == 0
        # 23 h on the spring day, 25 h on the autumn day: 86400 s of meter time is one day of UTC
        assert m.import_wh[1] == 24_000


def test_listed_holidays_are_night():
    may_day = holiday(2024, 5, 1)                                  # a Wednesday
    assert belgian_tariff(local(2024, 5, 1, 12)) == 1
    assert belgian_tariff(local(2024, 5, 1, 12), holidays={may_day}) == 2
    m = MeterState(local(2024, 5, 1, 12), holidays=[may_day])
    m.advance(3600, 1000, 0)
    assert m.import_wh == (0, 1000)
    assert m.tariff == 2


# ---- capacity: quarter-hour demand, monthly peak, history -----------------------------------------------
def test_demand_is_the_average_of_the_running_quarter():
    m = MeterState(local(2024, 2, 5, 10, 0, 0))
    m.advance(300, 0, 0)
    assert m.demand_w == 0
    m.advance(300, 3000, 0)
    assert m.demand_w == 1500                                      # 3000 W for 5 of 10 minutes
    m.advance(150, 6000, 0)
    assert m.demand_w == 2400                                      # (900 + 900) kWs / 750 s
    m.advance(150, 0, 0)                                           # quarter closes at 10:15
    assert m.quarter_start == local(2024, 2, 5, 10, 15)
    assert m.last_quarter_w == 2000                                # 0.5 kWh in the quarter x 4
    assert m.demand_w == 2000                                      # no time in the new quarter yet
    assert m.peak == (local(2024, 2, 5, 10, 15), 2000)              # stamped at the quarter's end


def test_injection_does_not_count_in_demand():
    m = MeterState(local(2024, 2, 5, 10))
    m.advance(900, 0, 8000)
    assert m.last_quarter_w == 0 and m.peak[1] == 0


def test_month_peak_keeps_the_highest_quarter_and_its_time():
    m = MeterState(local(2024, 2, 5, 10))
    for w in (1000, 4000, 2500, 3999):
        m.advance(900, w, 0)
    assert m.peak == (local(2024, 2, 5, 10, 30), 4000)


def test_monthly_rollover_at_local_midnight_moves_the_peak_to_history():
    m = MeterState(local(2024, 1, 31, 23, 0))
    m.advance(1800, 1000, 0)                                        # 23:00-23:30
    m.advance(900, 5000, 0)                                         # 23:30-23:45: January's peak
    m.advance(900, 6000, 0)                                         # 23:45-00:00: ends at the boundary
    assert m.history == [(local(2024, 2, 1), local(2024, 2, 1), 6000)]
    assert m.peak == (local(2024, 2, 1), 0)                         # February starts empty
    m.advance(900, 2000, 0)
    assert m.peak == (local(2024, 2, 1, 0, 15), 2000)


def test_a_month_without_import_closes_with_zero_at_its_start():
    m = MeterState(local(2024, 6, 30, 23))
    m.advance(7200, 0, 1000)
    month_start = month_start_utc(local(2024, 6, 30, 23))
    assert m.history == [(local(2024, 7, 1), month_start, 0)]


def test_history_keeps_13_months_oldest_first():
    start = local(2023, 1, 1)
    m = MeterState(start)
    t = start
    for _ in range(15 * 31 * 24):                                  # ~15 months in hourly steps
        y, mo = local_fields(t)[:2]
        m.advance(3600, 1000 + mo * 100 + (y - 2023) * 10, 0)
        t += 3600
    assert len(m.history) == HISTORY_MAX
    starts = [h.month_start for h in m.history]
    assert starts == sorted(starts)
    first = local_fields(starts[0])[:3]
    for i, h in enumerate(m.history):
        y, mo, d = local_fields(h.month_start)[:3]
        assert d == 1 and (y * 12 + mo) - (first[0] * 12 + first[1]) == i
        closed_y, closed_mo = (y, mo - 1) if mo > 1 else (y - 1, 12)
        assert h.peak_w == 1000 + closed_mo * 100 + (closed_y - 2023) * 10
        assert month_start_utc(h.peak_at - 1) == month_start_utc(h.month_start - 1)  # peak in its month


def test_history_given_at_start_is_capped_and_kept():
    hist = [(local(2022, mo, 1), None, mo) for mo in range(1, 13)] + [(local(2023, 1, 1), None, 0),
                                                                      (local(2023, 2, 1), None, 0)]
    m = MeterState(local(2023, 2, 10), history=hist)
    assert len(m.history) == 13 and m.history[0].peak_w == 2


# ---- gas -------------------------------------------------------------------------------------------------
def test_gas_reading_is_captured_on_its_own_clock():
    m = MeterState(local(2024, 1, 15, 10, 0, 30), gas_dm3=1000, gas_period_s=300, gas_offset_s=2)
    assert m.gas_reading == (local(2024, 1, 15, 10, 0, 2), 1000)
    m.advance(600, 0, 0, gas_dm3_h=600)                             # 10 dm3 per minute
    assert m.gas_dm3 == 1100
    # captured at 10:10:02, 572 s after the start: 572 s * 600 dm3/h = 95.3 dm3
    assert m.gas_reading == (local(2024, 1, 15, 10, 10, 2), 1095)


def test_hourly_gas_capture():
    m = MeterState(local(2024, 1, 15, 10, 30), gas_period_s=3600)
    m.advance(3600, 0, 0, gas_dm3_h=1200)
    assert m.gas_reading == (local(2024, 1, 15, 11), 600)
    assert m.gas_dm3 == 1200


# ---- phases, voltage, current ---------------------------------------------------------------------------
def test_totals_are_spread_over_the_phases():
    m = MeterState(local(2024, 1, 15, 10))
    m.advance(1, 1000, 0)
    assert m.phase_import_w == (334, 333, 333)


def test_phases_alone_are_netted_like_a_belgian_meter():
    m = MeterState(local(2024, 1, 15, 10))
    m.advance(3600, phase_import_w=(2000, 0, 500), phase_export_w=(0, 1500, 0))
    assert (m.import_w, m.export_w) == (1000, 0)
    assert m.import_wh == (1000, 0)
    m.advance(1, phase_import_w=(0, 0, 0), phase_export_w=(100, 100, 100))
    assert (m.import_w, m.export_w) == (0, 300)


def test_current_follows_power_and_voltage():
    m = MeterState(local(2024, 1, 15, 10), phases=1)
    m.advance(1, 2300, 0, voltage_v=230)
    assert m.current_ca == (1000,)
    m.advance(1, 0, 1150, voltage_v=230)
    assert m.current_ca == (500,)


@pytest.mark.parametrize('kwargs, message', [
    ({'import_w': -1}, 'import_w: expected a power >= 0 W'),
    ({'import_w': 100, 'phase_import_w': (10, 10, 10)}, 'totals say net 100 W'),
    ({'phase_import_w': (1, 2)}, 'phase_import_w: expected 3 values'),
    ({'voltage_v': -230}, 'voltage_v: expected >= 0 V'),
    ({'gas_dm3_h': -5}, 'gas_dm3_h: expected a flow >= 0'),
])
def test_bad_input_is_refused_and_changes_nothing(kwargs, message):
    m = MeterState(local(2024, 1, 15, 10))
    m.advance(60, 1000, 0)
    before = (m.t_ms, m.import_wh, m.import_w, m.phase_import_w, m.voltage_dv, m.gas_reading)
    with pytest.raises(ValueError, match=message):
        m.advance(60, **kwargs)
    assert (m.t_ms, m.import_wh, m.import_w, m.phase_import_w, m.voltage_dv, m.gas_reading) == before
    with pytest.raises(ValueError, match='dt_s: expected >= 0'):
        m.advance(-1, 0, 0)


def test_constructor_checks():
    with pytest.raises(ValueError, match='phases'):
        MeterState(0, phases=2)
    with pytest.raises(ValueError, match='import_wh'):
        MeterState(0, import_wh=(-1, 0))
    with pytest.raises(ValueError, match='gas capture'):
        MeterState(0, gas_period_s=300, gas_offset_s=300)
    with pytest.raises(ValueError, match='voltage_v: expected 3 values'):
        MeterState(0, voltage_v=(230, 230))
    with pytest.raises(ValueError, match='voltage_v: expected >= 0 V'):
        MeterState(0, phases=1, voltage_v=-1)
    with pytest.raises(ValueError, match='std'):
        MeterState(0, std=61)


def test_power_failures_are_counted_and_long_ones_logged():
    m = MeterState(local(2024, 1, 15, 10))
    m.advance(60, 1000, 0)
    m.power_failure(30)
    m.power_failure(600)
    assert (m.power_failures, m.long_power_failures) == (2, 1)
    assert m.failure_log == [(local(2024, 1, 15, 10, 11, 30), 600)]
    assert m.import_w == 0
    for _ in range(12):
        m.power_failure(200)
    assert len(m.failure_log) == 10 and m.long_power_failures == 13
