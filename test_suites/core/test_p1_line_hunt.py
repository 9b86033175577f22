# The 'auto' P1 line format (firmware/p1/line_hunt.py): noise alone never moves a line away from the
# format that gave valid telegrams; the other format is only probed, and the line comes back to the
# known-good one. Portable: runs under CPython and MicroPython.
from firmware.hal import TICKS_MAX
from firmware.p1.line_hunt import BACKOFF_MAX_MS, FAST, PROBE_MS, SLOW, SWITCH_MS, LineHunt


def run(hunt, start_ms, seconds, telegram_every=None, crc='ok', bytes_per_s=1000):
    """Tick the hunt once a second for `seconds`, bytes arriving; a valid telegram every `telegram_every`
    s when the line is `want` (a meter that is there). Returns [(ms, line)] of the switches."""
    switches = []
    for s in range(1, seconds + 1):
        now = (start_ms + s * 1000) & TICKS_MAX
        hunt.received(bytes_per_s)
        if telegram_every is not None and s % telegram_every[0] == 0 and hunt.line == telegram_every[1]:
            hunt.telegram(now, crc)
        line = hunt.tick(now)
        if line is not None:
            switches.append((s, line))
    return switches


def test_before_any_telegram_the_formats_alternate_while_bytes_arrive():
    h = LineHunt(FAST, 0)
    h.received(500)
    assert h.tick(SWITCH_MS - 1) is None
    assert h.tick(SWITCH_MS) == SLOW and h.line == SLOW and not h.probing
    assert h.tick(2 * SWITCH_MS - 1) is None           # bytes since the switch: none yet
    h.received(1)
    assert h.tick(2 * SWITCH_MS) == FAST


def test_silence_never_switches():
    h = LineHunt(FAST, 0)
    assert h.tick(10 ** 7) is None
    h.telegram(1000, 'absent')
    assert h.tick(10 ** 7) is None and h.line == FAST


def test_noise_on_a_crc_line_never_leaves_it():
    # the case: a line that sent good CRCs, then 10 minutes of noise: no switch at all (a DSMR 2.2/3
    # meter sends no CRC, and the stack refuses CRC-less telegrams on a line that sent CRCs)
    h = LineHunt(FAST, 0)
    h.telegram(0, 'ok')
    assert run(h, 0, 600) == []
    assert h.line == FAST and h.good == FAST
    # the meter comes back: its first telegram is taken at once
    h.telegram(601000, 'ok')
    assert h.good == FAST and h.bytes == 0


def test_noise_on_a_9600_line_probes_115200_and_comes_back():
    h = LineHunt(SLOW, 0)
    h.telegram(0, 'absent')
    switches = run(h, 0, 200)
    # a probe after 25 s, back 12 s later; the next probe waits 50 s, then 100 s (backoff)
    assert SWITCH_MS == 25000 and PROBE_MS == 12000
    assert switches == [(25, FAST), (37, SLOW), (87, FAST), (99, SLOW), (199, FAST)]
    assert h.good == SLOW


def test_the_probes_back_off_to_a_bound():
    h = LineHunt(SLOW, 0)
    h.telegram(0, 'absent')
    switches = run(h, 0, 4 * 3600)
    probes = [s for s, line in switches if line == FAST]
    gaps = [probes[i + 1] - probes[i] for i in range(len(probes) - 1)]
    assert gaps == sorted(gaps) and max(gaps) == (BACKOFF_MAX_MS + PROBE_MS) // 1000
    listening_elsewhere = sum(PROBE_MS // 1000 for _ in probes)
    assert listening_elsewhere < 0.05 * 4 * 3600      # persistent noise: under 5 % of the time on a probe


def test_a_probe_that_finds_a_valid_telegram_makes_the_other_format_known_good():
    # a DSMR 2.2 meter replaced by a DSMR 5 one (the rollout direction)
    h = LineHunt(SLOW, 0)
    h.telegram(0, 'absent')
    switches = run(h, 0, 60, telegram_every=(1, FAST))
    assert switches == [(SWITCH_MS // 1000, FAST)]
    assert h.good == FAST and h.line == FAST and not h.probing and h.crc_seen


def test_the_meter_back_during_a_probe_costs_at_most_the_probe():
    h = LineHunt(SLOW, 0)
    h.telegram(0, 'absent')
    run(h, 0, SWITCH_MS // 1000)                      # noise: the probe started
    assert h.probing and h.line == FAST
    # the DSMR 2.2 meter is back now (its telegrams every 10 s, on 9600): the probe ends on time, the line
    # is back on 9600 before its next telegram period is over
    start = SWITCH_MS
    switches = run(h, start, 30, telegram_every=(10, SLOW))
    assert switches == [(PROBE_MS // 1000, SLOW)]
    assert h.good == SLOW and not h.probing and h.wait_ms == SWITCH_MS      # a telegram: backoff reset


def test_a_hand_set_format_that_gives_nothing_returns_to_the_known_good_one_in_auto():
    h = LineHunt(FAST, 0)
    h.telegram(0, 'ok')
    h.set(SLOW, 5000)                                  # p1_line set to 9600 7E1 by hand, then 'auto' again
    assert h.tick(6000) == FAST and h.line == FAST and not h.probing


def test_the_caller_reporting_the_switch_it_was_asked_for_changes_nothing():
    h = LineHunt(SLOW, 0)
    h.telegram(0, 'absent')
    h.received(100)
    assert h.tick(SWITCH_MS) == FAST and h.probing
    h.set(FAST, SWITCH_MS)                           # the app reformats the UART and says so
    assert h.probing and h.tick(SWITCH_MS + PROBE_MS - 1) is None
    assert h.tick(SWITCH_MS + PROBE_MS) == SLOW


def test_tick_counter_wrap():
    start = TICKS_MAX - 3000
    h = LineHunt(SLOW, start)
    h.telegram(start, 'absent')
    switches = run(h, start, SWITCH_MS // 1000)
    assert switches == [(SWITCH_MS // 1000, FAST)]
