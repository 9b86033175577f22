"""Pacing on a monotonic clock with Event.wait, scaled for tests (time_scale 0.1 = ten times faster)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Pacer:
    """Waits until instants given in (unscaled) seconds since `start()`, unless stopped."""

    def __init__(self, time_scale: float = 1.0, stop: threading.Event | None = None,
                 mono: Callable[[], float] = time.monotonic,
                 wait: Callable[[float], object] | None = None) -> None:
        """time_scale multiplies every duration; stop (an Event) ends any wait at once.

        mono and wait: the clock and how to wait on it (default: the host's, stop.wait); a test gives a
        clock of its own to check the schedule without depending on how busy the host is.
        """
        if time_scale <= 0:
            raise ValueError('time_scale: expected > 0, got %r' % (time_scale,))
        self.time_scale = time_scale
        self.stop = stop or threading.Event()
        self.mono = mono
        self.wait = wait or self.stop.wait
        self.t0 = mono()

    def start(self) -> None:
        """Make now the origin of the schedule."""
        self.t0 = self.mono()

    def elapsed(self) -> float:
        """Unscaled seconds since start()."""
        return (self.mono() - self.t0) / self.time_scale

    def wait_until(self, at: float) -> bool:
        """Wait until `at` unscaled seconds after start(); False when stopped first."""
        while not self.stop.is_set():
            left = self.t0 + at * self.time_scale - self.mono()
            if left <= 0:
                return True
            self.wait(left)
        return False
