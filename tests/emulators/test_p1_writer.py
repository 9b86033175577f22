"""The P1 writer on real serial lines (a pty pair it creates, socket://), paced at line rate and period."""

import socket
import threading
import time

import pytest
import serial

from firmware.p1.reader import TelegramReader
from firmware.timebase import local_to_utc
from hil.emulators.p1.faults import FaultInjector
from hil.emulators.p1.pacing import Pacer
from hil.emulators.p1.profiles import get_profile
from hil.emulators.p1.source import ConstantLoad, TelegramSource, new_meter
from hil.emulators.p1.writer import P1Writer, line_format
from hil.serial_lines import PtyPair


class Keeping(TelegramSource):
    """A TelegramSource that keeps what it produced, to compare with what arrived."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.made = []

    def next(self):
        t = super().next()
        self.made.append(t)
        return t


def source(key, **load):
    p = get_profile(key)
    return Keeping(p, new_meter(p, local_to_utc(2024, 3, 4, 8, 0, 0)), ConstantLoad(**load))


def collect(ser, writer, timeout):
    """(arrival time, bytes) of everything read until the writer finished and the line went quiet."""
    got, received = [], 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = ser.read(max(1, ser.in_waiting))           # returns as soon as anything arrived
        if data:
            got.append((time.monotonic(), data))
            received += len(data)
        elif writer.join(0) and received >= writer.bytes_sent:
            break
    return got


def frames_with_times(got):
    """Telegrams as (first byte arrival, last byte arrival, raw) from timed chunks."""
    out, start, buf = [], None, b''
    for t, data in got:
        for b in data:
            if b == 0x2F:
                start, buf = t, b''
            buf += bytes([b])
            if buf.endswith(b'\r\n') and b'!' in buf and start is not None:
                out.append((start, t, buf))
                start, buf = None, b''
    return out


def assert_paced(frames, w, src, period, baud):
    """Never early: telegram k's first byte not before k periods + one write, its last byte not before
    its whole length at the line rate. How late a busy host makes them is not asserted here
    (test_the_schedule_is_exact_on_a_clock_of_its_own checks the schedule on a clock of the test's own)."""
    scale, char = w.pacer.time_scale, 10 / baud
    for k, (first, last, raw) in enumerate(frames):
        due_first = w.pacer.t0 + (k * period + w.chunk_chars * char) * scale
        due_last = w.pacer.t0 + (k * period + len(raw) * char) * scale
        assert first >= due_first - 0.001, (k, first - due_first)
        assert last >= due_last - 0.001, (k, last - due_last)
    assert all(s.started >= k * period for k, s in enumerate(w.sent))


class StepClock:
    """A clock of the test's own: waiting moves it forward by exactly the time waited."""

    def __init__(self):
        self.t = 1000.0
        self.waits = 0

    def now(self):
        return self.t

    def wait(self, seconds):
        self.waits += 1
        self.t += seconds


def test_the_schedule_is_exact_on_a_clock_of_its_own():
    """Telegram k starts at k periods, its bytes leave at the line rate: exactly, whatever the host does."""
    n = 4
    src = source('emucs17-3p', import_w=2300)
    clock = StepClock()
    with P1Writer(src, None, time_scale=1.0, count=n) as w:
        w.pacer = Pacer(1.0, w.pacer.stop, mono=clock.now, wait=clock.wait)
        ser = w.pair.open(1, baudrate=115200, timeout=0.005)
        w.start()
        assert w.join(10)
        ser.close()
    char = 10 / 115200
    assert [s.started for s in w.sent] == pytest.approx([k * 1.0 for k in range(n)])
    for s in w.sent:
        assert s.finished == pytest.approx(s.started + s.size * char, abs=w.chunk_chars * char)
    assert clock.waits >= n * (len(src.made[0].data) // w.chunk_chars)   # paced chunk by chunk


def test_pty_pair_at_115200_delivers_every_telegram_intact_and_paced():
    scale, n = 0.1, 10
    src = source('emucs17-3p', import_w=2300, gas_dm3_h=200)
    with P1Writer(src, None, time_scale=scale, count=n) as w:
        assert w.connect_to != w.port and w.connect_to.startswith('/dev/')
        ser = serial.serial_for_url(w.connect_to, baudrate=115200, timeout=0.005)
        w.start()
        got = collect(ser, w, 10)
        ser.close()
        assert w.join(1)
    frames = frames_with_times(got)
    assert [raw for _, _, raw in frames] == [t.data for t in src.made]
    reader = TelegramReader()
    assert len(reader.feed(b''.join(d for _, d in got))) == n and reader.counters['crc_errors'] == 0
    assert [t.meter_ts for t in src.made] == [src.made[0].meter_ts + k for k in range(n)]
    assert_paced(frames, w, src, period=1.0, baud=115200)
    assert all(k <= s.started for k, s in enumerate(w.sent))   # never early (late is the host's doing)


def test_dsmr22_at_9600_7e1_every_10_s():
    scale, n = 0.02, 3
    src = source('dsmr22', import_w=500)
    with P1Writer(src, None, time_scale=scale, count=n) as w:
        assert w.serial.baudrate == 9600
        ser = w.pair.open(1, baudrate=9600, bytesize=7, parity='E', timeout=0.005)
        w.start()
        got = collect(ser, w, 10)
        ser.close()
    frames = frames_with_times(got)
    assert [raw for _, _, raw in frames] == [t.data for t in src.made]
    assert_paced(frames, w, src, period=10.0, baud=9600)


def test_socket_url_to_a_loopback_server():
    server = socket.create_server(('127.0.0.1', 0))
    port = server.getsockname()[1]
    received = bytearray()

    def serve():
        conn, _ = server.accept()
        with conn:
            while chunk := conn.recv(65536):
                received.extend(chunk)

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    src = source('dsmr5', import_w=800)
    w = P1Writer(src, 'socket://127.0.0.1:%d' % port, time_scale=0.05, count=3)
    assert w.connect_to == 'socket://127.0.0.1:%d' % port
    w.start()
    assert w.join(10)
    w.stop()
    th.join(5)
    server.close()
    assert bytes(received) == b''.join(t.data for t in src.made)


def test_faults_are_stamped_when_they_hit_the_line():
    src = source('emucs17-3p', import_w=100)
    inj = FaultInjector(line_format(src), True, seed=2)
    inj.schedule(1, 'wrong_crc')
    inj.schedule(2, 'garbage', n=5)
    with P1Writer(src, None, injector=inj, time_scale=0.05, count=3) as w:
        ser = serial.serial_for_url(w.connect_to, timeout=0.005)
        w.start()
        collect(ser, w, 10)
        ser.close()
    assert [(r.kind, r.telegram) for r in w.faults] == [('wrong_crc', 1), ('garbage', 2)]
    assert [r.sent_at for r in w.faults] == [w.sent[1].started, w.sent[2].started]
    assert w.sent[1].faults == (w.faults[0],)


def test_stop_ends_a_run_without_count_at_once():
    src = source('emucs17-3p')
    # thirty times slower than the meter: after the first telegram the next one is ~28 s away, so the
    # writer's thread has ended within stop()'s 10 s join only if stop() cuts its wait short
    w = P1Writer(src, None, time_scale=30)
    w.start()
    assert w.wait_sent(1, 60)
    w.stop()
    assert not w._thread.is_alive()
    assert len(w.sent) == 1


def test_a_port_that_cannot_be_opened_is_a_clear_error():
    with socket.create_server(('127.0.0.1', 0)) as s:
        port = s.getsockname()[1]
    with pytest.raises(serial.SerialException, match='127.0.0.1'):
        P1Writer(source('dsmr5'), 'socket://127.0.0.1:%d' % port)


def test_errors_on_the_writer_thread_are_raised_by_join():
    src = source('emucs17-3p')
    inj = FaultInjector(line_format(src), True)
    inj.schedule(0, 'truncate', keep=10**6)                    # impossible: raises in the thread
    w = P1Writer(src, None, injector=inj, time_scale=0.05, count=2)
    w.start()
    with pytest.raises(ValueError, match='truncate'):
        w.join(5)
    w.stop()


@pytest.mark.filterwarnings('ignore:set.*(Daemon|Name).*:DeprecationWarning')   # inside pyserial's client
def test_rfc2217_url_to_a_loopback_port_server():
    """A serial port server speaking RFC 2217 (pyserial's PortManager, as ser2net would) in front of one
    end of a pty pair: the writer connects as rfc2217://, sets the line, streams; the other end reads."""
    from serial.rfc2217 import PortManager

    class PtyPort(serial.Serial):
        # a pty has no modem lines: report what an idle cable would, accept DTR/RTS/break silently
        cts = dsr = cd = True
        ri = False

        def _update_dtr_state(self):
            pass

        def _update_rts_state(self):
            pass

        def _update_break_state(self):
            pass

    pair = PtyPair()
    port_side = PtyPort(pair.names[0], timeout=0.05)
    server = socket.create_server(('127.0.0.1', 0))
    done = threading.Event()

    def serve():
        conn, _ = server.accept()
        conn.settimeout(0.05)

        class Net:
            def write(self, data):
                conn.sendall(data)

        manager = PortManager(port_side, Net())
        while not done.is_set():
            try:
                data = conn.recv(4096)
            except TimeoutError:
                continue
            if not data:
                break
            port_side.write(b''.join(manager.filter(data)))
        conn.close()

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    src = source('emucs17-3p', import_w=100)
    reader_side = pair.open(1, timeout=0.01)
    w = P1Writer(src, 'rfc2217://127.0.0.1:%d' % server.getsockname()[1], time_scale=0.05, count=3)
    assert port_side.baudrate == 115200                       # set by the writer through RFC 2217
    w.start()
    got = collect(reader_side, w, 10)
    w.stop()
    done.set()
    th.join(5)
    server.close()
    pair.close()
    assert b''.join(d for _, d in got) == b''.join(t.data for t in src.made)


def test_a_counted_run_drains_the_line_before_closing_it():
    # the last telegram used to be lost when the pty closed right after it was written
    src = source('dsmr5', import_w=900)
    got = bytearray()
    with P1Writer(src, None, time_scale=0.01, count=3) as w:
        ser = serial.serial_for_url(w.connect_to, baudrate=115200, timeout=0.05)

        def read() -> None:
            while True:                                       # until the line closes
                try:
                    got.extend(ser.read(max(1, ser.in_waiting)))  # returns as soon as bytes came
                except (serial.SerialException, OSError):  # the line closed
                    return

        th = threading.Thread(target=read, daemon=True)
        th.start()
        w.start()
        assert w.join(30)
        w.stop()                       # drains: every byte written reaches the reader before the close
        th.join(10)
        ser.close()
    reader = TelegramReader()
    assert len(reader.feed(bytes(got)) + reader.end()) == 3 and reader.counters['crc_errors'] == 0
