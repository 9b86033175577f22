"""The CSE7766 emulator's frames, decoded by the firmware's decoder (virtual time, no I/O)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware.metering.cse7766 import Cse7766, frame_error, u24
from hil.emulators.cse7766 import Coefficients, Cse7766Chip, Faults, encode_frame

PERIOD_MS = 105


def run(chip: Cse7766Chip, frames: int, m: Cse7766 | None = None) -> tuple[Cse7766, list[int]]:
    """Feed `frames` frames of the chip to a decoder; return it and the chip's pulses after each frame."""
    m = m or Cse7766()
    truth = []
    for k in range(frames):
        m.feed(chip.frame(PERIOD_MS), now_ms=k * PERIOD_MS)
        truth.append(chip.pulses)
    return m, truth


def test_encode_frame_is_a_valid_frame_with_the_registers_in_place():
    f = encode_frame(0x55, 0x010203, 0x040506, 0x070809, 0x0A0B0C, 0x0D0E0F, 0x101112, 0x71, 0xBEEF)
    assert len(f) == 24 and frame_error(f) is None
    assert [u24(f, o) for o in (2, 5, 8, 11, 14, 17)] == [0x010203, 0x040506, 0x070809, 0x0A0B0C,
                                                           0x0D0E0F, 0x101112]
    assert f[20] == 0x71 and f[21:23] == b"\xbe\xef"


REG24 = st.integers(0, 0xFFFFFF)


@given(st.integers(0, 0xFF), REG24, REG24, REG24, REG24, REG24, REG24, st.integers(0, 0xFF),
       st.integers(0, 0xFFFF))
def test_every_register_value_lands_in_its_place_with_a_checksum_the_firmware_accepts(
        state: int, vp: int, vc: int, ip: int, ic: int, pp: int, pc: int, adj: int, cf: int) -> None:
    f = encode_frame(state, vp, vc, ip, ic, pp, pc, adj, cf)
    assert len(f) == 24 and f[0] == state and f[1] == 0x5A
    assert [u24(f, o) for o in (2, 5, 8, 11, 14, 17)] == [vp, vc, ip, ic, pp, pc]
    assert f[20] == adj and int.from_bytes(f[21:23], "big") == cf
    assert f[23] == sum(f[2:23]) & 0xFF


def test_encode_frame_refuses_values_that_do_not_fit():
    with pytest.raises(ValueError, match=r"v_cycle = 16777216 does not fit its register \(0..16777215\)"):
        encode_frame(0x55, 1, 1 << 24, 1, 1, 1, 1, 0, 0)
    with pytest.raises(ValueError, match="cf = 65536"):
        encode_frame(0x55, 1, 1, 1, 1, 1, 1, 0, 0x10000)


def test_faults_and_coefficients_are_validated_when_built():
    with pytest.raises(ValueError, match="garbage = 1.5: expected a probability"):
        Faults(garbage=1.5)
    with pytest.raises(ValueError):
        Coefficients(v=0)
    with pytest.raises(ValueError, match="non-negative"):
        Cse7766Chip().set_load(230, -1, 0)


@pytest.mark.parametrize(("volts", "amps", "watts"), [
    (230.0, 4.35, 1000.0), (241.5, 0.26, 41.3), (207.0, 10.9, 2254.0), (250.0, 15.99, 3997.0),
    (229.0, 0.05, 5.0),
])
def test_decoded_values_match_the_load_to_the_register_resolution(volts, amps, watts):
    chip = Cse7766Chip()
    chip.set_load(volts, amps, watts)
    m, _ = run(chip, 80)  # 8.4 s: the slowest register (5 W: 1.07 s period) refreshes several times
    co = chip.coef
    for got_milli, coef, value in ((m.voltage_mv, co.v, volts), (m.current_ma, co.i, amps),
                                   (m.power_mw, co.p, watts)):
        cycle = round(coef / value)
        tol = value / cycle * 1000 + 1  # one count of the cycle register, in milli-units
        assert abs(got_milli - value * 1000) <= tol, (got_milli, value)


def test_energy_is_exactly_the_pulses_the_chip_counted():
    chip = Cse7766Chip(cf_start=0xFF00)  # wraps right away
    chip.set_load(230, 13, 2990)
    m, truth = run(chip, 400)
    # decoder baseline = the second frame (the first teaches it the coefficients)
    assert m.energy.pulses == truth[-1] - truth[1]
    assert m.energy.wraps >= 1
    assert m.energy_mwh == (m.energy.pulses * chip.coef.p) // 3_600_000
    # and that is the load's energy to within one pulse (+ the first two frames)
    true_mwh = 2990 * 398 * PERIOD_MS / 3600
    assert abs(m.energy_mwh - true_mwh) <= chip.coef.p / 3_600_000 + 1


def test_adj_bit7_toggles_on_every_cf_wrap():
    chip = Cse7766Chip(coef=Coefficients(p=100_000), cf_start=0xFFF0)  # ~2400 pulses a frame
    chip.set_load(230, 10, 2300)
    seen = [(0, 0xFFF0)]
    for _ in range(300):
        f = chip.frame(PERIOD_MS)
        seen.append((f[20] & 0x80, (f[21] << 8) | f[22]))
    flips = sum(1 for a, b in zip(seen, seen[1:], strict=False) if a[0] != b[0])
    wraps = sum(1 for a, b in zip(seen, seen[1:], strict=False) if b[1] < a[1])
    assert wraps >= 10 and flips == wraps


def test_low_power_refreshes_the_power_register_only_every_few_frames():
    chip = Cse7766Chip()
    chip.set_load(230, 0.02, 2.0)  # power period 2.7 s
    frames = [chip.frame(PERIOD_MS) for _ in range(100)]
    refreshed = [f[20] & 0x10 for f in frames]
    assert 2 <= sum(1 for r in refreshed if r) <= 5
    m = Cse7766()
    for f in frames:
        m.feed(f)
    assert abs(m.power_mw - 2000) < 5  # held between refreshes, never reset to 0


def test_no_load_frames_read_zero_power_and_current():
    chip = Cse7766Chip()
    chip.set_load(231, 0, 0)
    m, _ = run(chip, 10)
    f = chip.frame(PERIOD_MS)
    assert f[0] == 0xF2 and not f[20] & 0x10 and f[20] & 0x20
    assert m.power_mw == 0 and m.current_ma == 0
    assert m.raw_current_ma > 0  # the chip's noise is there, the decoder does not show it
    assert abs(m.voltage_mv - 231000) < 300
    assert m.counters["no_load"] == 9


def test_relay_off_then_on_follows_the_load():
    chip = Cse7766Chip()
    chip.set_load(230, 8.7, 2000)
    m, _ = run(chip, 5)
    assert abs(m.power_mw - 2_000_000) < 2000
    chip.set_load(230, 0, 0)
    run(chip, 2, m)
    assert m.power_mw == 0
    chip.set_load(230, 8.7, 2000)
    run(chip, 2, m)
    assert abs(m.power_mw - 2_000_000) < 2000


def test_faults_are_counted_and_energy_stays_exact():
    faults = Faults(garbage=0.05, bad_checksum=0.05, not_calibrated=0.02, truncated=0.02, dropped=0.03,
                    jitter=0.003)
    chip = Cse7766Chip(faults=faults, seed=7, cf_start=0x1000)
    chip.set_load(228, 9.1, 2050)
    m = Cse7766()
    last_accepted_truth = None
    first_truth = None
    for k in range(2000):
        before = m.counters["accepted"]
        m.feed(chip.frame(PERIOD_MS), now_ms=k * PERIOD_MS)
        if m.counters["accepted"] > before:
            last_accepted_truth = chip.pulses
            if first_truth is None:
                first_truth = chip.pulses
    inj = chip.injected
    assert inj.bad_checksum > 50 and inj.not_calibrated > 20 and inj.truncated > 20 and inj.dropped > 30
    c = m.counters
    assert c["not_calibrated"] == inj.not_calibrated
    assert c["bad_checksum"] >= inj.bad_checksum
    assert c["implausible"] == 0 and c["coef_mismatch"] == 0
    assert m.energy.pulses == last_accepted_truth - first_truth
    assert abs(m.power_mw - 2_050_000) < 2_050_000 * 0.004
