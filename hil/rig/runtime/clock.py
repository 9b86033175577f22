"""The rig's clock: UTC epoch seconds that run ``scale`` times faster than the host's monotonic clock.

Every emulated part of one rig reads the same :class:`RigClock` (the world, the analyzer's integrator,
the PowerDetector), so a time-scaled rig stays coherent. The P1 writer paces on its own monotonic
schedule with the same scale and start, so the meter's timestamps follow this clock within a telegram
period. ``jump(s)`` moves the rig's time forward (a test that wants midnight now).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RigClock:
    """Rig time (float UTC epoch seconds) = start + (monotonic - origin) * scale + jumps."""

    def __init__(self, start_utc: float, scale: float = 1.0,
                 mono: Callable[[], float] = time.monotonic) -> None:
        """Start at ``start_utc`` now; ``scale`` > 0 (10 = ten rig seconds per host second)."""
        if not scale > 0:
            raise ValueError(f"rig clock: time scale: expected a number > 0, got {scale!r}")
        self.scale = float(scale)
        self.mono = mono
        self._origin = mono()
        self._start = float(start_utc)
        self._jumped = 0.0
        self._lock = threading.Lock()

    def restart(self) -> None:
        """Make now the start instant again (called when the rig's parts start together)."""
        with self._lock:
            self._origin = self.mono()

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
        return self.now()

    def host_seconds(self, rig_seconds: float) -> float:
        """Return how many host seconds ``rig_seconds`` of rig time take."""
        return rig_seconds / self.scale
