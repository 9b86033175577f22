"""The P1 line driver: streams a meter's telegrams to a serial line like a real meter, on a thread.

Telegram k starts k periods after `start()`; its bytes come out at the profile's line rate (each chunk
is written when its last character would have finished arriving on a real UART). Pacing uses a monotonic
clock and Event.wait; `time_scale` shrinks every duration for tests (0.1 = ten times faster, the meter's
own clock still advances one full period per telegram).

The port: None creates a `PtyPair` and writes to its end 0; connect the reader to `connect_to` (end 1).
Anything else is a pyserial URL (`/dev/ttyUSB0`, `socket://127.0.0.1:2000`, `rfc2217://host:port`),
opened at the profile's baud rate, byte size, parity and stop bits. `listen=(host, port)` instead serves
the line to any number of TCP clients (`listen.LineServer`; connect_to is its socket:// URL).
On its own pty pair the writer is the wire too: when the reader's end is set to another speed than the
meter's (a SmartMeter trying 9600 7E1 on a 115200 8N1 meter), the reader gets what its UART would decode
(`uart.misbaud`: garbage), not the meter's bytes; `misread` counts those writes. A Linux pty keeps only
the speed, so the reader's character format is taken as P1's for that speed (7E1 at 9600, else 8N1).
A counted run's stop() first lets the line pass on everything written (a pty's bridge drains), so the
last telegram is not lost when the line closes.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType

import attrs
import serial

from hil.serial_lines import PtyPair, open_pty

from .faults import FaultInjector, FaultRecord, Transmission
from .listen import LineServer
from .pacing import Pacer
from .source import TelegramSource
from .uart import UartFormat, misbaud

CHUNK_S = 0.002     # real seconds of line time per write: fine enough pacing, few system calls


@attrs.define
class Sent:
    """One telegram period as it went out: number, meter clock, bytes put on the line, when (s)."""

    index: int
    meter_ts: int
    size: int
    started: float              # unscaled seconds since start(): first character on the line
    finished: float             # last character written (= arrived, at the line rate)
    faults: tuple[FaultRecord, ...] = ()


def p1_format(baudrate: int) -> UartFormat:
    """Return the P1 character format at this speed: 9600 7E1 (DSMR 2.2/3), otherwise 8N1."""
    return UartFormat(baudrate, 7, 'E', 1) if baudrate == 9600 else UartFormat(baudrate)


def line_format(source: TelegramSource) -> UartFormat:
    """Return the UART settings of the source's profile."""
    p = source.profile
    return UartFormat(p.baudrate, p.bytesize, p.parity, p.stopbits)


class P1Writer:
    """Streams telegrams from a TelegramSource to a serial line, with optional faults."""

    def __init__(self, source: TelegramSource, port: str | None = None, *,
                 injector: FaultInjector | None = None, time_scale: float = 1.0, count: int | None = None,
                 first_at: float = 0.0, listen: tuple[str, int] | None = None) -> None:
        """Open the line (a new pty pair when port is None); nothing is sent before start().

        count: stop after this many telegram periods (None: until stop()).
        first_at: unscaled seconds after start() at which telegram 0 begins.
        listen: (host, port) to serve the line to TCP clients instead (port 0: a free one).
        """
        self.source = source
        self.line = line_format(source)
        self.injector = injector
        self.count = count
        self.first_at = first_at
        self._stop = threading.Event()
        self.pacer = Pacer(time_scale, self._stop)
        self.pair: PtyPair | None = None
        self.server: LineServer | None = None
        p = source.profile
        if listen is not None:
            if port is not None:
                raise ValueError('expected a port or listen, not both')
            self.server = LineServer(*listen)
            self.port = self.connect_to = self.server.url
        elif port is None:
            self.pair = PtyPair()
            self.port = self.pair.names[0]
            self.connect_to = self.pair.names[1]
            open_pty(self.connect_to, baudrate=p.baudrate).close()   # the reader's end starts at our speed
        else:
            self.port = port
            self.connect_to = port
        # a write blocked this long means the line is stuck; pyserial's rfc2217 client has no write timeout
        extra = {} if self.port.startswith('rfc2217://') else {'write_timeout': 10}
        settings = dict(baudrate=p.baudrate, bytesize=p.bytesize, parity=p.parity, stopbits=p.stopbits,
                        **extra)
        self.serial: serial.SerialBase | LineServer
        if self.server is not None:
            self.serial = self.server
        elif self.pair is not None:
            self.serial = self.pair.open(0, **settings)
        else:
            self.serial = serial.serial_for_url(self.port, **settings)
        self.sent: list[Sent] = []
        self.bytes_sent = 0
        self.misread = 0                # writes the reader's end decoded at another speed
        self.error: BaseException | None = None
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    @property
    def char_s(self) -> float:
        """Seconds one character takes on the line."""
        return self.line.frame_bits / self.line.baudrate

    @property
    def chunk_chars(self) -> int:
        """Characters per write: about CHUNK_S of real line time."""
        return max(1, int(CHUNK_S / (self.char_s * self.pacer.time_scale)))

    @property
    def faults(self) -> list[FaultRecord]:
        """Every fault injected so far."""
        return self.injector.log if self.injector else []

    def start(self) -> P1Writer:
        """Start streaming on a background thread."""
        if self._thread is not None:
            raise RuntimeError('writer already started')
        self._thread = threading.Thread(target=self._run, name='p1-writer %s' % self.port, daemon=True)
        self.pacer.start()
        self._thread.start()
        return self

    def stop(self, drain_s: float = 5.0) -> None:
        """Stop streaming (mid-telegram if need be) and close the line.

        A run that sent all its count first waits up to drain_s for the line to pass on what was written.
        """
        finished = (self.count is not None and len(self.sent) >= self.count and self.error is None
                    and not self._stop.is_set())
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(10)
        if finished:
            self.serial.flush()
            if self.pair is not None:
                self.pair.drain(drain_s, self.bytes_sent)
                self.pair.wait_read(1, drain_s)  # closing the pty would discard what is still unread
        self.serial.close()
        if self.pair is not None:
            self.pair.close()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for a counted run to finish; True when it did. Raises what the thread raised."""
        if self._thread is not None:
            self._thread.join(timeout)
        if self.error is not None:
            raise self.error
        return self._thread is not None and not self._thread.is_alive()

    def wait_sent(self, n: int, timeout: float) -> bool:
        """Wait until n telegram periods went out; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.sent) < n and self.error is None:
                left = deadline - time.monotonic()
                if left <= 0 or self._stop.is_set() and not (self._thread and self._thread.is_alive()):
                    return len(self.sent) >= n
                self._cond.wait(left)
        if self.error is not None:
            raise self.error
        return True

    def __enter__(self) -> P1Writer:
        """Use as a context manager: stopped on exit."""
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        """Stop the writer."""
        self.stop()

    def send_period(self, at: float) -> Sent:
        """Clocked mode (a rig's virtual clock paces the line): send the next telegram period whole now.

        ``at``: its place in the schedule, in seconds since the start (recorded as when it went out).
        """
        tg = self.source.next()
        tx = (self.injector.process(tg.index, tg.meter_ts, tg.data) if self.injector
              else Transmission(tg.data))
        if tx.data:
            data = self._as_received(tx.data)
            self.serial.write(data)
            self.bytes_sent += len(data)
        for rec in tx.records:
            rec.sent_at = at
        sent = Sent(tg.index, tg.meter_ts, len(tx.data), at, at + len(tx.data) * self.char_s, tx.records)
        with self._cond:
            self.sent.append(sent)
            self._cond.notify_all()
        return sent

    def _as_received(self, data: bytes) -> bytes:
        """Return what the reader's UART decodes of data (each write starts from an idle line)."""
        if self.pair is None:
            return data             # another program's line: its speed is not ours to know
        speed = self.pair.speed(1)
        if speed is None or speed == self.line.baudrate:
            return data
        self.misread += 1
        return misbaud(data, self.line, p1_format(speed))

    # -- the thread ------------------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            period = self.source.period_s
            k = 0
            while self.count is None or k < self.count:
                if not self.pacer.wait_until(self.first_at + k * period):
                    return
                tg = self.source.next()
                tx = (self.injector.process(tg.index, tg.meter_ts, tg.data) if self.injector
                      else Transmission(tg.data))
                at = self.first_at + k * period + tx.delay_chars * self.char_s
                started = max(at, self.pacer.elapsed())   # late (a busy host): shift, never burst
                if not self._send(tx.data, started):
                    return
                for rec in tx.records:
                    rec.sent_at = started
                with self._cond:
                    self.sent.append(Sent(tg.index, tg.meter_ts, len(tx.data), started, self.pacer.elapsed(),
                                          tx.records))
                    self._cond.notify_all()
                k += 1
        except BaseException as e:  # reported by join()/wait_sent(), never lost with the thread
            self.error = e
            with self._cond:
                self._cond.notify_all()

    def _send(self, data: bytes, at: float) -> bool:
        char_s = self.char_s
        chunk = self.chunk_chars
        for i in range(0, len(data), chunk):
            part = data[i:i + chunk]
            if not self.pacer.wait_until(at + (i + len(part)) * char_s):
                return False
            part = self._as_received(part)
            self.serial.write(part)
            self.bytes_sent += len(part)
        return True
