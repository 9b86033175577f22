# The switching controller (firmware/control/controller.py) against SPEC.md rules 1-8.
# Portable: runs under CPython (pytest) and MicroPython (mpy/run.mjs).
from controller_feed import Feed, Home, settings, utc

from firmware.control.controller import DISCONNECT_S, Controller, decide
from firmware.timebase import local_fields

T0 = utc(2024, 1, 15, 10, 7, 0)     # a winter Monday, 10:07 local
Q = 900


def _off_saved():
    return {'v': 1, 'relay': False}


def test_rule_2_thresholds_are_strict():
    # relay off: on when E + C < ON; relay on: off when E > OFF; equality keeps the state
    assert decide(False, 99, 0, 100, 300) is True
    assert decide(False, 100, 0, 100, 300) is None
    assert decide(True, 301, 0, 100, 300) is False
    assert decide(True, 300, 0, 100, 300) is None
    # C in mWh counts on the way on only
    assert decide(False, 50, 49999, 100, 100) is True
    assert decide(False, 50, 50000, 100, 100) is None
    assert decide(True, 100, 99999, 100, 100) is None
    # negative E (injection)
    assert decide(False, -201, 0, -200, 0) is True
    assert decide(False, -200, 0, -200, 0) is None


def test_first_interval_after_boot_is_only_measured():
    h = Home(T0, settings(mode=True, on_wh=100, off_wh=300), _off_saved(), base_w=200, appliance_w=2000)
    h.until(utc(2024, 1, 15, 10, 29, 59))
    assert h.decisions == []
    # 10:07-10:15 is not a whole interval; 10:15 only starts the measurement
    assert h.c.last['kind'] == 'measured'
    assert h.c.last['boundary'] == utc(2024, 1, 15, 10, 15)
    assert h.c.counters['measured_only'] == 1
    h.until(utc(2024, 1, 15, 10, 30))
    # E = 200 W x 15 min = 50 Wh < ON 100 Wh
    assert h.decisions == [(utc(2024, 1, 15, 10, 30), True)]
    assert h.c.last['e_wh'] == 50
    assert h.c.last['kind'] == 'switch'
    assert 'E 0.050 kWh < ON 0.100 kWh: relay on' == h.c.last['why']


def test_decisions_only_on_quarter_hour_boundaries():
    # margin (200 Wh) < appliance energy (500 Wh): it flaps, one switch every quarter, always on the quarter
    h = Home(T0, settings(mode=True, on_wh=100, off_wh=300), _off_saved(), base_w=200, appliance_w=2000,
             step=5)
    h.until(utc(2024, 1, 15, 14, 0))
    times = [t for t, _ in h.decisions]
    assert len(times) == 15       # 10:30, 10:45, ..., 14:00
    for t in times:
        y, mo, d, hh, mi, s, summer = local_fields(t)
        assert mi % 15 == 0 and s == 0, (hh, mi, s)
    assert [r for _, r in h.decisions] == [True, False] * 7 + [True]
    # at most one switch per interval
    for i in range(1, len(times)):
        assert times[i] - times[i - 1] == Q


def test_six_minute_interval_is_on_the_clock():
    h = Home(T0, settings(mode=True, interval_min=6, on_wh=-200, off_wh=0), _off_saved(),
             base_w=-2500, appliance_w=2000)
    h.until(utc(2024, 1, 15, 10, 30))
    # 10:07 -> 10:12 starts the measurement, first decision at 10:18, then it stays on (E = -50 Wh <= 0)
    assert h.decisions == [(utc(2024, 1, 15, 10, 18), True)]
    assert h.c.last['boundary'] == utc(2024, 1, 15, 10, 30)


def test_interval_not_dividing_60_counts_from_mode_on():
    h = Home(T0, settings(interval_min=7, on_wh=100, off_wh=300), _off_saved(), base_w=600, appliance_w=2000)
    h.run(200)                                  # mode off: nothing measured
    assert h.c.counters['boundaries'] == 0
    assert h.c.set_mode(True) is None
    anchor = h.t + 1                            # the first reading after SmartMeter Mode went on
    h.run(7 * 60 * 5 + 1)
    times = [t for t, _ in h.decisions]
    assert times[0] == anchor + 7 * 60          # its first interval is measured from the anchor, then decided
    for t in times:
        assert (t - anchor) % 420 == 0
    assert len(times) == 5


def test_first_interval_after_mode_on_is_only_measured():
    h = Home(T0, settings(on_wh=100, off_wh=300), _off_saved(), base_w=200, appliance_w=2000)
    h.until(utc(2024, 1, 15, 10, 20))
    h.c.set_mode(True)
    h.until(utc(2024, 1, 15, 10, 44, 59))
    assert h.decisions == []
    assert h.c.last['kind'] == 'measured' and h.c.last['boundary'] == utc(2024, 1, 15, 10, 30)
    h.until(utc(2024, 1, 15, 10, 45))
    assert h.decisions == [(utc(2024, 1, 15, 10, 45), True)]


def test_e_is_import_minus_export_of_the_ended_interval():
    c = Controller(settings(mode=True, on_wh=-200, off_wh=0), _off_saved())
    f = Feed(c, utc(2024, 6, 1, 11, 59, 0), imp=5000, exp=7000)
    f.go(60, 1, 0)                              # reaches 12:00:00: starts the measurement
    f.go(Q, 100, 350)                           # 12:00-12:15: import 100 Wh, export 350 Wh
    assert c.last['e_wh'] == -250
    assert f.decisions == [(utc(2024, 6, 1, 12, 15), True)]
    f.go(Q, 180, 150)                           # E = +30 Wh > OFF 0
    assert c.last['e_wh'] == 30
    assert f.decisions[-1] == (utc(2024, 6, 1, 12, 30), False)


def test_equal_thresholds_use_c_the_plugs_last_full_on_interval():
    # ON = OFF = 0.625 kWh; heater 2 kW = 500 Wh per quarter; base 400 W = 100 Wh per quarter
    h = Home(T0, settings(mode=True), _off_saved(), base_w=400, appliance_w=2000)
    h.until(utc(2024, 1, 15, 10, 30))
    assert h.decisions == [(utc(2024, 1, 15, 10, 30), True)]    # E 100 + C 0 (not known yet) < 625
    assert h.c.c_mwh is None
    h.until(utc(2024, 1, 15, 10, 45))
    assert h.c.c_mwh == 500000                  # the plug's own 500 Wh over 10:30-10:45
    assert h.c.last['e_wh'] == 600 and h.c.relay   # 600 <= 625: stays on
    h.base_w = 1000                             # 250 Wh per quarter
    h.until(utc(2024, 1, 15, 11, 0))
    assert h.decisions[-1] == (utc(2024, 1, 15, 11, 0), False)  # E = 750 > 625
    h.until(utc(2024, 1, 15, 11, 15))
    # off: E 250 + C 500 = 750 >= 625: stays off (without C it would switch on and flap)
    assert not h.c.relay and h.c.last['c_mwh'] == 500000 and h.c.last['kind'] == 'keep'
    assert h.c.last['why'] == 'E + C = 0.250 + 0.500 = 0.750 kWh >= ON 0.625 kWh: stays off'
    h.base_w = 400
    h.until(utc(2024, 1, 15, 11, 45))
    # 11:15-11:30 base 100 Wh: 100 + 500 = 600 < 625 -> on at 11:30
    assert h.decisions[-1] == (utc(2024, 1, 15, 11, 30), True)


def test_c_is_zero_when_thresholds_differ():
    h = Home(T0, settings(mode=True, on_wh=625, off_wh=626), _off_saved(), base_w=400, appliance_w=2000)
    h.until(utc(2024, 1, 15, 10, 45))
    assert h.c.c_mwh == 500000                  # measured, but not used
    h.base_w = 1000
    h.until(utc(2024, 1, 15, 11, 15))
    # 11:00 off (750 > 626); 11:15: E 250 < 625 -> on, C ignored
    assert h.decisions[-2:] == [(utc(2024, 1, 15, 11, 0), False), (utc(2024, 1, 15, 11, 15), True)]
    assert h.c.last['c_mwh'] == 0


def test_c_not_taken_from_a_partial_on_interval():
    h = Home(T0, settings(mode=True, on_wh=-100, off_wh=-100), _off_saved(), base_w=400, appliance_w=2000)
    h.until(utc(2024, 1, 15, 10, 37))
    h.manual(True)                              # on by hand in the middle of 10:30-10:45
    h.until(utc(2024, 1, 15, 10, 45))
    assert h.c.c_mwh is None                    # 10:30-10:45 was not a full ON interval
    assert h.decisions[-1] == (utc(2024, 1, 15, 10, 45), False)   # E > -100: the boundary overrides
    h.manual(True)
    h.until(utc(2024, 1, 15, 11, 0))
    assert h.c.c_mwh is None                    # manual switch at the boundary reading's second: not full
    h.c.settings.set('off_wh', 10000)           # keep it on
    h.manual(True)
    h.until(utc(2024, 1, 15, 11, 30))
    assert h.c.c_mwh == 500000


def test_counters_running_backwards_void_the_interval():
    c = Controller(settings(mode=True, on_wh=100, off_wh=300), _off_saved())
    f = Feed(c, utc(2024, 1, 15, 9, 59, 0), imp=5000)
    f.go(60, 1)
    f.go(400, 10)
    f.imp -= 5                                  # one reading 5 Wh lower
    f.t += 10
    f.mono += 10
    f.read()
    f.go(490, 10)                               # to 10:15 with a small E that would switch on
    assert c.last['kind'] == 'void' and 'backwards' in c.last['why']
    assert c.counters['backwards'] == 1 and f.decisions == []
    f.go(Q, 20)                                 # 10:15-10:30 is whole again: decided
    assert f.decisions == [(utc(2024, 1, 15, 10, 30), True)]


def test_implausible_jump_voids_the_interval():
    # limit: 60 kW over (10 s between readings + 10 s slack) = 333.3 Wh
    c = Controller(settings(mode=True, on_wh=100, off_wh=300), _off_saved())
    f = Feed(c, utc(2024, 1, 15, 9, 59, 0), imp=5000)
    f.go(60, 1)
    f.go(300, 0)
    f.go(10, 333)                               # allowed
    assert c.counters['jumps'] == 0
    f.go(590, 0)                                # 10:15
    assert c.last['kind'] == 'switch' or c.last['kind'] == 'keep'
    f.go(300, 0)
    f.go(10, 334)                               # one Wh more: implausible
    assert c.counters['jumps'] == 1
    n = len(f.decisions)
    f.go(590, 0)
    assert c.last['kind'] == 'void' and 'jumped 334 Wh in 10 s' in c.last['why']
    assert len(f.decisions) == n


def test_gap_voids_and_the_next_whole_interval_is_only_measured():
    c = Controller(settings(mode=True, on_wh=100, off_wh=300), _off_saved())
    f = Feed(c, utc(2024, 1, 15, 9, 59, 0), imp=5000)
    f.go(60, 1)
    f.go(Q, 400)                                # 10:00-10:15: 400 Wh: stays off
    assert c.last['kind'] == 'keep'
    f.go(290, 2)                                # to 10:19:50
    f.silent(40)                                # no data for 50 s in meter time
    assert not c.connected
    f.go(610, 3)                                # to 10:30:00: E small, but the interval had a gap
    assert c.last['kind'] == 'measured' and f.decisions == []
    f.go(Q, 10)
    assert f.decisions == [(utc(2024, 1, 15, 10, 45), True)]
    assert c.counters['gaps'] == 0              # the disconnection was seen first (tick)


def test_gap_in_meter_time_without_disconnection():
    c = Controller(settings(mode=True, on_wh=100, off_wh=300), _off_saved())
    f = Feed(c, utc(2024, 1, 15, 9, 59, 0), imp=5000)
    f.go(60, 1)
    f.go(300, 5)
    f.t += 40                                   # the meter's next reading is 50 s later, mono only 10 s
    f.go(550, 5)
    assert c.last['kind'] == 'measured' and c.counters['gaps'] == 1
    assert f.decisions == []


def test_disconnected_after_30_s_without_a_fresh_reading():
    c = Controller(settings(mode=True), _off_saved(), now_mono=0)
    assert not c.connected and c.meter() is None
    c.on_meter(T0, 1000, 0, 100)
    assert c.connected and c.meter() == (T0, 1000, 0)
    for m in range(101, 130):
        c.on_meter(T0, 1000, 0, m)              # the same meter time again: not fresh
        c.tick(m)
    assert c.connected
    assert c.counters['stale'] == 29
    c.tick(100 + DISCONNECT_S - 1)
    assert c.connected
    c.tick(100 + DISCONNECT_S)
    assert not c.connected
    assert c.meter() is None                    # stale values are not reported as current
    c.on_meter(T0 + 31, 1001, 0, 131)
    assert c.connected and c.meter() == (T0 + 31, 1001, 0)


def test_failsafe_after_exactly_n_intervals_without_data():
    s = settings(mode=True, failsafe_n=4, interval_min=15)
    c = Controller(s, {'v': 1, 'relay': True}, now_mono=0)
    c.on_meter(T0, 1000, 0, 50)
    assert c.tick(50 + 4 * Q - 1) is None and c.relay and not c.failsafe
    assert c.tick(50 + 4 * Q) is False
    assert c.failsafe and not c.relay and c.counters['failsafe'] == 1
    assert c.tick(50 + 5 * Q) is None           # once
    assert c.manual_relay(True) is True         # manual switching stays possible
    assert c.tick(50 + 9 * Q) is None and c.relay


def test_failsafe_state_on_and_counted_from_boot():
    s = settings(mode=True, failsafe_n=2, interval_min=6, failsafe_on=True)
    c = Controller(s, _off_saved(), now_mono=10)
    assert c.tick(10 + 2 * 360 - 1) is None
    assert c.tick(10 + 2 * 360) is True and c.relay


def test_no_failsafe_without_smartmeter_mode():
    c = Controller(settings(failsafe_n=1, interval_min=1), {'v': 1, 'relay': True}, now_mono=0)
    assert c.tick(10000) is None and c.relay and not c.failsafe


def test_failsafe_ends_with_data_then_first_interval_only_measured():
    s = settings(mode=True, failsafe_n=1, interval_min=15, on_wh=100, off_wh=300)
    c = Controller(s, {'v': 1, 'relay': True})
    f = Feed(c, utc(2024, 1, 15, 9, 59, 0), imp=5000)
    f.go(60, 1)
    f.silent(Q + 60, step=5)
    assert c.failsafe and not c.relay
    assert f.decisions == [(utc(2024, 1, 15, 10, 15), False)]
    f.go(10, 2)                                 # data back at 10:16:10
    assert not c.failsafe
    f.go(840, 5)                                # 10:30 crossing: the 10:15 interval was not whole
    assert c.last['kind'] == 'measured'
    f.go(Q, 5)
    assert f.decisions[-1] == (utc(2024, 1, 15, 10, 45), True)


def test_data_back_within_30_s_of_a_boundary_starts_a_whole_interval():
    s = settings(mode=True, on_wh=100, off_wh=300)
    c = Controller(s, _off_saved())
    f = Feed(c, utc(2024, 1, 15, 9, 59, 0), imp=5000)
    f.go(60, 1)
    f.silent(Q)                                 # nothing from 10:00:00 to 10:15:00
    f.go(20, 1)                                 # 10:15:10 is the first reading at or after 10:15
    f.go(Q, 5)
    assert c.last['kind'] == 'switch' and f.decisions == [(utc(2024, 1, 15, 10, 30), True)]


def test_manual_relay_always_obeyed_and_next_boundary_may_override():
    h = Home(T0, settings(mode=True, on_wh=100, off_wh=300), _off_saved(), base_w=1500, appliance_w=2000)
    h.until(utc(2024, 1, 15, 10, 40))
    assert h.manual(True) is True and h.c.relay
    h.until(utc(2024, 1, 15, 10, 44, 59))
    assert h.c.relay
    h.until(utc(2024, 1, 15, 10, 45))
    assert not h.c.relay and h.decisions[-1] == (utc(2024, 1, 15, 10, 45), False)


def test_smartmeter_mode_off_never_switches():
    h = Home(T0, settings(on_wh=100, off_wh=300), _off_saved(), base_w=200, appliance_w=2000, step=5)
    h.until(utc(2024, 1, 15, 12, 0))
    assert h.decisions == [] and not h.c.relay
    h.manual(True)
    h.until(utc(2024, 1, 15, 13, 0))
    assert h.c.relay and h.decisions == [(utc(2024, 1, 15, 12, 0), True)]


def test_relay_restored_after_reboot():
    s = settings(mode=True, on_wh=100, off_wh=300)
    h = Home(T0, s, _off_saved(), base_w=200, appliance_w=2000)
    h.until(utc(2024, 1, 15, 10, 30))
    assert h.c.relay
    saved = h.c.state_for_flash()
    c2 = Controller(s, saved)
    assert c2.relay and c2.restore_errors == []
    # a reboot does not switch by itself: no decision before a whole interval was measured
    h2 = Home(utc(2024, 1, 15, 10, 31), s, saved, base_w=1500, appliance_w=2000)
    h2.until(utc(2024, 1, 15, 10, 59, 59))
    assert h2.decisions == [] and h2.c.relay
    h2.until(utc(2024, 1, 15, 11, 0))
    assert h2.decisions == [(utc(2024, 1, 15, 11, 0), False)]


def test_reboot_without_state_or_in_failsafe_gives_the_failsafe_state():
    s = settings(mode=True, failsafe_on=False)
    assert Controller(s).relay is False
    s2 = settings(mode=True, failsafe_on=True)
    assert Controller(s2).relay is True
    c = Controller(s, {'v': 1, 'relay': True, 'failsafe': True})
    assert c.relay is False and c.failsafe


def test_corrupt_saved_state_gives_errors_not_exceptions():
    s = settings(mode=True)
    for bad in (None, 'x', [], {'relay': 'yes', 'day': 'monday', 'c_mwh': -5, 'anchor': 1.5}):
        c = Controller(s, bad) if bad is not None else Controller(s, 0)
        assert c.relay is False                 # the fail-safe state
        assert c.restore_errors, bad
    c = Controller(s, {'v': 1, 'relay': True, 'day': 'monday', 'daily_mwh': 5})
    assert c.relay is True and c.daily.day is None and len(c.restore_errors) == 1
    assert 'saved day' in c.restore_errors[0] and 'monday' in c.restore_errors[0]


def test_refused_reading_changes_nothing():
    c = Controller(settings(mode=True), _off_saved())
    c.on_meter(T0, 1000, 0, 10)
    before = (c.meter(), c.connected, dict(c.counters), c._k)
    for bad in ((str(T0 + 1), 1000, 0), (T0 + 1, -1, 0), (T0 + 1, 1000.5, 0), (T0 + 1, 1000, None),
                (T0 + 1, True, 0)):
        assert c.on_meter(bad[0], bad[1], bad[2], 11) is None
    assert c.counters['refused'] == 5
    after = dict(c.counters)
    after['refused'] = 0
    assert (c.meter(), c.connected, after, c._k) == before
    assert 'expected integers' in c.events[-1][2]
    c.on_plug_energy(-3)
    c.on_plug_energy('12')
    assert c.counters['plug_refused'] == 2 and c.daily.mwh == 0


def test_meter_clock_going_back_starts_over_after_disconnection():
    c = Controller(settings(mode=True), _off_saved())
    c.on_meter(T0, 1000, 0, 10)
    c.on_meter(T0 - 3600, 1001, 0, 11)          # older meter time while connected: ignored
    assert c.meter() == (T0, 1000, 0) and c.counters['stale'] == 1
    c.tick(45)
    assert not c.connected
    c.on_meter(T0 - 3600, 1001, 0, 46)          # disconnected: the new clock is taken
    assert c.connected and c.meter() == (T0 - 3600, 1001, 0)


def test_interval_change_restarts_measurement_and_forgets_c():
    h = Home(T0, settings(mode=True), _off_saved(), base_w=400, appliance_w=2000)
    h.until(utc(2024, 1, 15, 10, 45))
    assert h.c.c_mwh == 500000
    assert h.c.settings.press('interval-') is None     # 14 min: counted from the change
    h.run(1)
    assert h.c.c_mwh is None
    n = len(h.decisions)
    h.run(14 * 60 - 1)
    assert len(h.decisions) == n and h.c.counters['boundaries'] == 3
    h.run(1)
    assert h.c.counters['boundaries'] == 4 and h.c.last['boundary'] == utc(2024, 1, 15, 10, 45, 1) + 14 * 60


def test_boundaries_stay_on_clock_quarters_across_dst():
    for day, hours in ((31, 23), (27, 25)):
        mo = 3 if day == 31 else 10
        start = utc(2024, mo, day - 1, 23, 50)
        h = Home(start, settings(mode=True, on_wh=100, off_wh=300), _off_saved(), base_w=200,
                 appliance_w=2000, step=10)
        end = utc(2024, mo, day + 1, 0, 0)
        h.until(end)
        assert (end - start) // 3600 == hours   # 23 h or 25 h of real time (plus 10 min)
        times = [t for t, _ in h.decisions]
        # it flaps (margin too small): one decision on every quarter after the first whole one
        assert len(times) == (end - utc(2024, mo, day, 0, 15)) // Q + 1
        for t in times:
            y, m, d, hh, mi, s, summer = local_fields(t)
            assert mi % 15 == 0 and s == 0


def test_events_say_why():
    h = Home(T0, settings(mode=True, on_wh=100, off_wh=300), _off_saved(), base_w=200, appliance_w=2000)
    h.until(utc(2024, 1, 15, 10, 45))
    last = h.c.last
    assert last['why'] == 'E 0.550 kWh > OFF 0.300 kWh: relay off'
    got = (last['before'], last['relay'], last['e_wh'], last['on_wh'], last['off_wh'])
    assert got == (True, False, 550, 100, 300)
    kinds = [e[1] for e in h.c.events]
    assert kinds.count('switch') == 2 and 'connected' in kinds


def test_one_reading_a_minute_needs_a_60_s_timeout():
    # a simulator stepping whole minutes passes timeout_s=60; with the device's 30 s every reading is a gap
    for timeout, want in ((60, True), (30, False)):
        c = Controller(settings(mode=True, on_wh=100, off_wh=300), _off_saved(), timeout_s=timeout)
        f = Feed(c, utc(2024, 1, 15, 9, 59, 0), imp=5000, step=60)
        f.go(31 * 60, 31)                       # 1 Wh a minute: E = 15 Wh < ON
        assert (f.decisions == [(utc(2024, 1, 15, 10, 15), True)]) == want   # 10:00:00 starts it
        assert (c.counters['gaps'] == 0) == want


def test_mode_on_just_after_a_boundary_waits_for_the_next_one():
    # the 10:15:00 reading was taken before SmartMeter Mode went on: 10:15-10:30 is not measured whole
    h = Home(T0, settings(on_wh=100, off_wh=300), _off_saved(), base_w=200, appliance_w=2000)
    h.until(utc(2024, 1, 15, 10, 15, 5))
    h.c.set_mode(True)
    h.until(utc(2024, 1, 15, 10, 30))
    assert h.decisions == [] and h.c.last['kind'] == 'measured'
    h.until(utc(2024, 1, 15, 10, 45))
    assert h.decisions == [(utc(2024, 1, 15, 10, 45), True)]


def test_export_register_running_backwards_voids_the_interval():
    c = Controller(settings(mode=True, on_wh=100, off_wh=300), _off_saved())
    f = Feed(c, utc(2024, 6, 1, 11, 59, 0), imp=5000, exp=9000)
    f.go(60, 1, 1)
    f.go(300, 5, 100)
    f.exp -= 1
    f.t += 10
    f.mono += 10
    f.read()
    f.go(590, 5, 100)
    assert c.last['kind'] == 'void' and 'export 9101 -> 9100 Wh' in c.last['why']
    assert c.counters['backwards'] == 1 and f.decisions == []


def test_export_jump_and_sustained_60_kw_void_the_interval():
    c = Controller(settings(mode=True, on_wh=100, off_wh=300), _off_saved())
    f = Feed(c, utc(2024, 6, 1, 11, 59, 0), imp=5000, exp=9000)
    f.go(60, 1, 1)
    f.go(300, 0, 10)
    f.go(10, 0, 5000)                           # export jumps 5 kWh in 10 s
    f.go(590, 0, 10)
    assert c.last['kind'] == 'void' and 'jumped 5000 Wh in 10 s' in c.last['why']
    # each 10 s step within the per-reading allowance (333 Wh), but 120 kW on average over the interval
    f.go(Q, 90 * 333)
    assert c.counters['jumps'] == 2 and c.last['kind'] == 'void'
    assert c.last['why'] == 'counters moved 29970 Wh in 900 s: expected at most 60000 W average'
    assert f.decisions == []


def test_a_boundary_crossed_without_a_reading_voids():
    # only reachable with a timeout longer than the interval: readings 150 s apart, 1-min interval
    c = Controller(settings(mode=True, interval_min=1, on_wh=100, off_wh=300), _off_saved(), timeout_s=180)
    f = Feed(c, utc(2024, 1, 15, 9, 59, 0), imp=5000, step=30)
    f.go(60, 1)                                 # 10:00:00 starts a whole interval
    f.go(150, 1, step=150)                      # next reading 10:02:30: 10:01 and 10:02 crossed at once
    assert c.last['kind'] == 'void' and 'crossed without a reading' in c.last['why']
    assert f.decisions == [(utc(2024, 1, 15, 10, 0), True)]     # only the 9:59:30-10:00 interval's


def test_reboot_keeps_the_anchor_of_a_non_dividing_interval():
    s = settings(interval_min=7, on_wh=100, off_wh=300)
    h = Home(T0, s, _off_saved(), base_w=600, appliance_w=2000)
    h.run(100)
    s.set('mode', True)
    anchor = h.t + 1
    h.run(3 * 420)
    saved = h.c.state_for_flash()
    assert saved['anchor'] == anchor
    h2 = Home(h.t + 20, s, saved, base_w=600, appliance_w=2000)
    h2.run(5 * 420)
    assert h2.decisions and all((t - anchor) % 420 == 0 for t, _ in h2.decisions)


def test_mode_off_ends_the_failsafe():
    c = Controller(settings(mode=True, failsafe_n=1, interval_min=1), {'v': 1, 'relay': True}, now_mono=0)
    assert c.tick(60) is False and c.failsafe
    c.set_mode(False)
    assert not c.failsafe
    assert c.tick(1000) is None
