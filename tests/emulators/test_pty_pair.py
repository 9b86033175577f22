"""hil.serial_lines.PtyPair: two named ptys joined like a null-modem cable, either end opened by pyserial."""

import os
import time

import serial

from hil.serial_lines import PtyPair


def read_exactly(ser, n, timeout=5.0):
    deadline = time.monotonic() + timeout
    out = b''
    while len(out) < n and time.monotonic() < deadline:
        out += ser.read(n - len(out))
    return out


def test_both_ends_have_names_and_carry_bytes_both_ways_8_bit_clean():
    with PtyPair() as pair:
        a_name, b_name = pair.names
        assert a_name != b_name and a_name.startswith('/dev/pts/') and os.path.exists(b_name)
        a = pair.open(0, baudrate=115200, timeout=0.2)
        b = serial.serial_for_url(b_name, baudrate=115200, timeout=0.2)
        every = bytes(range(256)) * 8
        a.write(every)
        assert read_exactly(b, len(every)) == every          # CR, LF, 0x00, 0xFF untouched
        b.write(b'\r\nback\n')
        assert read_exactly(a, 7) == b'\r\nback\n'
        assert pair.drain(2, len(every) + 7) and pair.dropped == 0
        a.close()
        b.close()


def test_any_line_settings_are_accepted():
    with PtyPair() as pair:
        a = pair.open(0, baudrate=9600, bytesize=7, parity='E', stopbits=1, timeout=0.2)
        b = pair.open(1, baudrate=9600, bytesize=7, parity='E', timeout=0.2)
        a.write(b'/ISk5\\2MT382-1004\r\n')
        assert read_exactly(b, 19) == b'/ISk5\\2MT382-1004\r\n'
        a.close()
        b.close()


def test_nobody_listening_loses_the_bytes_and_never_blocks_the_sender():
    with PtyPair(hold_s=0.05) as pair:
        a = pair.open(0, write_timeout=5)
        t0 = time.monotonic()
        for _ in range(40):
            a.write(b'x' * 16384)                             # 640 KiB, far beyond any pty buffer
        assert time.monotonic() - t0 < 5
        assert pair.drain(5, 40 * 16384)
        assert pair.dropped > 0 and pair.dropped + pair.copied == 40 * 16384
        a.close()


def test_close_stops_the_bridge():
    pair = PtyPair()
    pair.close()
    assert not pair._thread.is_alive()
    pair.close()                                             # twice is harmless


def test_on_idle_is_called_after_each_copy():
    """A rig clock waiting on idle() is woken by on_idle once the bridge passed the bytes on."""
    import threading

    done = threading.Event()
    seen: list[int] = []
    with PtyPair() as pair:
        def idle_now() -> None:
            seen.append(pair.copied)
            done.set()
        pair.on_idle(idle_now)
        a = pair.open(0, timeout=1)
        b = pair.open(1, timeout=1)
        line = b"0-1:24.2.1(101209113020W)(12785.123*m3)\r\n"
        try:
            a.write(line)
            assert done.wait(5), "on_idle never called after a copy"
            assert b.read(len(line)) == line
            assert seen and seen[0] > 0 and pair.copied == len(line)   # called after the bytes went through
        finally:
            a.close()
            b.close()
