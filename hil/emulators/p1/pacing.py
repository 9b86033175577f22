"""Pacing on a monotonic clock with Event.wait, scaled for tests (time_scale 0.1 = ten times faster)."""

from __future__ import annotations

import threading
import time


class Pacer:
    """Waits until instants given in (unscaled) seconds since `start()`, unless stopped."""

    def __init__(self, time_scale: float = 1.0, stop: threading.Event | None = None) -> None:
        """time_scale multiplies every duration; stop (an Event) ends any wait at once."""
        if time_scale <= 0:
            raise ValueError('time_scale: expected > 0, got %r' % (time_scale,))
        self.time_scale = time_scale
        self.stop = stop or threading.Event()
        self.t0 = time.monotonic()

    def start(self) -> None:
        """Make now the origin of the schedule."""
        self.t0 = time.monotonic()

    def elapsed(self) -> float:
        """Unscaled seconds since start()."""
        return (time.monotonic() - self.t0) / self.time_scale

    def wait_until(self, at: float) -> bool:
        """Wait until `at` unscaled seconds after start(); False when stopped first."""
        while not self.stop.is_set():
            left = self.t0 + at * self.time_scale - time.monotonic()
            if left <= 0:
                return True
            self.stop.wait(left)
        return False
