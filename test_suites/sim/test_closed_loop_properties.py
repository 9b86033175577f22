"""Closed-loop properties (hypothesis) under a constant base load: boundaries only, no flapping."""

from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.timebase import local_to_utc
from hil.sim.deciders import FirmwareDecider, PlugSettings
from hil.sim.engine import simulate
from test_suites.sim.flat_world import FlatSite, always_on_load

T0 = local_to_utc(2025, 3, 30, 0, 0, 0)           # across the spring DST change (02:00 -> 03:00)
INTERVALS = st.sampled_from([1, 2, 3, 5, 6, 10, 12, 15, 20, 30, 60, 7, 8, 9, 11, 25, 45])


def kwh(wh):
    return "%.3f" % (wh / 1000.0)


def run(settings_, base_w, load_w, intervals):
    minutes = intervals * settings_.interval_min + 3
    site = FlatSite(base_w + 5000.0, 5000.0)      # net base load base_w (negative = surplus)
    d = FirmwareDecider(settings_, timeout_s=60)
    return simulate(site, always_on_load(load_w), d, T0, T0 + 60 * minutes, poll_s=60, record=False)


def on_boundaries(times, interval_min):
    size = interval_min * 60
    if 60 % interval_min == 0:
        return all(t % size == 0 for t in times)      # on the clock (local offsets are whole hours)
    return all((t - T0) % size == 0 for t in times)   # counted from when SmartMeter Mode went on


@settings(max_examples=40, deadline=None)
@given(interval=INTERVALS, base_w=st.integers(-4000, 4000), load_w=st.integers(100, 3000),
       on_wh=st.integers(-2000, 1500), extra_wh=st.integers(2, 1000))
def test_two_thresholds_with_a_margin_of_one_intervals_energy_switch_at_most_once(interval, base_w, load_w,
                                                                                   on_wh, extra_wh):
    per_interval_wh = -(-load_w * interval // 60)            # the appliance's energy per interval, rounded up
    off_wh = on_wh + per_interval_wh + extra_wh                 # + 2 Wh at least: registers count whole Wh
    if off_wh > 10000:
        return
    s = PlugSettings(kwh(on_wh), kwh(off_wh), interval)
    r = run(s, base_w, load_w, 8)
    assert r.switches <= 1, (r.switch_times, r.counters)
    assert on_boundaries(r.switch_times, interval)


@settings(max_examples=40, deadline=None)
@given(interval=INTERVALS, base_w=st.integers(-4000, 4000), load_w=st.integers(100, 3000),
       t_wh=st.integers(-2000, 2000))
def test_equal_thresholds_do_not_flap_under_a_constant_base_load(interval, base_w, load_w, t_wh):
    s = PlugSettings(kwh(t_wh), kwh(t_wh), interval)
    r = run(s, base_w, load_w, 10)
    # at most: on at the first decision (C not known yet), off once C is known to be too much
    assert r.switches <= 2, (r.switch_times, r.counters)
    assert on_boundaries(r.switch_times, interval)
    gaps = [b - a for a, b in zip(r.switch_times, r.switch_times[1:], strict=False)]
    assert all(g >= interval * 60 for g in gaps)
