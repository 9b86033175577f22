"""Property-based tests of Peak Guard (firmware/control/peakguard.py) in a closed loop of whole seconds.

- The cap: in every quarter where shedding all guarded appliances would have kept it (the household alone,
  with two reading periods of every guarded load to spare: the guard learns of a change only at a reading
  and acts at the next), the quarter stays at or under the cap, for one to three plugs, coordinated through
  the SmartMeter's table or each alone.
- Minimum on and off times always hold for the guard's switches, including the fail-safe's.
- A stale meter (no reading for 30 s) puts the relay in the plug's fail-safe state (after the minimum
  times), and the guard switches nothing else while the meter is silent.
- The SmartMeter gives every plug that reports within one second the same table, whatever their order.
"""

import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))

from peakguard_world import Plug, World, guard_settings  # noqa: E402

from firmware.control.peakguard import MARGIN_WH, QUARTER_S, STALE_S, Table  # noqa: E402
from firmware.control.peakguard_coord import QuarterTracker, meter_answer  # noqa: E402
from firmware.timebase import local_to_utc  # noqa: E402

T0 = local_to_utc(2025, 1, 15, 10, 0, 0)
QUARTERS = 3
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _wants(pattern: list[bool], minutes: int):
    """An appliance's own thermostat: on/off per minute from a pattern."""
    def wants(t: int) -> bool:
        return pattern[((t - T0) // 60) % len(pattern)] if minutes else True
    return wants


plug_st = st.tuples(st.integers(300, 3000), st.integers(1, 9), st.integers(0, 600),
                    st.lists(st.booleans(), min_size=1, max_size=20))


@FAST
@given(cap_w=st.integers(2500, 9000), period=st.sampled_from([1, 2, 5, 10]),
       bases=st.lists(st.integers(0, 9000), min_size=QUARTERS, max_size=QUARTERS),
       plugs=st.lists(plug_st, min_size=1, max_size=3), coordinated=st.booleans())
def test_cap_holds_when_shedding_all_would_have_kept_it(cap_w, period, bases, plugs, coordinated):
    ps = [Plug("p%d" % i, load, guard_settings(cap_w=cap_w, priority=prio, min_on_s=0, min_off_s=off,
                                                max_sw_h=60), wants=_wants(pat, 1), period_s=period)
          for i, (load, prio, off, pat) in enumerate(plugs)]

    def base(t: int) -> int:
        return bases[min(QUARTERS - 1, (t - T0) // QUARTER_S)]

    w = World(T0, base, ps, period=period, coordinated=coordinated)
    w.run_until(T0 + QUARTERS * QUARTER_S)
    spare_ws = 2 * sum(load for load, _, _, _ in plugs) * period + 2 * MARGIN_WH * 3600
    for k in range(QUARTERS):
        q = T0 + k * QUARTER_S
        if bases[k] * QUARTER_S + spare_ws <= cap_w * QUARTER_S:
            assert w.quarters[q] <= cap_w * QUARTER_S, (k, w.quarters[q] // QUARTER_S, cap_w,
                                                         [p.switch_times for p in ps])


def _check_min_times(p: Plug, min_on: int, min_off: int) -> None:
    st_ = p.switch_times
    for i in range(1, len(st_)):
        gap = st_[i][0] - st_[i - 1][0]
        if st_[i][1]:      # back on after an off period
            assert gap >= min_off, (st_[i - 1], st_[i], min_off)
        else:              # off after an on period
            assert gap >= min_on, (st_[i - 1], st_[i], min_on)


@FAST
@given(min_on=st.integers(0, 1500), min_off=st.integers(0, 1500), period=st.sampled_from([1, 5, 10]),
       levels=st.lists(st.integers(0, 9000), min_size=1, max_size=40), minutes=st.integers(1, 10),
       silent_from=st.one_of(st.none(), st.integers(0, 3 * QUARTER_S)), silent_s=st.integers(0, 600),
       failsafe_on=st.booleans(), n=st.integers(1, 3))
def test_minimum_on_and_off_times_always_hold(min_on, min_off, period, levels, minutes, silent_from, silent_s,
                                              failsafe_on, n):
    ps = [Plug("p%d" % i, 2000, guard_settings(cap_w=4000, priority=1 + 4 * i, min_on_s=min_on,
                                                min_off_s=min_off, max_sw_h=60), period_s=period)
          for i in range(n)]

    def base(t: int) -> int:
        return levels[((t - T0) // (60 * minutes)) % len(levels)]

    def silent(t: int) -> bool:
        return silent_from is not None and T0 + silent_from <= t < T0 + silent_from + silent_s

    w = World(T0, base, ps, period=period, silent=silent)
    w.failsafe_on = failsafe_on
    w.run_until(T0 + 4 * QUARTER_S)
    for p in ps:
        _check_min_times(p, min_on, min_off)


@FAST
@given(min_on=st.integers(0, 900), min_off=st.integers(0, 900), start=st.integers(0, 1800),
       level=st.integers(0, 6000), failsafe_on=st.booleans(), period=st.sampled_from([1, 5]))
def test_stale_meter_falls_back_to_the_failsafe_state(min_on, min_off, start, level, failsafe_on, period):
    p = Plug("x", 2000, guard_settings(cap_w=4000, min_on_s=min_on, min_off_s=min_off, max_sw_h=60),
             period_s=period)
    silent_at = T0 + start - (start % period)

    def silent(t: int) -> bool:
        return t >= silent_at

    w = World(T0, lambda t: level, [p], period=period, silent=silent)
    w.failsafe_on = failsafe_on
    w.run_until(silent_at)
    before = len(p.switch_times)
    last_reading = silent_at - period
    # before 30 s of silence the guard keeps what it had
    w.run_until(last_reading + STALE_S)
    assert len(p.switch_times) == before and not p.g.failsafe
    # then the plug's fail-safe state, as soon as the minimum times allow, and nothing else
    w.run_until(last_reading + STALE_S + max(min_on, min_off) + 2 * period + 1)
    assert p.g.failsafe
    assert p.relay() == failsafe_on
    assert len(p.switch_times) - before <= 1


report_st = st.fixed_dictionaries({
    "id": st.sampled_from(["boiler", "ev", "heat-pump", "dryer"]), "priority": st.integers(1, 9).map(str),
    "shed": st.sampled_from(["0", "1"]), "on": st.sampled_from(["0", "1"]),
    "load_w": st.integers(0, 9000).map(str), "draw_w": st.integers(0, 9000).map(str)})


@FAST
@given(seconds=st.lists(st.lists(report_st, max_size=4, unique_by=lambda r: r["id"]), min_size=1, max_size=8),
       data=st.data())
def test_plugs_asking_in_one_second_get_one_table_whatever_their_order(seconds, data):
    """The SmartMeter answers every report of one second with the same table, in any arrival order: on the
    rig two plugs' polls fall on one instant, and the order of their requests must not change a run (each
    plug reports once a second; which of two reports of one plug is its last is up to that plug)."""
    first = {"orders": Table(), "shuffled": Table()}
    for k, reports in enumerate(seconds):
        mono = 100 + k
        orders = {"orders": reports, "shuffled": data.draw(st.permutations(reports), label="order %d" % k)}
        answers = {}
        for name, table in first.items():
            seen = []
            for args in orders[name]:
                st_, body = meter_answer((T0 + k, 1000 + k, 0), {}, QuarterTracker(), table, args, mono, True)
                assert st_ == 200, body
                seen.append(body["plugs"])
            st_, body = meter_answer((T0 + k, 1000 + k, 0), {}, QuarterTracker(), table, {}, mono)
            assert all(s == body["plugs"] for s in seen), (k, seen, body["plugs"])
            answers[name] = body["plugs"]
        assert answers["orders"] == answers["shuffled"], k
    # and a report shows from the next second on
    last = {}
    for reports in seconds:
        for args in reports:
            last[args["id"]] = args
    after = first["orders"].entries(100 + len(seconds))
    assert {e["id"]: e["shed"] for e in after} == {i: a["shed"] == "1" for i, a in last.items()}
