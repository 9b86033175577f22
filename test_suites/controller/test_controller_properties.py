"""Property-based tests of the SmartPlug controller core (CPython, hypothesis).

Random streams of readings, gaps, glitches, manual toggles and settings changes against the controller
alone, and a closed loop with a simple household (constant base load plus the plug's appliance of P watts
while the relay is on).
"""

from __future__ import annotations

import sys
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings, target
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "core"))

from controller_feed import Home, utc  # noqa: E402  (portable helper beside the core tests)
from controller_feed import settings as make_settings  # noqa: E402

from firmware.control.controller import Controller  # noqa: E402
from firmware.control.daily import DailyEnergy  # noqa: E402
from firmware.control.settings import (  # noqa: E402
    BUTTONS,
    FIELDS,
    INTERVAL_MAX,
    INTERVAL_MIN,
    THRESHOLD_MAX_WH,
    THRESHOLD_MIN_WH,
    Settings,
    from_dict,
)
from firmware.timebase import dst_bounds_utc, local_day, local_fields  # noqa: E402

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DIVISORS = [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60]
T_START = utc(2024, 1, 15, 9, 52, 30)
# The closed loop boots at 07:59:30: its first reading (07:59:40) is not a boundary's, so every interval
# it decides on is measured from a boundary reading to the next and holds an exact number of Wh.
T_LOOP = utc(2024, 5, 2, 7, 59, 30)

# One operation of a random plug life: (kind, a, b)
RUN = st.tuples(st.just("run"), st.tuples(st.integers(5, 60), st.integers(1, 15)), st.integers(-25, 40))
OPS_METER = st.one_of(
    RUN,
    RUN,
    RUN,
    RUN,
    RUN,
    RUN,
    st.tuples(st.just("read"), st.integers(1, 35), st.integers(-3, 120)),      # dt s, import delta Wh
    st.tuples(st.just("export"), st.integers(1, 35), st.integers(0, 120)),     # dt s, export delta Wh
    st.tuples(st.just("glitch"), st.integers(1, 20), st.sampled_from([-50, 20000])),
    st.tuples(st.just("stale"), st.just(0), st.just(0)),
    st.tuples(st.just("silent"), st.integers(20, 4000), st.just(0)),
)
OPS = st.one_of(
    OPS_METER,
    st.tuples(st.just("manual"), st.booleans(), st.just(0)),
    st.tuples(st.just("button"), st.sampled_from(sorted(BUTTONS)), st.just(0)),
    st.tuples(st.just("mode"), st.booleans(), st.just(0)),
    st.tuples(st.just("interval"), st.sampled_from([1, 2, 3, 7, 60]), st.just(0)),
)


class Driver:
    """Applies OPS to a controller and checks, after every call, that the relay changed only as allowed."""

    def __init__(self, c: Controller, t: int) -> None:
        self.c = c
        self.t = t
        self.mono = 1000
        self.imp = 10_000
        self.exp = 0
        self.prev_read_t: int | None = None
        self.switches: list[tuple[int, bool, int]] = []   # (t, relay, boundary) from boundary decisions

    def _reading(self, imp: int, exp: int) -> None:
        c = self.c
        before = (c.relay, c.counters["boundaries"], c.last)
        r = c.on_meter(self.t, imp, exp, self.mono)
        crossed = c.counters["boundaries"] > before[1]
        if r is None:
            assert c.relay == before[0], "the relay changed without a decision"
        else:
            # a change only when this reading crossed a boundary: the first reading at or after it
            assert crossed and c.last is not before[2]
            assert c.last["kind"] == "switch" and c.last["relay"] == r == c.relay != before[0]
            b = c.last["boundary"]
            assert self.prev_read_t is not None and self.prev_read_t < b <= self.t
            if c.settings.aligned():
                assert (b + 3600) % (c.settings.interval_min * 60) == 0
            self.switches.append((self.t, r, b))
        if self.prev_read_t is None or self.t > self.prev_read_t:
            self.prev_read_t = self.t

    def tick(self) -> None:
        c = self.c
        relay, fs = c.relay, c.failsafe
        r = c.tick(self.mono)
        if r is None:
            assert c.relay == relay
        else:
            assert not fs and c.failsafe and r == c.relay == c.settings.failsafe_on != relay

    def apply(self, op: tuple) -> None:
        kind, a, b = op
        c = self.c
        if kind == "run":                   # n plausible readings dt s apart, each b Wh (b < 0: export)
            n, dt = a
            for _ in range(n):
                self.t += dt
                self.mono += dt
                if b >= 0:
                    self.imp += b
                else:
                    self.exp -= b
                self._reading(self.imp, self.exp)
                self.tick()
        elif kind in ("read", "export", "glitch"):
            self.t += a
            self.mono += a
            if kind == "read":
                self.imp = max(self.imp + b, 0)     # b < 0: counters running backwards now and then
                self._reading(self.imp, self.exp)
            elif kind == "export":
                self.exp += b
                self._reading(self.imp, self.exp)
            else:
                self._reading(max(self.imp + b, 0), self.exp)   # one bad reading, registers unchanged
            self.tick()
        elif kind == "stale":
            self.mono += 1
            self._reading(self.imp, self.exp)
            self.tick()
        elif kind == "silent":
            for _ in range(a // 10):
                self.t += 10
                self.mono += 10
                self.tick()
        elif kind == "manual":
            relay = c.relay
            r = c.manual_relay(a)
            assert c.relay == a and (r is None) == (relay == a)
        elif kind == "button":
            c.settings.press(a)
        elif kind == "mode":
            c.set_mode(a)
        elif kind == "interval":
            c.settings.set("interval_min", a)


@FAST
@given(ops=st.lists(OPS, min_size=30, max_size=150), relay=st.booleans(), fs_on=st.booleans(),
       n=st.integers(1, 6))
def test_relay_changes_only_at_boundaries_manual_or_failsafe(ops: list, relay: bool, fs_on: bool,
                                                             n: int) -> None:
    s = make_settings(mode=True, interval_min=1, on_wh=20, off_wh=60, failsafe_n=n, failsafe_on=fs_on)
    d = Driver(Controller(s, {"v": 1, "relay": relay}, now_mono=1000), T_START)
    for op in ops:
        d.apply(op)
    target(float(len(d.switches)), label="boundary switches")


@FAST
@given(ops=st.lists(OPS_METER, min_size=30, max_size=200),
       interval=st.sampled_from([1, 2, 3, 7]), on=st.integers(-50, 80), margin=st.integers(-40, 80))
def test_at_most_one_switch_per_interval(ops: list, interval: int, on: int, margin: int) -> None:
    s = make_settings(mode=True, interval_min=interval, on_wh=on, off_wh=on + margin, failsafe_n=96)
    d = Driver(Controller(s, {"v": 1, "relay": False}), T_START)
    for op in ops:
        d.apply(op)
    target(float(len(d.switches)), label="boundary switches")
    bounds = [b for _, _, b in d.switches]
    assert len(bounds) == len(set(bounds))
    for i in range(1, len(bounds)):
        assert bounds[i] - bounds[i - 1] >= interval * 60


# Closed loop: base load and appliance power in multiples of 60 W keep every interval's energy an exact
# number of Wh (I min x 60 W = I Wh), so the meter's 1 Wh registers add no rounding to E.
@FAST
@given(base=st.integers(-80, 80), app=st.integers(1, 50), interval=st.sampled_from([1, 5, 6, 7, 15, 20]),
       on=st.integers(-3000, 3000), extra=st.integers(0, 2000), relay=st.booleans())
def test_no_flapping_with_margin_at_least_the_appliance_energy(base: int, app: int, interval: int, on: int,
                                                              extra: int, relay: bool) -> None:
    base_w, app_w = base * 60, app * 60
    a_wh = app_w * interval // 60
    off = on + a_wh + extra
    assume(off <= THRESHOLD_MAX_WH)
    s = make_settings(mode=True, interval_min=interval, on_wh=on, off_wh=off)
    h = Home(T_LOOP, s, {"v": 1, "relay": relay}, base_w=base_w, appliance_w=app_w, step=10)
    h.run(10 * interval * 60 + 3600)
    assert len(h.decisions) <= 1, h.decisions


@FAST
@given(base=st.integers(-80, 80), app=st.integers(1, 50), interval=st.sampled_from([1, 5, 6, 7, 15, 20]),
       t=st.integers(-3000, 3000), relay=st.booleans())
def test_no_flapping_with_equal_thresholds(base: int, app: int, interval: int, t: int, relay: bool) -> None:
    s = make_settings(mode=True, interval_min=interval, on_wh=t, off_wh=t)
    h = Home(T_LOOP, s, {"v": 1, "relay": relay}, base_w=base * 60, appliance_w=app * 60, step=10)
    h.run(10 * interval * 60 + 3600)
    # at most: on (C not known yet), then off for good once C is known
    assert len(h.decisions) <= 2, h.decisions
    if len(h.decisions) == 2:
        assert [r for _, r in h.decisions] == [True, False]


def test_without_margin_it_does_flap() -> None:
    # the property above is not vacuous: a margin below the appliance's energy makes it alternate
    s = make_settings(mode=True, interval_min=5, on_wh=0, off_wh=50)   # margin 50 Wh < 150 Wh
    h = Home(utc(2024, 5, 2, 8, 0), s, {"v": 1, "relay": False}, base_w=-600, appliance_w=1800, step=10)
    h.run(3 * 3600)
    assert len(h.decisions) > 20


@FAST
@given(n=st.integers(1, 96), interval=st.integers(1, 60), fs_on=st.booleans(), relay=st.booleans(),
       early=st.lists(st.integers(0, 10**6), max_size=8), late=st.integers(0, 10**5))
def test_failsafe_after_exactly_n_intervals(n: int, interval: int, fs_on: bool, relay: bool, early: list,
                                            late: int) -> None:
    s = make_settings(mode=True, interval_min=interval, failsafe_n=n, failsafe_on=fs_on)
    c = Controller(s, {"v": 1, "relay": relay}, now_mono=0)
    c.on_meter(T_START, 1000, 0, 100)
    limit = 100 + n * interval * 60
    for m in sorted(early):
        m = 100 + m % (n * interval * 60)           # any time before the limit
        assert c.tick(m) is None and not c.failsafe and c.relay == relay
    r = c.tick(limit + late)
    assert c.failsafe and c.relay == fs_on
    assert r == (fs_on if fs_on != relay else None)
    assert c.tick(limit + late + 1) is None and c.counters["failsafe"] == 1


VALUES = st.one_of(st.integers(-10**6, 10**6), st.booleans(), st.none(), st.floats(allow_nan=False),
                   st.text(max_size=8), st.lists(st.integers(), max_size=2))


@FAST
@given(changes=st.lists(st.tuples(st.sampled_from([f[0] for f in FIELDS] + ["x"]), VALUES), max_size=30),
       presses=st.lists(st.sampled_from(sorted(BUTTONS) + ["nope"]), max_size=60))
def test_out_of_bounds_settings_change_nothing(changes: list, presses: list) -> None:
    s = Settings()
    for key, value in changes:
        before = s.to_dict()
        err = s.set(key, value)
        after = s.to_dict()
        if err is None:
            assert after[key] == value and {k: v for k, v in after.items() if k != key} == {
                k: v for k, v in before.items() if k != key}
        else:
            assert after == before and "expected" in err
    for b in presses:
        before = s.to_dict()
        err = s.press(b)
        if err is not None:
            assert s.to_dict() == before
        for wh in (s.on_wh, s.off_wh):
            assert THRESHOLD_MIN_WH <= wh <= THRESHOLD_MAX_WH
        assert INTERVAL_MIN <= s.interval_min <= INTERVAL_MAX


SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=6)
JSONISH = st.recursive(SCALARS, lambda kids: st.lists(kids, max_size=3)
                       | st.dictionaries(st.text(max_size=12), kids, max_size=4), max_leaves=12)


@FAST
@given(d=st.one_of(JSONISH, st.dictionaries(st.sampled_from([f[0] for f in FIELDS] + ["v"]), JSONISH)))
def test_loading_any_settings_or_state_never_raises(d: object) -> None:
    s, errors = from_dict(d)
    assert isinstance(errors, list)
    assert Settings().to_dict().keys() == s.to_dict().keys()
    s2, errors2 = from_dict(s.to_dict())
    assert errors2 == [] and s2 == s
    c = Controller(s, d)
    assert isinstance(c.relay, bool) and isinstance(c.restore_errors, list)


@FAST
@given(year=st.integers(2000, 2037), near=st.sampled_from(["spring", "autumn", "any"]),
       shift=st.integers(0, 200 * 86400), days=st.integers(1, 8), step=st.integers(30, 5400))
def test_daily_energy_resets_once_per_local_day(year: int, near: str, shift: int, days: int,
                                                step: int) -> None:
    spring, autumn = dst_bounds_utc(year)
    if near == "any":
        t0 = utc(year, 1, 1) + shift
    else:                                   # start up to three days before a DST change
        t0 = (spring if near == "spring" else autumn) - shift % (3 * 86400)
    de = DailyEnergy()
    t = t0
    de.clock(t)
    resets: list[int] = []
    seen_days = {local_day(t)}
    while t < t0 + days * 86400:
        t += step
        de.add(1)
        if de.clock(t):
            resets.append(t)
            assert de.mwh == 0
        seen_days.add(local_day(t))
    assert len(resets) == len(seen_days) - 1
    for r in resets:
        y, mo, d, hh, mi, s, _ = local_fields(r)
        assert (hh * 3600 + mi * 60 + s) < step          # the first clock at or after local midnight


@settings(max_examples=25, deadline=None)
@given(year=st.integers(2001, 2037), spring=st.booleans(), interval=st.sampled_from(DIVISORS),
       step=st.integers(1, 29), offset=st.integers(-7200, 0))
def test_boundaries_stay_on_the_clock_across_dst(year: int, spring: bool, interval: int, step: int,
                                                 offset: int) -> None:
    change = dst_bounds_utc(year)[0 if spring else 1]
    s = make_settings(mode=True, interval_min=interval, on_wh=THRESHOLD_MAX_WH, off_wh=THRESHOLD_MAX_WH)
    c = Controller(s, {"v": 1, "relay": False})
    t = change + offset
    mono = 0
    seen = 0
    last = None
    prev_t = None
    while t < change + 3 * 3600:
        t += step
        mono += step
        c.on_meter(t, 1000 + t // 100, 0, mono)
        if c.last is not last:
            last = c.last
            seen += 1
            b = last["boundary"]
            y, mo, d, hh, mi, sec, _ = local_fields(b)
            assert sec == 0 and (hh * 60 + mi) % interval == 0
            assert prev_t is not None and prev_t < b <= t == last["t"]
        prev_t = t
    assert seen >= (3 * 3600 - offset) // (interval * 60) - 2
