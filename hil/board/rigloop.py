"""A board process on the rig's clock: asyncio, ``ticks_ms`` and ``time()`` all read rig time.

The firmware apps run unchanged: they sleep with ``asyncio.sleep`` and wait with ``asyncio.wait_for``,
which go through the event loop's ``time()`` and its selector. :class:`RigEventLoop` is CPython's selector
loop whose ``time()`` is rig time (seconds since the rig's start) and whose selector is a
:class:`RigSelector`:

- *realtime* mode: a wait of ``t`` rig seconds is ``t / scale`` host seconds (at most 50 ms at a time, so
  a jump is seen at once);
- *virtual* mode: when the loop would block, the selector tells the rig's coordinator that this board is
  idle until its next deadline (and how many bytes each UART has received), then blocks on its own
  sockets and the coordinator's. Rig time moves only when every board is idle; a ``WAKE`` makes the loop
  look at the (new) time, a ``PROBE`` is answered with whether anything became readable meanwhile.

On the ESP32 none of this exists: the HAL's clock is the chip's, and MicroPython's asyncio uses it.
``install()`` is what ``hil board run`` calls when the rig puts :data:`ENV_DIR` in its environment.
"""

from __future__ import annotations

import asyncio
import os
import selectors
import socket
from collections.abc import Mapping
from typing import Any, Protocol

from hil.rig.clock.shared import (
    ENV_DIR,
    ENV_ID,
    ENV_TICKS,
    HELLO,
    IDLE,
    MSG,
    PROBE,
    PROBED,
    US,
    VIRTUAL,
    WAKE,
    TimeReader,
)

REALTIME_SLICE_S = 0.05
_COORD = object()  # the selector key data of the coordinator's socket


class Counted(Protocol):
    """A UART that counts what it received (``hil.board.uart.HostUart``)."""

    received: int


class BoardClock:
    """Rig time for one board process: the time page, and in virtual mode the coordinator's socket."""

    def __init__(self, folder: str, ident: int, ticks_start_ms: int = 0) -> None:
        """Map the time page in ``folder``; in virtual mode connect to the coordinator as ``ident``."""
        self.reader = TimeReader(folder)
        self.virtual = self.reader.mode == VIRTUAL
        self.boot_us = self.reader.now_us()
        self.ticks_start_ms = ticks_start_ms
        self.base_us = self.boot_us
        self.uarts: dict[str, Counted] = {}
        self.activity = 0
        self.sock: socket.socket | None = None
        self._buf = b""
        if self.virtual:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            with open(os.path.join(folder, "address"), encoding="utf-8") as f:
                address = f.read()
            s.connect("\0" + address[1:] if address.startswith("@") else address)
            s.sendall(MSG.pack(HELLO, ident, os.getpid(), 0, 0, 0))
            self.sock = s

    # ---- time ------------------------------------------------------------------------------------------
    def now_us(self) -> int:
        """Return rig time (UTC microseconds)."""
        return self.reader.now_us()

    def ticks_ms(self) -> int:
        """Return milliseconds since this board booted, plus the configured start (not wrapped)."""
        return (self.now_us() - self.boot_us) // 1000 + self.ticks_start_ms

    def loop_time(self) -> float:
        """Return rig seconds since this process started (the event loop's clock)."""
        return (self.now_us() - self.base_us) / US

    # ---- the coordinator ---------------------------------------------------------------------------
    def rx(self) -> tuple[int, int]:
        """Return the bytes received so far on the P1 and the metering UART."""
        p1 = self.uarts.get("p1")
        me = self.uarts.get("metering")
        return (p1.received if p1 is not None else 0, me.received if me is not None else 0)

    def _send(self, kind: int, a: int = 0, b: int = 0, c: int = 0, d: int = 0, e: int = 0) -> None:
        assert self.sock is not None
        self.sock.sendall(MSG.pack(kind, a, b, c, d, e))

    def _messages(self) -> list[tuple[int, ...]]:
        assert self.sock is not None
        try:
            data = self.sock.recv(65536, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return []
        if not data:
            os._exit(0)  # the rig went away: a board never outlives its rig
        self._buf += data
        n = len(self._buf) // MSG.size
        out = [MSG.unpack_from(self._buf, i * MSG.size) for i in range(n)]
        self._buf = self._buf[n * MSG.size:]
        return out

    def _answer(self, events: list[tuple[selectors.SelectorKey, int]], idle: bool) -> tuple[list[Any], bool]:
        """Split coordinator messages off ``events``; answer probes; return (other events, woken)."""
        other = [(k, m) for k, m in events if k.data is not _COORD]
        woke = False
        if len(other) != len(events):
            for msg in self._messages():
                if msg[0] == PROBE:
                    rx = self.rx()
                    self._send(PROBED, msg[1], self.activity, int(idle and not other), rx[0], rx[1])
                elif msg[0] == WAKE:
                    woke = True
        return other, woke

    def select(self, inner: selectors.BaseSelector, timeout: float | None) -> list[Any]:
        """Wait as the loop's select: in rig time (see the module's docstring)."""
        if not self.virtual:
            if timeout is None:
                host = REALTIME_SLICE_S
            else:
                host = min(max(timeout, 0.0) / self.reader.scale(), REALTIME_SLICE_S)
            return inner.select(host)
        events, _ = self._answer(inner.select(0), idle=False)
        if events or (timeout is not None and timeout <= 0):
            if events:
                self.activity += 1
            return events
        deadline = -1 if timeout is None else self.now_us() + round(timeout * US)
        rx = self.rx()
        self._send(IDLE, self.activity, deadline, rx[0], rx[1])
        while True:
            events, woke = self._answer(inner.select(None), idle=True)
            if events:
                self.activity += 1
                return events
            if woke:
                if deadline >= 0 and self.now_us() >= deadline:
                    return []
                rx = self.rx()
                self._send(IDLE, self.activity, deadline, rx[0], rx[1])


class RigSelector(selectors.BaseSelector):
    """The default selector plus the coordinator's socket, waiting in rig time."""

    def __init__(self, clock: BoardClock) -> None:
        """Wrap a fresh default selector."""
        self.clock = clock
        self.inner = selectors.DefaultSelector()
        if clock.sock is not None:
            self.inner.register(clock.sock, selectors.EVENT_READ, _COORD)

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        """Register with the inner selector."""
        return self.inner.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        """Unregister from the inner selector."""
        return self.inner.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        """Modify in the inner selector."""
        return self.inner.modify(fileobj, events, data)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        """Wait in rig time."""
        return self.clock.select(self.inner, timeout)

    def close(self) -> None:
        """Close the inner selector."""
        self.inner.close()

    def get_key(self, fileobj: Any) -> selectors.SelectorKey:
        """Return the inner selector's key."""
        return self.inner.get_key(fileobj)

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        """Return the inner selector's map."""
        return self.inner.get_map()


class RigEventLoop(asyncio.SelectorEventLoop):
    """CPython's selector event loop on rig time."""

    def __init__(self, clock: BoardClock) -> None:
        """Run on ``clock``."""
        self.rig_clock = clock
        super().__init__(RigSelector(clock))
        self._clock_resolution = 2e-6   # rig time is whole microseconds

    def time(self) -> float:
        """Return rig seconds since this board process started."""
        return self.rig_clock.loop_time()


class RigLoopPolicy(asyncio.DefaultEventLoopPolicy):
    """Every new event loop of this process runs on the rig's clock."""

    def __init__(self, clock: BoardClock) -> None:
        """Use ``clock`` for every loop."""
        super().__init__()
        self.clock = clock

    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        """Return a :class:`RigEventLoop`."""
        return RigEventLoop(self.clock)


_CLOCK: list[BoardClock] = []


def install(env: Mapping[str, str] | None = None) -> BoardClock | None:
    """Join the rig's clock named in the environment (None when this process runs on host time)."""
    env = os.environ if env is None else env
    folder = env.get(ENV_DIR)
    if not folder:
        return None
    clock = BoardClock(folder, int(env.get(ENV_ID, "0")), int(env.get(ENV_TICKS, "0")))
    asyncio.set_event_loop_policy(RigLoopPolicy(clock))
    _CLOCK[:] = [clock]
    return clock


def current() -> BoardClock | None:
    """Return the clock this process joined (None: host time)."""
    return _CLOCK[0] if _CLOCK else None
