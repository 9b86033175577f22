"""The manual's worked examples (section 6), closed loop through the firmware controller, with numbers.

A constant world makes every number checkable by hand: a steady household load, steady PV, and a
steady 2 kW appliance that always wants power (a pool heat pump with a 24 h quota).
"""

import pytest

from firmware.timebase import local_to_utc
from hil.sim.capacity import FLOOR_W, monthly_peaks
from hil.sim.deciders import FirmwareDecider, NaiveThreshold, PlugSettings
from hil.sim.engine import simulate
from test_suites.sim.flat_world import FlatSite, always_on_load


def appliance_2kw():
    return always_on_load(2000.0)


T0 = local_to_utc(2025, 6, 2, 12, 0, 0)


def run(settings, house_w, pv_w, minutes, decider=FirmwareDecider):
    d = decider(settings, timeout_s=60) if decider is FirmwareDecider else decider(settings)
    return simulate(FlatSite(house_w, pv_w), appliance_2kw(), d, T0, T0 + 60 * minutes, poll_s=60), d


def test_peak_shaving_threshold_is_the_floor_for_a_quarter():
    s = PlugSettings("0.625", "0.625", 15)
    fw = s.firmware()
    assert fw.off_wh == 625 == round(FLOOR_W * 0.25)            # 2.5 kW x 1/4 h = 0.625 kWh
    assert NaiveThreshold(s).p_off_w == 2500.0                  # the same threshold as a power


def test_peak_shaving_switches_the_heater_off_above_0_625_kwh_and_c_keeps_it_off():
    # house 2.2 kW + 2 kW appliance: the first decision (E 0.550 + C 0 < 0.625) turns it on, the next
    # quarter holds 4.2 kW x 1/4 h = 1.050 kWh > 0.625: off; then E + C = 0.550 + 0.500 >= 0.625: stays off
    r, d = run(PlugSettings("0.625", "0.625", 15), 2200, 0, 8 * 15)
    assert r.switch_times == [T0 + 900, T0 + 1800]
    assert d.controller.c_mwh == 500000                          # 2 kW x 1/4 h measured by the plug
    powers = [round(q.power_w) for q in r.quarters]
    assert powers == [2200, 4200] + [2200] * 6
    (peak,) = monthly_peaks(r.quarters)
    assert round(peak.peak_w) == 4200


def test_peak_shaving_keeps_the_appliance_on_while_the_quarter_stays_under_2_5_kw():
    # house 0.4 kW + 2 kW: E = 0.600 kWh <= 0.625 every quarter; quarter power 2.4 kW, under the floor
    r, _ = run(PlugSettings("0.625", "0.625", 15), 400, 0, 8 * 15)
    assert r.switch_times == [T0 + 900]
    assert [round(q.power_w) for q in r.quarters][1:] == [2400] * 7
    assert r.appliance["served_wh"] == pytest.approx(7 * 500.0)


def test_two_thresholds_with_the_margin_of_one_interval():
    # ON 0.125 = OFF 0.625 - 2 kW x 1/4 h: with a 2.2 kW house (E 0.550) the appliance never starts
    r, _ = run(PlugSettings("0.125", "0.625", 15), 2200, 0, 8 * 15)
    assert r.switches == 0 and r.appliance["served_wh"] == 0
    # with a 0.3 kW house (E 0.075 < 0.125) it starts, and E = 0.575 <= 0.625 keeps it on
    r, _ = run(PlugSettings("0.125", "0.625", 15), 300, 0, 8 * 15)
    assert r.switch_times == [T0 + 900]


def test_self_consumption_minus_0_200_kwh_needs_the_full_2_kw_of_surplus():
    s = PlugSettings("-0.200", "0.000", 6)
    assert s.firmware().on_wh == -200                            # 2 kW x 1/10 h
    # 1.7 kW surplus (85 %): E = -0.170 kWh per 6 min, not below -0.200: stays off
    r, _ = run(s, 300, 2000, 60)
    assert r.switches == 0
    # 2.2 kW surplus: E = -0.220 < -0.200: on at the first decision; then E = (0.3 + 2 - 2.5) kW x 0.1 h
    # = -0.020 <= 0.000: stays on
    r, _ = run(s, 300, 2500, 60)
    assert r.switch_times == [T0 + 360]
    assert r.energy.export_wh == pytest.approx(2200 * 0.1 + 200 * 0.9, abs=1e-6)


def test_self_consumption_at_80_percent_minus_0_160_kwh():
    s = PlugSettings("-0.160", "0.040", 6)
    assert s.firmware().on_wh == -160                            # -2 kW x 0.80 x 1/10 h
    # 1.7 kW surplus: E = -0.170 < -0.160: on; then E = (0.3 + 2 - 2) kW x 0.1 h = +0.030 <= +0.040: stays on
    r, _ = run(s, 300, 2000, 60)
    assert r.switch_times == [T0 + 360]
    assert r.energy.appliance_solar_share() == pytest.approx(1700.0 / 2000.0, rel=1e-6)
    # the same ON with OFF 0.000 (margin 0.160 < the appliance's 0.200 kWh per interval) flaps
    r, _ = run(PlugSettings("-0.160", "0.000", 6), 300, 2000, 60)
    assert r.switch_times == [T0 + 360 * k for k in range(1, 10)]


def test_simplified_self_consumption_uses_the_plugs_own_energy():
    # ON = OFF = 0.000: after one full ON interval C = 0.200 kWh, so it comes back on only with a surplus
    # above the appliance's own 2 kW (E + C < 0); with 2.5 kW of surplus it stays on (E = -0.050 <= 0)
    r, d = run(PlugSettings("0.000", "0.000", 6), 300, 2800, 60)
    assert r.switch_times == [T0 + 360]
    assert d.controller.c_mwh == 200000


def test_a_meter_outage_in_closed_loop_ends_in_the_fail_safe_and_recovers():
    # house 0.4 kW + 2 kW: on at 12:15 (E 0.100 + C 0 < 0.625) and on it stays (E 0.600 <= 0.625).
    # No readings from 12:30 to 14:30: Disconnected, and failsafe_n = 4 intervals of 15 min after the last
    # fresh reading (12:29) the relay goes to its fail-safe state, off (the tick at 13:29:59).
    # Data back at 14:30: the interval 14:30-14:45 is measured whole; at 14:45 E = 0.100 (C was never
    # measured: the outage ate the end of the only ON interval) < 0.625 switches it back on.
    s = PlugSettings("0.625", "0.625", 15, failsafe_n=4, failsafe_on=False)
    d = FirmwareDecider(s, timeout_s=60)
    r = simulate(FlatSite(400, 0), appliance_2kw(), d, T0, T0 + 4 * 3600, poll_s=60,
                 outages=[(T0 + 1800, T0 + 9000)])
    assert r.switch_times == [T0 + 900, T0 + 89 * 60 + 59, T0 + 165 * 60]
    c = d.counters()
    assert c["failsafe"] == 1 and c["readings"] == 4 * 60 - 120
    kinds = [e[1] for e in d.controller.events]
    assert kinds.index("disconnected") < kinds.index("failsafe") and d.controller.connected
    # on 12:15-13:30 (the tick's change applies from the next minute step) and 14:45-16:00: 150 min at 2 kW
    assert r.appliance["served_wh"] == pytest.approx(2000.0 * (75 + 75) / 60.0)
    with pytest.raises(ValueError, match="multiples of step_s"):
        simulate(FlatSite(400, 0), appliance_2kw(), d, T0, T0 + 3600, poll_s=60, outages=[(T0 + 30, T0 + 90)])
