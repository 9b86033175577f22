# CSE7766 decoding (firmware/metering/cse7766.py): frames, states, adjustment bits, CF pulses, resync,
# counters. Portable: runs under CPython (pytest) and MicroPython (mpy/run.mjs).

from firmware.metering.cse7766 import Cse7766, Framer, checksum, frame_error, milli, state_text

# Frames captured from real chips (Sonoff Pow R2 / S31), as published in the Tasmota and ESPurna sources
# and Tasmota issue #11389. Five consecutive frames of a ~419 W load, then single frames.
RUN_419W = (
    '55 5A 02 FB 48 00 03 2B 00 40 4C 00 1F BB 52 65 C0 00 32 52 71 02 3D 84',
    '55 5A 02 FB 48 00 03 2B 00 40 4C 00 1F BB 52 65 C0 00 32 5D 71 02 45 97',
    '55 5A 02 FB 48 00 03 2B 00 40 4C 00 1F BB 52 65 C0 00 32 5D 71 02 4D 9F',
    '55 5A 02 FB 48 00 03 2B 00 40 4C 00 1F BB 52 65 C0 00 32 5D 71 02 55 A7',
    '55 5A 02 FB 48 00 03 2B 00 40 4C 00 1F BB 52 65 C0 00 32 50 71 02 5D A2',
)
NO_LOAD = 'F2 5A 02 F7 60 00 03 61 00 40 10 05 72 40 51 A6 58 63 10 1B E1 7F 4D 4E'
LOW_LOAD = '55 5A 02 F7 60 00 03 5A 00 40 10 04 8B 9F 51 A6 58 18 72 75 61 AC A1 30'
LOAD_1103W = '55 5A 02 E9 50 00 03 31 00 3E 9E 00 0D 30 4F 44 F8 00 12 65 F1 81 76 72'
NO_LOAD_2 = 'F2 5A 02 E9 50 00 03 2B 00 3E 9E 02 D7 7C 4F 44 F8 CF A5 5D E1 B3 2A B4'

VP = 194400
IP = 16400
PP = 5351000


def _hex(s):
    return bytes([int(x, 16) for x in s.split()])


def _frame(st=0x55, vp=VP, vc=810, ip=IP, ic=8000, pp=PP, pc=12000, adj=0x71, cf=0, check=0x5A, ck=None):
    b = bytearray(24)
    b[0] = st
    b[1] = check
    for off, v in ((2, vp), (5, vc), (8, ip), (11, ic), (14, pp), (17, pc)):
        b[off] = (v >> 16) & 0xFF
        b[off + 1] = (v >> 8) & 0xFF
        b[off + 2] = v & 0xFF
    b[20] = adj
    b[21] = (cf >> 8) & 0xFF
    b[22] = cf & 0xFF
    b[23] = checksum(b) if ck is None else ck
    return bytes(b)


def _locked(**kw):
    """A decoder that has seen two good frames (coefficients locked, CF baseline at cf=0)."""
    m = Cse7766(**kw)
    assert m.feed(_frame(cf=0)) == 0  # first frame: learning the coefficients
    assert m.feed(_frame(cf=0)) == 1
    return m


def test_real_frames_have_valid_checksums():
    for s in RUN_419W + (NO_LOAD, LOW_LOAD, LOAD_1103W, NO_LOAD_2):
        assert frame_error(_hex(s)) is None, s


def test_real_run_values_and_energy():
    m = Cse7766()
    data = b''.join([_hex(s) for s in RUN_419W])
    assert m.feed(data) == 4  # frame 1 teaches the coefficients, frame 2 sets the CF baseline
    # V = Vparam / Vcycle = 0x02FB48 / 0x00032B, I = 0x00404C / 0x001FBB, P = 0x5265C0 / 0x003250
    assert m.voltage_mv == milli(0x02FB48, 0x00032B) == 240937
    assert m.current_ma == milli(0x00404C, 0x001FBB) == 2026
    assert m.power_mw == milli(0x5265C0, 0x003250) == 419255
    # CF 0x0245 -> 0x025D: 24 pulses of 0x5265C0 = 5400000 uJ = 129.6 J = 36 mWh exactly
    assert m.energy_mwh == 36
    assert m.energy.rem_uj == 0
    assert m.counters['accepted'] == 4
    assert m.counters['frames'] == 5


def test_real_1103w_frame_after_lock():
    m = Cse7766()
    f = _hex(LOAD_1103W)
    m.feed(f + f)
    assert m.voltage_mv == 233537
    assert m.power_mw == 1103207
    assert m.current_ma == 4748


def test_real_no_load_frames():
    m = Cse7766()
    f = _hex(NO_LOAD_2)
    assert m.feed(f + f) == 1
    assert m.power_mw == 0
    assert m.current_ma == 0  # the current register holds noise without a load
    assert m.raw_current_ma == 86
    assert m.voltage_mv == 235265
    assert m.counters['no_load'] == 1


def test_low_load_frame_without_power_update_keeps_power_unknown():
    m = Cse7766()
    f = _hex(LOW_LOAD)  # adj 0x61: voltage and current refreshed, power not
    m.feed(f + f)
    assert m.power_mw is None
    assert m.voltage_mv == 226573
    assert m.current_ma == 55


def test_every_single_byte_corruption_of_the_payload_is_rejected():
    good = _frame(cf=1234)
    for pos in range(2, 24):
        for delta in (1, 0x80, 0xFF):
            bad = bytearray(good)
            bad[pos] = (bad[pos] + delta) & 0xFF
            assert frame_error(bad) is not None
            fr = Framer()
            assert fr.feed(bad) == []
            assert fr.counters['bad_checksum'] == 1, (pos, delta)


def test_frame_error_messages_say_where_and_what():
    f = bytearray(_frame())
    f[23] ^= 0x01
    e = frame_error(f)
    assert 'byte 23' in e and ('0x%02X' % f[23]) in e
    assert 'byte 1' in frame_error(_frame(check=0x5B))
    assert 'byte 0' in frame_error(_frame(st=0x12))
    assert 'too short' in frame_error(_frame()[:20])


def test_bad_checksum_changes_nothing_and_is_counted():
    m = _locked()
    m.feed(_frame(cf=10, pc=6000))
    before = (m.voltage_mv, m.current_ma, m.power_mw, m.energy_mwh, m.energy.rem_uj)
    assert m.feed(_frame(cf=20, pc=1000, ck=0)) == 0
    assert (m.voltage_mv, m.current_ma, m.power_mw, m.energy_mwh, m.energy.rem_uj) == before
    assert m.counters['bad_checksum'] == 1
    assert 'checksum' in m.last_error
    # the pulses are not lost: the next good frame counts them from the last good one
    m.feed(_frame(cf=30, pc=6000))
    assert m.energy.pulses == 30


def test_not_calibrated_frames_are_dropped():
    m = _locked()
    assert m.feed(_frame(st=0xAA, cf=5, pc=100)) == 0
    assert m.counters['not_calibrated'] == 1
    assert m.power_mw == milli(PP, 12000)
    assert m.energy.pulses == 0
    assert 'not calibrated' in m.last_error


def test_abnormal_states_drop_the_frame():
    for st in range(0xF0, 0x100):
        m = _locked()
        p0 = m.power_mw
        n = m.feed(_frame(st=st, cf=3, pc=1000))
        if st & 0x0D:
            assert n == 0, hex(st)
            assert m.counters['abnormal'] == 1
            assert m.power_mw == p0
            assert m.energy.pulses == 0
            assert ('0x%02X' % st) in m.last_error
        elif st & 0x02:
            assert n == 1
            assert m.power_mw == 0 and m.current_ma == 0
            assert m.counters['no_load'] == 1
            assert m.energy.pulses == 3
        else:  # 0xF0: no flag set, a normal frame
            assert n == 1
            assert m.power_mw == milli(PP, 1000)


def test_state_text():
    assert state_text(0x55) == 'ok'
    assert state_text(0xAA) == 'not calibrated'
    assert state_text(0xFF) == ('voltage cycle out of range, current cycle out of range, '
                                'power cycle out of range (no load), coefficient storage abnormal')
    assert 'no flag' in state_text(0xF0)


def test_adjustment_bits_select_the_updated_values():
    for bits in range(8):
        adj = (bits << 4) | 0x01
        m = _locked()
        v0, i0, p0 = m.voltage_mv, m.raw_current_ma, m.power_mw
        m.feed(_frame(vc=700, ic=4000, pc=3000, adj=adj, cf=1))
        assert m.voltage_mv == (milli(VP, 700) if adj & 0x40 else v0)
        assert m.raw_current_ma == (milli(IP, 4000) if adj & 0x20 else i0)
        assert m.power_mw == (milli(PP, 3000) if adj & 0x10 else p0)
        assert m.current_ma == m.raw_current_ma


def test_values_not_refreshed_expire_after_hold_frames():
    m = _locked(hold_frames=5)
    assert m.power_mw == milli(PP, 12000)
    for k in range(5):
        m.feed(_frame(adj=0x01, cf=k))
        assert m.power_mw == milli(PP, 12000)
        assert m.voltage_mv == milli(VP, 810)
    m.feed(_frame(adj=0x01, cf=9))
    assert m.power_mw == 0
    assert m.current_ma == 0
    assert m.voltage_mv is None
    assert m.raw_current_ma is None


def test_no_load_zeroes_current_even_when_the_current_register_is_refreshed():
    m = _locked()
    m.feed(_frame(st=0xF2, adj=0x61, ic=90000, cf=0))
    assert m.power_mw == 0 and m.current_ma == 0
    assert m.raw_current_ma == milli(IP, 90000)
    m.feed(_frame(adj=0x71, pc=2400, cf=1))
    assert m.power_mw == milli(PP, 2400)
    assert m.current_ma == milli(IP, 8000)


def test_zero_cycle_registers_are_bad_values_not_a_crash():
    m = _locked()
    before = (m.voltage_mv, m.current_ma, m.power_mw)
    for kw in ({'vc': 0}, {'ic': 0}, {'pc': 0}, {'pp': 0}):
        assert m.feed(_frame(cf=1, **kw)) == 0
    assert m.counters['bad_values'] == 3  # pp=0 also changes the coefficients: coef_mismatch
    assert m.counters['coef_mismatch'] == 1
    assert (m.voltage_mv, m.current_ma, m.power_mw) == before
    # no load with a zero power cycle is normal
    assert m.feed(_frame(st=0xF2, pc=0, adj=0x61, cf=1)) == 1


def test_first_frame_sets_the_baseline_only():
    m = Cse7766()
    m.feed(_frame(cf=40000))
    m.feed(_frame(cf=50000))
    assert m.energy_mwh == 0 and m.energy.pulses == 0
    m.feed(_frame(cf=50010))
    assert m.energy.pulses == 10


def test_cf_register_wrap():
    m = Cse7766()
    m.feed(_frame(cf=0xFFF0) + _frame(cf=0xFFF0))
    m.feed(_frame(cf=0x0010, adj=0xF1))
    assert m.energy.pulses == 32
    assert m.energy.wraps == 1
    assert m.pf_flag == 0x80
    m.feed(_frame(cf=0x0011, adj=0xF1))
    assert m.energy.pulses == 33


def test_energy_is_exact_over_many_wraps():
    m = _locked()
    cf = 0
    total = 0
    for i in range(3000):
        step = 7 + (i * 13) % 90  # up to 96 pulses a frame
        cf = (cf + step) & 0xFFFF
        total += step
        assert m.feed(_frame(cf=cf)) == 1
    assert m.energy.pulses == total
    uj = total * PP
    assert m.energy_mwh == uj // 3600000
    assert m.energy.rem_uj == uj % 3600000
    assert m.energy.wraps == total // 65536


def test_initial_energy_is_kept():
    m = _locked(energy_mwh=123456789)
    m.feed(_frame(cf=3600))  # 3600 pulses in one frame without a clock: implausible, nothing counted
    assert m.energy_mwh == 123456789
    assert m.counters['implausible'] == 1
    m2 = Cse7766(energy_mwh=1000)
    m2.feed(_frame(cf=0) + _frame(cf=0) + _frame(cf=36))  # 36 * 5.351 J = 192.636 J = 53.51 mWh
    assert m2.energy_mwh == 1053


def test_implausible_jump_is_ignored_then_the_old_baseline_continues():
    m = _locked()
    m.feed(_frame(cf=100))
    assert m.feed(_frame(cf=30000, pc=10)) == 0  # garbage that passed the 8-bit checksum
    assert m.counters['implausible'] == 1
    assert 'jumped' in m.last_error
    assert m.power_mw == milli(PP, 12000)
    assert m.feed(_frame(cf=110)) == 1
    assert m.energy.pulses == 110
    assert m.energy.rebases == 0


def test_chip_restart_rebases_the_counter():
    m = _locked()
    m.feed(_frame(cf=20000))  # 20000 pulses in one frame: implausible
    assert m.counters['implausible'] == 1
    m = _locked()
    m.feed(_frame(cf=100))
    m.feed(_frame(cf=50000))  # chip restarted elsewhere: implausible once
    m.feed(_frame(cf=50008))  # follows the candidate: rebase, counting the 8 pulses since it
    assert m.energy.rebases == 1
    assert m.energy.pulses == 108
    assert m.feed(_frame(cf=50010)) == 1
    assert m.energy.pulses == 110


def test_a_clock_allows_large_steps_after_a_gap():
    # 10 s without frames at 3 kW: 3000 W * 10 s / 5.351 J = 5606 pulses
    m = Cse7766()
    m.feed(_frame(cf=0), now_ms=0)
    m.feed(_frame(cf=0), now_ms=100)
    assert m.feed(_frame(cf=5606), now_ms=10100) == 1
    assert m.energy.pulses == 5606
    # the same step without a clock is implausible
    m2 = _locked()
    assert m2.feed(_frame(cf=5606)) == 0
    # and with a clock but only 105 ms later, too
    m3 = Cse7766()
    m3.feed(_frame(cf=0), now_ms=0)
    m3.feed(_frame(cf=0), now_ms=105)
    assert m3.feed(_frame(cf=5606), now_ms=210) == 0


def test_ticks_wrap_at_2_pow_30():
    m = Cse7766()
    t0 = (1 << 30) - 50
    m.feed(_frame(cf=0), now_ms=t0)
    m.feed(_frame(cf=0), now_ms=t0 + 20)
    assert m.feed(_frame(cf=5000), now_ms=(t0 + 10000) & 0x3FFFFFFF) == 1


def test_resync_on_garbage_anywhere():
    frames = [_frame(cf=i * 5, pc=12000 + i) for i in range(6)]
    junk = (b'\x00\x55\x12\xAA\xF3\x5A\x99', b'\x5A\x5A', b'\xFF' * 30, b'', b'\x55\x5A\x01\x02')
    data = b''
    for i, f in enumerate(frames):
        data += junk[i % len(junk)] + f
    m = Cse7766()
    assert m.feed(data) == 5
    assert m.counters['frames'] == 6
    assert m.power_mw == milli(PP, 12005)
    assert m.energy.pulses == 20
    assert m.counters['resyncs'] >= 4
    assert m.counters['garbage_bytes'] >= sum([len(j) for j in junk]) - 6  # leading 0x55/0xF3 may start


def test_any_chunking_gives_the_same_result():
    data = b'\x13\x37' + b''.join([_frame(cf=i * 3, pc=9000 + i) + b'\xF7' for i in range(8)])
    ref = Cse7766()
    ref.feed(data)
    for size in range(1, 30):
        m = Cse7766()
        for i in range(0, len(data), size):
            m.feed(data[i:i + size])
        assert (m.voltage_mv, m.current_ma, m.power_mw, m.energy.pulses) == (
            ref.voltage_mv, ref.current_ma, ref.power_mw, ref.energy.pulses), size
        assert m.counters == ref.counters, size


def test_a_truncated_frame_does_not_swallow_the_next_one():
    a = _frame(cf=0)
    b = _frame(cf=4, pc=6000)
    fr = Framer()
    out = fr.feed(a[:13] + b)  # the chip stopped mid-frame (reset), then sent a whole frame
    assert out == [b]
    assert fr.counters['bad_checksum'] == 1
    assert fr.counters['garbage_bytes'] == 13


def test_counters_start_at_zero_and_name_every_event():
    m = Cse7766()
    for k in ('frames', 'bad_checksum', 'resyncs', 'garbage_bytes', 'accepted', 'not_calibrated',
              'abnormal', 'no_load', 'coef_mismatch', 'implausible', 'bad_values'):
        assert m.counters[k] == 0, k


def test_coefficients_must_agree_before_values_are_trusted():
    m = Cse7766()
    assert m.feed(_frame(vp=111111)) == 0
    assert m.feed(_frame()) == 0  # differs from the first: still learning
    assert m.feed(_frame()) == 1
    assert m.coef == (VP, IP, PP)
    # a checksum-valid frame with other coefficients is dropped ...
    assert m.feed(_frame(ip=IP + 1, cf=2)) == 0
    assert m.counters['coef_mismatch'] == 1
    assert 'coefficients' in m.last_error
    # ... unless they persist (another chip): 3 frames in a row re-lock
    assert m.feed(_frame(ip=IP + 1, cf=3)) == 0
    assert m.feed(_frame(ip=IP + 1, cf=4)) == 1
    assert m.coef == (VP, IP + 1, PP)
