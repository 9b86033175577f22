"""The meter of a running rig: the P1 emulator writing the world's energy, and its faults.

The meter's registers start at the manual's screenshot; the cable can be pulled, the meter rebooted,
and line faults (bit flips, wrong CRC, truncation, ...) applied to the next telegram (:class:`RigLine`).
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

from hil.emulators.p1.profiles import Profile, get_profile
from hil.emulators.p1.source import new_meter
from hil.emulators.p1.writer import P1Writer, line_format
from hil.rig.runtime.drivers import P1Cable
from hil.rig.runtime.p1line import RigLine, WorldSource

if TYPE_CHECKING:
    from hil.rig.runtime.runtime import RigRuntime

log = logging.getLogger("hil.rig")


class RigMeter:
    """The part of :class:`~hil.rig.runtime.runtime.RigRuntime` that runs the P1 emulator."""

    def _start_p1(self: RigRuntime) -> Profile:
        """Start the P1 emulator on the world (a pty pair or the rig file's port); return its profile."""
        rig = self.rig
        assert self.world is not None
        profile = get_profile(rig.p1.profile)
        meter = new_meter(profile, int(self.clock.now()))
        self.source = WorldSource(profile, meter, self.world, self.period_s, follow_world=not self.virtual)
        self.line = RigLine(line_format(self.source), crc=profile.crc, seed=self.options.seed)
        port = None if rig.p1.port == "auto" else rig.p1.port
        self.writer = P1Writer(self.source, port, injector=self.line, time_scale=1.0 / self.time_scale)
        self._on_stop("p1 writer", self.writer.stop)
        log.info("rig %s: P1 emulator %s (%s) on %s, a telegram every %g meter s", rig.name, profile.key,
                 profile.line_settings, self.writer.port, self.period_s)
        return profile

    def p1_pull(self: RigRuntime) -> None:
        """Pull the P1 cable (the next telegram is cut mid-way; nothing more until :meth:`p1_plug`)."""
        assert self.line is not None
        self.counters["p1_pulls"] += 1
        log.info("rig %s: P1 cable pulled", self.rig.name)
        P1Cable(self.line).pull()

    def p1_plug(self: RigRuntime) -> None:
        """Plug the P1 cable back in."""
        assert self.line is not None
        log.info("rig %s: P1 cable plugged back", self.rig.name)
        P1Cable(self.line).plug()

    def meter_reboot(self: RigRuntime, seconds: float = 10.0) -> int:
        """Reboot the meter: P1 silent for ``seconds`` of meter time; returns the silent telegram periods."""
        assert self.line is not None
        periods = max(1, math.ceil(seconds / self.period_s))
        self.counters["meter_reboots"] += 1
        log.info("rig %s: meter reboot, P1 silent for %d telegram periods", self.rig.name, periods)
        self.line.reboot(periods)
        return periods

    def p1_inject(self: RigRuntime, kind: str, **params: Any) -> None:
        """Apply a line fault (bitflip, wrong_crc, truncate, drop, garbage, noise) to the next telegram."""
        assert self.line is not None
        self.line.inject(kind, **params)

    def meter_time(self: RigRuntime) -> int:
        """Return the meter's clock in its last telegram (UTC epoch seconds)."""
        assert self.source is not None
        return self.source.meter.t

    def last_telegrams(self: RigRuntime, n: int = 3) -> list[bytes]:
        """Return the last ``n`` telegrams the P1 emulator produced (as sent when the line was clean)."""
        return [] if self.source is None else [t.data for t in self.source.last_telegrams(n)]
