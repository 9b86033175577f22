"""P1 line recordings: raw bytes with their arrival times, in a text file anyone can read and diff.

Format (`.p1rec`, UTF-8 text, one record per line):

    # p1rec 1 {"port": "/dev/ttyUSB0", "baudrate": 115200, "bytesize": 8, "parity": "N", "stopbits": 1,
               "started_utc": "2026-11-27T09:30:00Z"}          <- one line: magic, version, JSON header
    0.000000 2f464c55355c3235333736393438345f410d0a           <- seconds since start, bytes as hex
    0.012480 0d0a302d303a39362e312e34283530323137290d0a
    # any other line starting with '#' is a comment

Times are seconds on a monotonic clock since recording started, when the chunk was read (so they are
as fine as the serial driver delivers chunks). Bytes are exactly what came off the line.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

import attrs
import serial

from firmware.timebase import iso_utc

from .pacing import Pacer

MAGIC = '# p1rec'
VERSION = 1


@attrs.frozen
class Chunk:
    """Bytes that arrived together, t seconds after the recording started."""

    t: float
    data: bytes


@attrs.frozen
class Recording:
    """A recording's header (port, line settings, start time) and its chunks in order."""

    header: dict[str, Any]
    chunks: tuple[Chunk, ...]

    @property
    def data(self) -> bytes:
        """All bytes of the recording, joined."""
        return b''.join(c.data for c in self.chunks)

    @property
    def duration(self) -> float:
        """Time of the last chunk, s."""
        return self.chunks[-1].t if self.chunks else 0.0


def is_recording(head: bytes) -> bool:
    """Return True when a file starting with `head` is a .p1rec recording."""
    return head.startswith(MAGIC.encode())


def header_line(header: dict[str, Any]) -> str:
    """Return the first line of a recording with this header."""
    return '%s %d %s\n' % (MAGIC, VERSION, json.dumps(header, sort_keys=True))


def chunk_line(t: float, data: bytes) -> str:
    """Return the line of one chunk."""
    return '%.6f %s\n' % (t, data.hex())


def parse_recording(text: str, where: str = 'recording') -> Recording:
    """Read a recording's text; ValueError saying which line is wrong and what was expected."""
    lines = text.splitlines()
    if not lines or not lines[0].startswith(MAGIC + ' '):
        raise ValueError('%s line 1: expected "%s <version> <json header>", got %r'
                         % (where, MAGIC, lines[0][:60] if lines else ''))
    parts = lines[0][len(MAGIC) + 1:].split(' ', 1)
    if parts[0] != str(VERSION):
        raise ValueError('%s line 1: expected format version %d, got %r' % (where, VERSION, parts[0]))
    try:
        header = json.loads(parts[1]) if len(parts) > 1 else {}
    except json.JSONDecodeError as e:
        raise ValueError('%s line 1: header is not JSON (%s)' % (where, e)) from None
    chunks = []
    last = 0.0
    for no, line in enumerate(lines[1:], start=2):
        if not line.strip() or line.startswith('#'):
            continue
        fields = line.split(' ')
        try:
            if len(fields) != 2:
                raise ValueError
            t = float(fields[0])
            data = bytes.fromhex(fields[1])
        except ValueError:
            raise ValueError('%s line %d: expected "<seconds> <hex bytes>", got %r'
                             % (where, no, line[:60])) from None
        if t < last:
            raise ValueError('%s line %d: time %.6f goes back before %.6f' % (where, no, t, last))
        last = t
        chunks.append(Chunk(t, data))
    return Recording(header, tuple(chunks))


def read_recording(path: str | Path) -> Recording:
    """Read a .p1rec file."""
    return parse_recording(Path(path).read_text(encoding='utf-8'), str(path))


def write_recording(path: str | Path, header: dict[str, Any], chunks: Iterable[Chunk]) -> None:
    """Write a .p1rec file."""
    with open(path, 'w', encoding='utf-8') as f:
        f.write(header_line(header))
        for c in chunks:
            f.write(chunk_line(c.t, c.data))


def line_header(ser: serial.Serial, port: str) -> dict[str, Any]:
    """Return a recording header describing port and the settings ser is opened with."""
    return {'port': port, 'baudrate': ser.baudrate, 'bytesize': ser.bytesize, 'parity': ser.parity,
            'stopbits': ser.stopbits, 'started_utc': iso_utc(int(time.time()))}


def record(ser: serial.Serial, out: IO[str], *, duration: float | None = None, max_bytes: int | None = None,
           stop: threading.Event | None = None, on_chunk: Callable[[Chunk], None] | None = None,
           header: dict[str, Any] | None = None) -> int:
    """Copy what arrives on ser to out as recording lines until duration, max_bytes or stop.

    ser should have a short read timeout (it bounds how late a stop is noticed). Returns bytes recorded.
    """
    stop = stop or threading.Event()
    out.write(header_line(header or line_header(ser, ser.port or '')))
    t0 = time.monotonic()
    total = 0
    while not stop.is_set():
        now = time.monotonic() - t0
        if duration is not None and now >= duration:
            break
        data = ser.read(max(1, ser.in_waiting or 1))
        if not data:
            continue
        chunk = Chunk(time.monotonic() - t0, data)
        out.write(chunk_line(chunk.t, chunk.data))
        out.flush()
        total += len(data)
        if on_chunk is not None:
            on_chunk(chunk)
        if max_bytes is not None and total >= max_bytes:
            break
    return total


def replay(rec: Recording, ser: serial.Serial, *, speed: float = 1.0, stop: threading.Event | None = None,
           on_chunk: Callable[[Chunk], None] | None = None) -> int:
    """Write the recording's chunks to ser at their original times divided by speed (0: at once).

    Returns the bytes written; stops early when stop is set.
    """
    if speed < 0:
        raise ValueError('speed: expected >= 0 (0 = as fast as possible), got %r' % (speed,))
    pacer = Pacer(1.0 / speed if speed else 1.0, stop)
    pacer.start()
    total = 0
    for c in rec.chunks:
        if speed and not pacer.wait_until(c.t):
            break
        if pacer.stop.is_set():
            break
        ser.write(c.data)
        total += len(c.data)
        if on_chunk is not None:
            on_chunk(c)
    ser.flush()
    return total
