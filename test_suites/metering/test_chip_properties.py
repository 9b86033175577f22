"""Properties of the CSE7766 decoder under arbitrary input (hypothesis)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.metering.cse7766 import FRAME_LEN, Cse7766
from firmware.metering.energy import UJ_PER_MWH, PulseCounter
from hil.emulators.cse7766 import Cse7766Chip, Faults

PERIOD_MS = 105


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=600), st.integers(1, 64))
def test_any_bytes_in_any_chunks_never_crash_and_every_byte_is_accounted(data, chunk):
    m = Cse7766()
    for i in range(0, len(data), chunk):
        m.feed(data[i:i + chunk])
    c = m.counters
    # each byte was skipped, is part of a returned frame, or waits in the framer
    assert c["garbage_bytes"] + FRAME_LEN * c["frames"] + m.framer.n == len(data)
    assert c["accepted"] <= c["frames"]
    assert m.energy_mwh >= 0


loads = st.tuples(st.floats(180, 260), st.floats(0, 16), st.floats(0, 4000), st.integers(1, 40))


@settings(max_examples=30, deadline=None)
@given(st.lists(loads, min_size=1, max_size=6), st.integers(0, 2**16 - 1), st.integers(0, 10**6),
       st.floats(0, 0.15), st.floats(0, 0.1), st.integers(1, 50))
def test_energy_equals_the_chips_pulses_whatever_the_faults(schedule, cf_start, seed, p_bad, p_drop, chunk):
    faults = Faults(garbage=p_bad, bad_checksum=p_bad, dropped=p_drop, not_calibrated=p_drop / 2)
    chip = Cse7766Chip(faults=faults, seed=seed, cf_start=cf_start)
    m = Cse7766()
    truth_first = truth_last = None
    t = 0
    for volts, amps, watts, frames in schedule:
        chip.set_load(volts, amps, watts)
        for _ in range(frames):
            data = chip.frame(PERIOD_MS)
            t += PERIOD_MS
            before = m.counters["accepted"]
            for i in range(0, len(data), chunk):
                m.feed(data[i:i + chunk], now_ms=t)
            if m.counters["accepted"] > before:
                truth_last = chip.pulses
                if truth_first is None:
                    truth_first = chip.pulses
    if truth_first is not None:
        assert m.energy.pulses == truth_last - truth_first
    assert m.counters["implausible"] == 0
    assert m.counters["coef_mismatch"] == 0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 300), max_size=200), st.integers(0, 0xFFFF), st.integers(1, 0xFFFFFF))
def test_pulse_counter_is_exact_and_wraps(steps, start, coef):
    pc = PulseCounter(max_power_w=10**9)  # no plausibility limit here
    cf = start
    pc.update(cf, coef)
    for s in steps:
        cf = (cf + s) & 0xFFFF
        pc.update(cf, coef)
    total = sum(steps)
    assert pc.pulses == total
    assert pc.energy_uj() == total * coef
    assert 0 <= pc.rem_uj < UJ_PER_MWH
