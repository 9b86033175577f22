"""Serial lines in software: a pair of pseudo-terminals joined like a null-modem cable.

`PtyPair()` creates two ptys and a thread that copies every byte written to one end to the other, like
`socat pty,raw pty,raw`. Both ends have a name (`/dev/pts/N`) and either can be opened with pyserial
(`pair.open(0)`, or `serial.serial_for_url(pair.names[1])` from any process). Baud rate and format set
on an end are accepted and ignored, as on any pty: pacing at the line rate is the sender's job.

An end's speed is readable (`pair.speed(end)`): the P1 emulator uses it to hand a reader listening at another
speed what its UART would decode. (A Linux pty keeps the speed it is set to, not 7-bit or parity settings.)

Like a real line, nobody listening means the bytes are lost: when one end's receive buffer stays full
for `hold_s`, what does not fit is dropped and counted in `dropped`.
"""

from __future__ import annotations

import errno
import fcntl
import os
import select
import termios
import threading
import time
import tty
from collections.abc import Callable
from types import TracebackType

import serial

_SPEEDS = {getattr(termios, n): int(n[1:]) for n in dir(termios) if n[:1] == 'B' and n[1:].isdigit()}


def open_pty(path: str, **kwargs: object) -> serial.Serial:
    """Open a pty with pyserial; when the kernel refuses the character format, open it without."""
    try:
        return serial.serial_for_url(path, **kwargs)
    except (serial.SerialException, termios.error):
        for k in ('bytesize', 'parity', 'stopbits'):
            kwargs.pop(k, None)
        return serial.serial_for_url(path, **kwargs)


class PtyPair:
    """Two named pseudo-terminals connected back to back."""

    def __init__(self, hold_s: float = 2.0) -> None:
        """Create both ends and start copying between them."""
        self.hold_s = hold_s
        self._masters: list[int] = []
        self._slaves: list[int] = []
        for _ in range(2):
            m, s = os.openpty()
            tty.setraw(s)           # no echo, no CR/LF translation, 8 bit clean
            fcntl.fcntl(m, fcntl.F_SETFL, fcntl.fcntl(m, fcntl.F_GETFL) | os.O_NONBLOCK)
            self._masters.append(m)
            self._slaves.append(s)  # held open so a closed end never makes the bridge see EIO
        self.names: tuple[str, str] = (os.ttyname(self._slaves[0]), os.ttyname(self._slaves[1]))
        self.dropped = 0
        self.copied = 0
        self.moved = [0, 0]     # bytes taken from end i and passed on (copied or dropped) to the other end
        self._busy = False
        self._stalled: set[int] = set()
        self._idle = threading.Condition()
        self._on_idle: list[Callable[[], None]] = []
        self._wake_r, self._wake_w = os.pipe()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._bridge, name='pty-bridge %s<->%s' % self.names,
                                        daemon=True)
        self._thread.start()

    def open(self, end: int = 0, **kwargs: object) -> serial.Serial:
        """Open end 0 or 1 with pyserial (kwargs: baudrate, bytesize, parity, timeout, ...).

        Some kernels refuse parity or 7-bit settings on a pty (it carries bytes, not framed bits): the
        end is then opened without them, which changes nothing about the bytes it carries.
        """
        return open_pty(self.names[end], **kwargs)

    def drain(self, timeout: float = 2.0, total: int | None = None) -> bool:
        """Wait until the bridge has passed on (or dropped) everything written so far; False on timeout.

        total: bytes written to the pair since it was made (both directions). The kernel hands a pty's
        bytes over asynchronously, so without it "nothing pending" can be seen a moment too early.
        """
        deadline = time.monotonic() + timeout
        with self._idle:
            while True:
                pending, _, _ = select.select(self._masters, [], [], 0)
                done = total is None or self.copied + self.dropped >= total
                if done and not pending and not self._busy:
                    return True
                left = deadline - time.monotonic()
                if left <= 0 or self._stop.is_set():
                    return False
                self._idle.wait(min(left, 0.01))

    def speed(self, end: int) -> int | None:
        """Return the baud rate the end was last set to (by whoever opened it), None if unknown."""
        try:
            code = termios.tcgetattr(self._slaves[end])[5]
        except (OSError, termios.error):
            return None
        return _SPEEDS.get(code)

    def unread(self, end: int) -> int:
        """Bytes waiting in end's receive queue (passed on by the bridge, not yet read by its reader)."""
        buf = bytearray(4)
        fcntl.ioctl(self._slaves[end], termios.FIONREAD, buf)
        return int.from_bytes(buf, 'little')

    def wait_read(self, end: int, timeout: float, idle_s: float = 0.5, settle_s: float = 0.1) -> bool:
        """Wait until end's reader took everything passed on to it.

        The kernel hands bytes written to a pty master to the other side on a work queue, so an empty
        receive queue is believed only after it stayed empty for settle_s. False when the queue stopped
        shrinking for idle_s (nobody reads) or on timeout. Closing the pair discards what is still unread.
        """
        deadline = time.monotonic() + timeout
        left = self.unread(end)
        since = empty_since = time.monotonic()
        while True:
            now = time.monotonic()
            if left == 0 and now - empty_since >= settle_s:
                return True
            if now >= deadline or (left and now - since >= idle_s):
                return False
            self._stop.wait(0.01)  # the kernel has no event for "a reader took bytes": look again
            n = self.unread(end)
            if n < left:
                since = time.monotonic()
            if n and not left:
                since = time.monotonic()
            if n:
                empty_since = time.monotonic()
            left = n

    def on_idle(self, fn: Callable[[], None]) -> None:
        """Call ``fn()`` (from the bridge thread) after each copy: what made :meth:`idle` False ends so."""
        self._on_idle.append(fn)

    def idle(self) -> bool:
        """Whether the bridge holds nothing (no end has bytes waiting for it, no copy under way)."""
        pending, _, _ = select.select(self._masters, [], [], 0)
        return not pending and not self._busy

    def inject(self, end: int, data: bytes) -> int:
        """Put ``data`` on the line towards ``end`` as if it came from the other end, bypassing the bridge.

        For a sender driven by a rig's clock: one hop less. What does not fit the end's receive buffer
        (nobody reads it) is dropped and counted, as the bridge does. Returns the bytes taken.
        """
        view = memoryview(data)
        while view:
            try:
                n = os.write(self._masters[end], view)
            except BlockingIOError:
                self.dropped += len(view)
                break
            self.copied += n
            view = view[n:]
        self.moved[1 - end] += len(data)
        return len(data)

    def discard_unread(self, end: int) -> None:
        """Throw away what waits unread at ``end`` (its reader is off, as on a line nobody listens to)."""
        try:
            termios.tcflush(self._slaves[end], termios.TCIFLUSH)
        except (OSError, termios.error):
            pass

    def close(self) -> None:
        """Stop the bridge and close both ptys (ends still open elsewhere then see EOF)."""
        if self._stop.is_set():
            return
        self._stop.set()
        os.write(self._wake_w, b'x')
        self._thread.join(5)
        for fd in self._masters + self._slaves + [self._wake_r, self._wake_w]:
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self) -> PtyPair:
        """Use as a context manager: closed on exit."""
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        """Close the pair."""
        self.close()

    def _bridge(self) -> None:
        a, b = self._masters
        peer = {a: b, b: a}
        while not self._stop.is_set():
            ready, _, _ = select.select([a, b, self._wake_r], [], [])
            for fd in ready:
                if fd == self._wake_r:
                    return
                with self._idle:
                    self._busy = True
                try:
                    data = os.read(fd, 65536)
                    self._send(peer[fd], data)
                    self.moved[0 if fd == a else 1] += len(data)
                except OSError as e:
                    if e.errno not in (errno.EAGAIN, errno.EIO):
                        raise
                finally:
                    with self._idle:
                        self._busy = False
                        self._idle.notify_all()
                    for fn in self._on_idle:
                        fn()

    def _send(self, fd: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                n = os.write(fd, view)
                self.copied += n
                view = view[n:]
                self._stalled.discard(fd)
            except OSError as e:
                if e.errno != errno.EAGAIN:
                    raise
                # receive buffer full: wait hold_s once for a reader, then drop until it reads again
                if fd not in self._stalled:
                    _, writable, _ = select.select([], [fd], [], self.hold_s)
                    if writable and not self._stop.is_set():
                        continue
                    self._stalled.add(fd)
                self.dropped += len(view)
                return
