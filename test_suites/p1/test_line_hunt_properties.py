"""Properties of the 'auto' P1 line format (firmware/p1/line_hunt.py) over random hours of line events.

A meter sends on one format (or is absent), a telegram every `period` s; the line goes through stretches
of 1-120 s, as hypothesis draws them: clean, noisy (every telegram spoilt, bytes all the time), pulled
(nothing at all) or noise without the meter. The hunt is ticked once a second as the SmartMeter does,
and told about every telegram that is valid on the format it listens to (a telegram on the other format
is garbage to it, and noise spoils a telegram). Whatever the sequence:
- once a format gave a valid telegram, the line is away from it for at most PROBE_MS at a time, unless the
  other format gave one;
- a line that sent a good CRC never goes to 9600 7E1;
- silence never moves the line;
- a meter that sends cleanly again is read within one probe and two periods of the noise ending (before
  any valid telegram: within two SWITCH_MS and a period).
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.p1.line_hunt import FAST, PROBE_MS, SLOW, SWITCH_MS, LineHunt

# one second of line: (noise: telegrams spoilt and bytes all the time, the meter sends at all)
KINDS = {"clean": (False, True), "noisy": (True, True), "pulled": (False, False), "noise only": (True, False)}
STRETCH = st.tuples(st.sampled_from(sorted(KINDS)), st.integers(1, 120))
STRETCHES = st.lists(STRETCH, max_size=12).map(
    lambda parts: [KINDS[kind] for kind, n in parts for _ in range(n)])


@dataclass
class Run:
    """What happened in one simulated run."""

    lines: list[str]          # the format listened on, second by second (after the tick)
    good: list[str | None]    # the hunt's known-good format, second by second
    taken: list[bool]         # a telegram was taken that second


def simulate(meter: str | None, crc: bool, period: int, seconds: list[tuple[bool, bool]],
             start: str = FAST) -> Run:
    """Drive a LineHunt through `seconds` (noise, meter on) with a meter on format `meter` (None: none)."""
    h = LineHunt(start, 0)
    run = Run([], [], [])
    for s, (noise, meter_on) in enumerate(seconds, start=1):
        now = s * 1000
        took = False
        sends = meter is not None and meter_on and s % period == 0
        if noise or sends:
            h.received(100)
        if sends and not noise and h.line == meter:
            h.telegram(now, "ok" if crc else "absent")
            took = True
        line = h.tick(now)
        if line is not None:
            h.set(line, now)      # the SmartMeter reformats the UART and reports it back
        run.lines.append(h.line)
        run.good.append(h.good)
        run.taken.append(took)
    return run


def longest_away(run: Run) -> int:
    """Longest stretch (s) spent off the known-good format while the known-good format stayed the same."""
    longest = cur = 0
    for line, good in zip(run.lines, run.good, strict=True):
        cur = cur + 1 if good is not None and line != good else 0
        longest = max(longest, cur)
    return longest


METERS = st.sampled_from([(FAST, True, 1), (FAST, True, 10), (SLOW, False, 10), (None, False, 10)])


@settings(max_examples=300, deadline=None)
@given(METERS, STRETCHES, st.sampled_from([FAST, SLOW]))
def test_noise_keeps_the_line_on_its_known_good_format(meter, seconds, start) -> None:
    fmt, crc, period = meter
    run = simulate(fmt, crc, period, seconds, start)
    assert longest_away(run) <= PROBE_MS // 1000
    if fmt == FAST:
        # a CRC line: once a telegram came, never on 9600 7E1 again
        first = next((i for i, t in enumerate(run.taken) if t), None)
        if first is not None:
            assert all(line == FAST for line in run.lines[first:])


@settings(max_examples=200, deadline=None)
@given(METERS, st.integers(0, 900), st.sampled_from([FAST, SLOW]))
def test_silence_never_moves_the_line(meter, n, start) -> None:
    fmt, crc, period = meter
    run = simulate(fmt, crc, period, [KINDS["pulled"]] * n, start)
    assert all(line == start for line in run.lines)


@settings(max_examples=300, deadline=None)
@given(METERS, STRETCHES, st.sampled_from([FAST, SLOW]))
def test_a_clean_meter_is_read_again_soon_after_the_noise(meter, noisy, start) -> None:
    fmt, crc, period = meter
    if fmt is None:
        return
    clean = [KINDS["clean"]] * (3 * (SWITCH_MS + PROBE_MS) // 1000 + 3 * period)
    run = simulate(fmt, crc, period, noisy + clean, start)
    after = run.taken[len(noisy):]
    # at worst, with a known-good format: a probe starts just before the meter's first clean telegram
    # (the noise's bytes count), that telegram is missed, the probe ends, the next one is read. Before any
    # telegram: a switch to the wrong format just as the noise ended, SWITCH_MS there, then the meter.
    first = next((i for i, t in enumerate(after) if t), None)
    assert first is not None
    known = any(run.taken[:len(noisy)])
    bound = (PROBE_MS // 1000 + 2 * period) if known else (2 * SWITCH_MS // 1000 + period + 1)
    assert first <= bound, (first, bound)
