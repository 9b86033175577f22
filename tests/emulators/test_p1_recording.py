"""Recordings of a P1 line: the file format, recording a live line, replaying it at its pace or faster."""

import threading
import time

import pytest
import serial

from firmware.timebase import local_to_utc
from hil.emulators.p1.profiles import get_profile
from hil.emulators.p1.recording import (
    Chunk,
    Recording,
    chunk_line,
    header_line,
    parse_recording,
    read_recording,
    record,
    replay,
    write_recording,
)
from hil.emulators.p1.source import ConstantLoad, TelegramSource, new_meter
from hil.emulators.p1.writer import P1Writer
from hil.serial_lines import PtyPair


def test_file_round_trip(tmp_path):
    header = {'port': '/dev/ttyUSB0', 'baudrate': 115200, 'bytesize': 8, 'parity': 'N', 'stopbits': 1}
    chunks = [Chunk(0.0, b'/FLU5\r\n'), Chunk(0.0123456, bytes(range(256))), Chunk(1.5, b'!ABCD\r\n')]
    path = tmp_path / 'line.p1rec'
    write_recording(path, header, chunks)
    text = path.read_text()
    assert text.startswith('# p1rec 1 {') and '\n0.012346 000102' in text
    rec = read_recording(path)
    assert rec.header == header
    assert [c.data for c in rec.chunks] == [c.data for c in chunks]
    assert [c.t for c in rec.chunks] == [0.0, 0.012346, 1.5]
    assert rec.data == b''.join(c.data for c in chunks) and rec.duration == 1.5


def test_comments_and_blank_lines_are_skipped():
    rec = parse_recording(header_line({}) + '# a note\n\n' + chunk_line(0.5, b'ab'))
    assert rec.chunks == (Chunk(0.5, b'ab'),)


@pytest.mark.parametrize('text, message', [
    ('hello\n', r'line 1: expected "# p1rec <version> <json header>", got \'hello\''),
    ('# p1rec 9 {}\n', 'line 1: expected format version 1, got \'9\''),
    ('# p1rec 1 {nope\n', 'line 1: header is not JSON'),
    ('# p1rec 1 {}\n0.1 6162\n0.2 zz\n', r'line 3: expected "<seconds> <hex bytes>", got \'0.2 zz\''),
    ('# p1rec 1 {}\n0.5 61\n0.2 62\n', 'line 3: time 0.200000 goes back before 0.500000'),
])
def test_bad_recordings_say_where_and_what(text, message):
    with pytest.raises(ValueError, match=message):
        parse_recording(text, 'x.p1rec')


def emulator(n, scale):
    p = get_profile('emucs17-3p')
    src = TelegramSource(p, new_meter(p, local_to_utc(2024, 5, 2, 12, 0, 0)), ConstantLoad(900, 0, 0))
    return P1Writer(src, None, time_scale=scale, count=n)


def test_record_then_replay_round_trip(tmp_path):
    # record 3 telegrams of the emulator from one pty pair...
    with emulator(3, 0.05) as w:
        line = serial.serial_for_url(w.connect_to, baudrate=115200, timeout=0.01)
        path = tmp_path / 'meter.p1rec'
        stop = threading.Event()
        got = bytearray()

        def on_chunk(c):
            got.extend(c.data)
            if w.join(0) and len(got) >= w.bytes_sent:
                stop.set()

        with path.open('w') as f:
            w.start()
            total = record(line, f, duration=10, stop=stop, on_chunk=on_chunk)
        line.close()
        sent = w.bytes_sent
    rec = read_recording(path)
    assert total == sent == len(rec.data) and rec.data.count(b'/FLU5') == 3
    assert rec.header['baudrate'] == 115200 and rec.header['port'] == w.connect_to
    times = [c.t for c in rec.chunks]
    # 2 periods at scale 0.05: never sooner (a busy host may deliver later, so no upper bound)
    assert times == sorted(times) and times[-1] - times[0] > 0.07

    # ...and play it back into another one, four times faster
    with PtyPair() as pair:
        a = pair.open(0)
        b = pair.open(1, timeout=0.01)
        t0 = time.monotonic()
        arrivals = []
        th = threading.Thread(target=lambda: replay(rec, a, speed=4), daemon=True)
        th.start()
        back = bytearray()
        while len(back) < len(rec.data) and time.monotonic() - t0 < 5:
            data = b.read(max(1, b.in_waiting))
            if data:
                arrivals.append((time.monotonic() - t0, len(back)))
                back.extend(data)
        th.join(5)
        a.close()
        b.close()
    assert bytes(back) == rec.data
    # never early: the byte at offset o arrives no sooner than its chunk's time / 4
    starts = {}
    offset = 0
    for c in rec.chunks:
        starts[offset] = c.t - rec.chunks[0].t
        offset += len(c.data)
    for t, off in arrivals:
        due = max(v for k, v in starts.items() if k <= off) / 4
        assert t >= due - 0.005


def test_replay_at_once_and_stop():
    rec = Recording({}, (Chunk(0.0, b'a'), Chunk(100.0, b'b')))
    with PtyPair() as pair:
        a, b = pair.open(0), pair.open(1, timeout=1)
        t0 = time.monotonic()
        assert replay(rec, a, speed=0) == 2 and time.monotonic() - t0 < 50     # speed 0: not the 100 s
        assert b.read(2) == b'ab'
        stop = threading.Event()
        threading.Timer(0.05, stop.set).start()
        assert replay(rec, a, speed=1, stop=stop) == 1                         # stopped before t=100 s
        a.close()
        b.close()
    with pytest.raises(ValueError, match='speed'):
        replay(rec, None, speed=-1)
