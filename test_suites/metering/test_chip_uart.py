"""Emulator -> pty pair at 4800 8E1 -> decoder, in real time, as the SmartPlug's UART sees it."""

import termios
import time

import serial

from firmware.metering.cse7766 import Cse7766
from hil.emulators.cse7766 import PERIOD_S, UART_SETTINGS, Cse7766Chip, Cse7766Emulator, Faults
from hil.serial_lines import PtyPair


def read_until(port: serial.Serial, m: Cse7766, done, timeout: float) -> None:
    """Feed the decoder from the port until done() holds; fail after timeout seconds."""
    end = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < end, f"condition not met within {timeout} s; counters {m.counters}"
        data = port.read(max(1, port.in_waiting))
        if data:
            m.feed(data, int(time.monotonic() * 1000))


def test_line_settings_are_4800_8e1():
    with PtyPair() as pty:
        em = Cse7766Emulator(pty.names[0])
        try:
            p = em.port
            assert (p.baudrate, p.bytesize, p.parity, p.stopbits) == (4800, 8, "E", 1)
            # what the kernel was told (a Linux pty keeps the speed and CS8; it drops PARENB, having no
            # bits on a wire to add a parity bit to)
            _, _, cflag, _, ispeed, ospeed, _ = termios.tcgetattr(p.fd)
            assert ispeed == ospeed == termios.B4800
            assert cflag & termios.CSIZE == termios.CS8
            assert not cflag & termios.CSTOPB
        finally:
            em.stop()


def test_round_trip_over_a_pty_pair_in_real_time():
    with PtyPair() as pty:
        port = serial.serial_for_url(pty.names[1], **UART_SETTINGS, timeout=0.05)
        em = Cse7766Emulator(pty.names[0])
        em.set_load(230.0, 4.35, 1000.0)
        m = Cse7766()
        try:
            t0 = time.monotonic()
            with em:
                read_until(port, m, lambda: m.counters["accepted"] >= 8, timeout=5)
                em.set_load(230.0, 0.0, 0.0)  # relay off
                read_until(port, m, lambda: m.power_mw == 0, timeout=2)
                elapsed = time.monotonic() - t0
                sent = em.sent_frames
            # after the thread stopped nothing is in flight but what the pty holds
            read_until(port, m, lambda: m.counters["frames"] == em.sent_frames, timeout=2)
        finally:
            port.close()
    assert em.error is None
    # the pace of a real chip, one frame every ~105 ms: never faster (the schedule is absolute: a late
    # thread catches up, it does not run ahead); a chip much slower would not give 8 frames within 5 s
    assert sent <= elapsed / PERIOD_S + 1, (elapsed, sent)
    assert abs(m.voltage_mv - 230_000) < 300
    assert m.current_ma == 0 and m.counters["no_load"] >= 1
    c = m.counters
    assert c["bad_checksum"] == c["resyncs"] == c["garbage_bytes"] == 0
    # every pulse the chip counted after the decoder's baseline (2nd frame) arrived
    assert m.energy.pulses == em.log[-1][1] - em.log[1][1]
    assert m.energy.pulses > 0


def test_faulty_line_in_real_time():
    chip = Cse7766Chip(faults=Faults(garbage=0.2, bad_checksum=0.2, truncated=0.1), seed=3)
    with PtyPair() as pty:
        port = serial.serial_for_url(pty.names[1], **UART_SETTINGS, timeout=0.05)
        em = Cse7766Emulator(pty.names[0], chip, period_s=0.02)  # faster than a chip: the pty does not care
        em.set_load(235.0, 12.0, 2700.0)
        m = Cse7766()
        try:
            with em:
                read_until(port, m, lambda: chip.injected.bad_checksum >= 5 and m.counters["accepted"] >= 20,
                           timeout=10)
            read_until(port, m, lambda: port.in_waiting == 0, timeout=2)
            m.feed(port.read(port.in_waiting))
        finally:
            port.close()
    assert m.counters["bad_checksum"] >= chip.injected.bad_checksum
    assert m.counters["implausible"] == 0
    assert abs(m.power_mw - 2_700_000) < 2_700_000 * 0.002


def test_the_relay_gates_the_load(tmp_path):
    from hil.board.gpio import GpioFolder, HostPin

    gpio = GpioFolder(tmp_path / "gpio")
    relay = HostPin(gpio, "relay", "out")  # the plug's relay line, as an emulated board writes it
    with PtyPair() as pty:
        port = serial.serial_for_url(pty.names[1], **UART_SETTINGS, timeout=0.05)
        em = Cse7766Emulator(pty.names[0], period_s=0.02, gate=lambda: gpio.read("relay") == 1)
        em.set_load(230.0, 8.7, 2000.0)  # the appliance behind the plug
        m = Cse7766()
        try:
            with em:
                read_until(port, m, lambda: m.counters["accepted"] >= 3, timeout=5)
                assert m.power_mw == 0 and m.counters["no_load"] >= 3  # relay open: no current
                relay.on()
                read_until(port, m, lambda: (m.power_mw or 0) > 1_990_000, timeout=5)
                assert abs(m.current_ma - 8700) < 20
                relay.off()
                read_until(port, m, lambda: m.power_mw == 0, timeout=5)
        finally:
            port.close()
    assert abs(m.voltage_mv - 230_000) < 300


class Recorded:
    """A port that keeps every write (what the emulator hands the line, call by call)."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.writes.append(bytes(data))
        return len(data)

    def close(self) -> None:
        pass


def test_clocked_frames_of_one_instant_go_out_in_one_write():
    """On a rig's clock the frames due at an instant are one write (the board reads them together, whatever
    the host's load), the same bytes as frame after frame, and a long step is capped at MAX_BURST frames."""
    from hil.emulators.cse7766 import MAX_BURST

    with PtyPair() as pty:
        em = Cse7766Emulator(pty.names[0], Cse7766Chip(seed=7))
        em.port.close()
        em.port = rec = Recorded()    # type: ignore[assignment]
        twin = Cse7766Chip(seed=7)
        for chip in (em.chip, twin):
            chip.set_load(230.0, 4.0, 920.0)
        period = round(PERIOD_S * 1000)
        assert em.clocked(0) == 0 and rec.writes == []                 # the first call sets the phase
        n = em.clocked(1000)
        assert n == 1000 // period and len(rec.writes) == 1
        assert rec.writes[0] == b"".join(twin.frame(period) for _ in range(n))
        assert em.sent_frames == n and em.sent_bytes == 24 * n
        assert em.clocked(1000 + 60_000) == MAX_BURST and len(rec.writes) == 2
        assert len(rec.writes[1]) == 24 * MAX_BURST
        assert em.clocked(62_000, powered=False) == 0 and len(rec.writes) == 2   # no supply: nothing
