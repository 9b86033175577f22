"""A board's UART on the host: any pyserial URL, read by a thread, awaited by the asyncio app.

Like the ESP32's UART driver it has a receive buffer of `rxbuf` bytes: when the app does not read in
time the oldest bytes are lost and counted in `overruns` (what would happen on the device), so a test
can prove the app keeps up. If the line goes away (the far end closed, a USB adapter unplugged) the
reader reopens it every `reopen_s` and counts `reopens`; the app just sees no bytes meanwhile.
"""

from __future__ import annotations

import asyncio
import sys
import termios
import threading
from typing import Any

import serial

PARITY = {None: serial.PARITY_NONE, 0: serial.PARITY_EVEN, 1: serial.PARITY_ODD}
FRAMING = ("bytesize", "parity", "stopbits")   # the settings a pty may refuse


def is_pty(url: str) -> bool:
    """Whether the URL names a pseudo-terminal (Unix98 /dev/pts/N)."""
    return url.startswith("/dev/pts/")


def open_line(url: str, baudrate: int, bits: int = 8, parity: int | None = None, stop: int = 1,
              timeout: float = 0.05) -> serial.Serial:
    """Open a pyserial URL in a format given the machine.UART way (parity None / 0 even / 1 odd).

    Some kernels refuse parity or 7-bit settings on a pty (it carries bytes, not framed bits); a pty is
    then opened at the speed only, which changes nothing about the bytes it carries.
    """
    if parity not in PARITY:
        raise ValueError(f"parity {parity!r}: expected None, 0 (even) or 1 (odd)")
    return serial_for_url(url, baudrate=baudrate, bytesize=bits, parity=PARITY[parity], stopbits=stop,
                          timeout=timeout)


def serial_for_url(url: str, **settings: Any) -> serial.Serial:
    """``serial.serial_for_url``; a pty whose kernel refuses the framing (parity, size) opens at its speed.

    A pty carries bytes, not framed bits: the speed alone changes nothing about what it carries.
    """
    try:
        return serial.serial_for_url(url, **settings)
    except (serial.SerialException, termios.error):
        if not is_pty(url):
            raise
        return serial.serial_for_url(url, **{k: v for k, v in settings.items() if k not in FRAMING})


class HostUart:
    """The host side of `hal.uart(name)`."""

    def __init__(self, url: str, baudrate: int, bits: int = 8, parity: int | None = None, stop: int = 1,
                 rxbuf: int = 4096, reopen_s: float = 0.5) -> None:
        """Open the line and start reading it."""
        self.url = url
        self.rxbuf = rxbuf
        self.reopen_s = reopen_s
        self.overruns = 0
        self.reopens = 0
        self.received = 0
        self.error: BaseException | None = None
        self._fmt = (baudrate, bits, parity, stop)
        self._buf = bytearray()
        self._lock = threading.Lock()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        self._closed = threading.Event()
        self.port = self._open()
        self._thread = threading.Thread(target=self._pump, name=f"uart {url}", daemon=True)
        self._thread.start()

    def _open(self) -> serial.Serial:
        baudrate, bits, parity, stop = self._fmt
        return open_line(self.url, baudrate, bits, parity, stop)

    def reformat(self, baudrate: int, bits: int = 8, parity: int | None = None, stop: int = 1) -> None:
        """Change the line format (e.g. P1 from 115200 8N1 to 9600 7E1 for DSMR 2.2)."""
        if parity not in PARITY:
            raise ValueError(f"parity {parity!r}: expected None, 0 (even) or 1 (odd)")
        self._fmt = (baudrate, bits, parity, stop)
        settings = {"baudrate": baudrate, "bytesize": bits, "parity": PARITY[parity], "stopbits": stop}
        try:
            self.port.apply_settings(settings)
        except (serial.SerialException, termios.error):
            if not is_pty(self.url):
                raise
            # some kernels refuse parity/size changes on a pty (it has no bits to frame): speed only
            self.port.apply_settings({"baudrate": baudrate})

    @property
    def format(self) -> tuple[int, int, int | None, int]:
        """(baudrate, bits, parity, stop) as configured."""
        return self._fmt

    def _pump(self) -> None:
        while not self._closed.is_set():
            data = b""
            try:
                data = self.port.read(max(1, self.port.in_waiting))
                if data and self.port.in_waiting:   # the rest of the write that woke the read: one push
                    data += self.port.read(self.port.in_waiting)
            except (OSError, serial.SerialException, TypeError, AttributeError) as e:
                if self._closed.is_set():
                    return
                if data:
                    self._push(data)   # what came before the line went away is kept
                self.error = e
                # on the board's console: a stalled rig clock's report then says why the count stopped
                print(f"uart {self.url}: read failed after {self.received} bytes: {e}; reopening",
                      file=sys.stderr, flush=True)
                self._reopen()
                continue
            if data:
                self._push(data)

    def _reopen(self) -> None:
        try:
            self.port.close()
        except (OSError, serial.SerialException):
            pass
        while not self._closed.wait(self.reopen_s):
            try:
                self.port = self._open()
                self.reopens += 1
                return
            except (OSError, serial.SerialException) as e:
                self.error = e

    def _push(self, data: bytes) -> None:
        with self._lock:
            self.received += len(data)
            self._buf += data
            over = len(self._buf) - self.rxbuf
            if over > 0:
                del self._buf[:over]
                self.overruns += over
            waiters, self._waiters = self._waiters, []
        for loop, ev in waiters:
            try:
                loop.call_soon_threadsafe(ev.set)
            except RuntimeError:  # that loop is closed: nobody waits there any more
                pass

    def any(self) -> int:
        """Bytes waiting in the receive buffer."""
        with self._lock:
            return len(self._buf)

    def read_now(self, n: int = 256) -> bytes:
        """Up to n buffered bytes, without waiting (b'' when none)."""
        with self._lock:
            out = bytes(self._buf[:n])
            del self._buf[:n]
            return out

    async def read(self, n: int = 256) -> bytes:
        """Wait for at least one byte; return up to n."""
        loop = asyncio.get_running_loop()
        while True:
            ev = asyncio.Event()
            with self._lock:
                if self._buf:
                    out = bytes(self._buf[:n])
                    del self._buf[:n]
                    return out
                if self._closed.is_set():
                    raise OSError(f"UART {self.url} is closed")
                self._waiters.append((loop, ev))
            await ev.wait()

    def write(self, data: bytes) -> int:
        """Send bytes; returns how many."""
        return self.port.write(data) or 0

    def close(self) -> None:
        """Stop reading and close the line; pending read() calls raise OSError."""
        self._closed.set()
        self._thread.join(timeout=2)
        try:
            self.port.close()
        except (OSError, serial.SerialException):
            pass
        with self._lock:
            waiters, self._waiters = self._waiters, []
        for loop, ev in waiters:
            try:
                loop.call_soon_threadsafe(ev.set)
            except RuntimeError:
                pass
