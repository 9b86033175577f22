"""What a rig's clock shares with the board processes: a small memory-mapped time page and a message format.

The rig writes the page (``<run_dir>/clock/time``); every board process maps it read-only and computes rig
time from it on every ``ticks_ms()``, ``time()`` and ``loop.time()`` (a few hundred nanoseconds, no system
call). Layout (little-endian, 64 bytes)::

    0 magic   8 mode (1 virtual, 2 realtime)   16 now_us (virtual: rig time; realtime: start)
    24 origin_ns (realtime: CLOCK_MONOTONIC at the start)   32 scale (float64)   40 jumped_us   48 seq

Virtual mode: rig time is ``now_us`` (UTC microseconds), moved only by the coordinator while every board
is idle. Realtime mode: rig time is ``now_us + jumped_us + (monotonic_ns - origin_ns) * scale / 1000``.

In virtual mode each board also holds a Unix stream socket to the coordinator (``<run_dir>/clock/sock``)
and exchanges fixed-size messages (:data:`MSG`: kind and five signed 64-bit fields):

- board -> rig ``HELLO(id, pid)`` once; ``IDLE(activity, deadline_us or -1, rx_p1, rx_metering)`` each
  time its event loop has nothing to do before ``deadline_us``; ``PROBED(n, activity, idle, rx_p1,
  rx_metering)`` in answer to a probe;
- rig -> board ``PROBE(n)`` (are you still idle, nothing readable?) and ``WAKE`` (time moved: look).
"""

from __future__ import annotations

import mmap
import os
import struct
import time
from pathlib import Path

MAGIC = 0x6B636F6C43676952  # "RigClock"
VIRTUAL = 1
REALTIME = 2
PAGE = struct.Struct("<qqqqdqq")
PAGE_SIZE = 64
MSG = struct.Struct("<qqqqqq")
HELLO, IDLE, PROBE, PROBED, WAKE = 1, 2, 3, 4, 5
ENV_DIR = "HIL_RIG_CLOCK"          # the clock folder a board process joins
ENV_ID = "HIL_RIG_CLOCK_ID"        # the participant number the rig gave this board process
ENV_TICKS = "HIL_TICKS_START_MS"   # what ticks_ms() reads at boot (0 on an ESP32; near 2**30 to test wraps)
US = 1_000_000


class TimePage:
    """The rig's side of the time page: create it, write the mode and the time."""

    def __init__(self, folder: Path, mode: int, start_us: int, scale: float = 1.0) -> None:
        """Create ``folder/time`` (and the folder) for a clock in ``mode`` starting at ``start_us``."""
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "time"
        with open(self.path, "wb") as f:
            f.write(b"\0" * PAGE_SIZE)
        self._f = open(self.path, "r+b")  # noqa: SIM115 - kept open with the mapping
        self.mm = mmap.mmap(self._f.fileno(), PAGE_SIZE)
        self.mode = mode
        self.now_us = start_us
        self.origin_ns = time.monotonic_ns()
        self.scale = float(scale)
        self.jumped_us = 0
        self.seq = 0
        self.write()

    def write(self) -> None:
        """Publish the current fields (the boards see them at their next read)."""
        self.seq += 1
        PAGE.pack_into(self.mm, 0, MAGIC, self.mode, self.now_us, self.origin_ns, self.scale,
                       self.jumped_us, self.seq)

    def close(self) -> None:
        """Unmap and close (the file stays for processes that still map it)."""
        self.mm.close()
        self._f.close()


class TimeReader:
    """A board's read-only view of the time page."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        """Map ``folder/time``; ValueError when it is not a rig clock page."""
        path = Path(folder) / "time"
        with open(path, "rb") as f:
            self.mm = mmap.mmap(f.fileno(), PAGE_SIZE, access=mmap.ACCESS_READ)
        magic, self.mode = struct.unpack_from("<qq", self.mm, 0)
        if magic != MAGIC or self.mode not in (VIRTUAL, REALTIME):
            raise ValueError(f"rig clock page {path}: expected magic {MAGIC:#x} and mode 1 or 2, "
                             f"got {magic:#x} and {self.mode}")

    def now_us(self) -> int:
        """Return rig time in UTC microseconds."""
        _, mode, now_us, origin_ns, scale, jumped_us, _ = PAGE.unpack_from(self.mm, 0)
        if mode == VIRTUAL:
            return int(now_us)
        return int(now_us + jumped_us + (time.monotonic_ns() - origin_ns) * scale / 1000)

    def scale(self) -> float:
        """Return rig seconds per host second (realtime mode)."""
        return float(PAGE.unpack_from(self.mm, 0)[4])
