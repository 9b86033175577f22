"""The rig's realtime clock: UTC epoch seconds running ``scale`` times faster than the host's monotonic one.

For rigs with real boards (their firmware runs on its own crystal) and for ``clock: realtime`` rig files.
Every emulated part of one rig reads the same clock: the world, the analyzer's integrator, the
PowerDetector, the P1 writer's pacing, and the emulated boards themselves (given a ``folder``, the clock
publishes a time page there that ``hil.board.rigloop`` reads: ``ticks_ms``, ``time()`` and every asyncio
sleep of a board then run ``scale`` times faster too). ``jump(s)`` moves rig time forward for all of them.
Fully emulated rigs run on :class:`hil.rig.clock.virtual.VirtualClock` instead.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from hil.rig.clock.shared import REALTIME, US, TimePage

T = TypeVar("T")


class RigClock:
    """Rig time (float UTC epoch seconds) = start + (monotonic - origin) * scale + jumps."""

    mode = "realtime"

    def __init__(self, start_utc: float, scale: float = 1.0,
                 mono: Callable[[], float] = time.monotonic, folder: Path | None = None) -> None:
        """Start at ``start_utc`` now; ``scale`` > 0 (10 = ten rig seconds per host second)."""
        if not scale > 0:
            raise ValueError(f"rig clock: time scale: expected a number > 0, got {scale!r}")
        self.scale = float(scale)
        self.mono = mono
        self._origin = mono()
        self._start = float(start_utc)
        self._jumped = 0.0
        self._lock = threading.Lock()
        self.errors: list[str] = []
        self.page: TimePage | None = None
        if folder is not None:
            self.page = TimePage(folder, REALTIME, round(start_utc * US), self.scale)
            self._origin = self.page.origin_ns / 1e9   # the same origin as the boards'

    def restart(self) -> None:
        """Make now the start instant again (called when the rig's parts start together)."""
        with self._lock:
            self._origin = self.mono()
            if self.page is not None:
                self.page.origin_ns = round(self._origin * 1e9)
                self.page.write()

    def now(self) -> float:
        """Return rig time (UTC epoch seconds, float)."""
        with self._lock:
            return self._start + self._jumped + (self.mono() - self._origin) * self.scale

    __call__ = now

    def jump(self, seconds: float) -> float:
        """Move rig time forward by ``seconds`` (>= 0); return the new rig time."""
        if seconds < 0:
            raise ValueError(f"rig clock: jump: expected seconds >= 0 (time never runs back), "
                             f"got {seconds!r}")
        with self._lock:
            self._jumped += seconds
            if self.page is not None:
                self.page.jumped_us = round(self._jumped * US)
                self.page.write()
        return self.now()

    def host_seconds(self, rig_seconds: float) -> float:
        """Return how many host seconds ``rig_seconds`` of rig time take."""
        return rig_seconds / self.scale

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of rig time (host time / scale)."""
        if seconds < 0:
            raise ValueError(f"rig clock: sleep: expected seconds >= 0, got {seconds!r}")
        time.sleep(seconds / self.scale)

    def sleep_until(self, t: float) -> None:
        """Wait until rig time ``t`` (UTC seconds)."""
        left = t - self.now()
        if left > 0:
            self.sleep(left)

    def wait_for(self, fn: Callable[[], T], ok: Callable[[T], bool] = bool, timeout: float = 60.0,
                 poll_s: float = 1.0, what: str = "condition",
                 next_look: Callable[[float], float] | None = None) -> T:
        """Poll ``fn()`` every ``poll_s`` rig seconds until ``ok(value)`` (AssertionError at ``timeout``)."""
        from hil.rig.clock.virtual import wait_for

        return wait_for(self, fn, ok, timeout, poll_s, what, next_look)

    def remote_status(self) -> dict[str, Any]:
        """Realtime boards do not report to the clock."""
        return {}

    def close(self) -> None:
        """Release the time page."""
        if self.page is not None:
            self.page.close()
