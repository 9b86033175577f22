"""Rig time on a running rig: the parts that act in time put on the clock, jumps, alignment.

Virtual clock: the world, chips, P1 emulator and analyzers are the clock's actors and the serial lines
and LAN links its quiet checks (docs/rig-clock.md). Realtime clock: the chips and the P1 writer run on
their own threads and the world is stepped every ``step_s`` host seconds by a thread of its own.
"""

from __future__ import annotations

import logging
import math
import threading
from typing import TYPE_CHECKING

from hil.emulators.p1.profiles import Profile
from hil.emulators.p1.source import new_meter
from hil.instruments.models import POWER_ANALYZER
from hil.rig.clock.shared import US
from hil.rig.clock.virtual import VirtualClock
from hil.rig.runtime.actors import AnalyzerActor, ChipActor, Injected, P1Actor, SerialQuiet, WorldActor
from hil.rig.runtime.options import MANUAL_EXPORT_WH, MANUAL_IMPORT_WH, RigRuntimeError

if TYPE_CHECKING:
    from hil.rig.runtime.runtime import RigRuntime

log = logging.getLogger("hil.rig")


class RigTimeline:
    """The part of :class:`~hil.rig.runtime.runtime.RigRuntime` that runs its parts in rig time."""

    def _start_time(self: RigRuntime, profile: Profile) -> None:
        """Start the meter on the rig's clock and set every part going (virtual: as the clock's actors)."""
        rig = self.rig
        assert self.source is not None and self.world is not None and self.writer is not None
        # the meter starts now, on the rig's clock
        meter_start = math.ceil(self.clock.now()) if self.virtual else int(self.clock.now())
        self.source.meter = new_meter(profile, meter_start, import_wh=MANUAL_IMPORT_WH,
                                      export_wh=MANUAL_EXPORT_WH, voltage_v=self.world.volts)
        self.world.t = float(meter_start)
        if self.virtual:
            self._clock_parts(meter_start)
            # ready means telegrams flow: the SmartMeter serves a fresh reading (rig time runs meanwhile)
            meter = self.boards[rig.smartmeter.name]
            self.clock.wait_for(lambda: meter.http.get_json("/api/plug/v1/reading", timeout=5.0)[0],
                                lambda status: status == 200, 30.0, 1.0, "the SmartMeter's first reading")
        else:
            self.writer.start()
            for chip in self.chips.values():
                chip.start()
            self._halt.clear()
            self._loop = threading.Thread(target=self._run_world, name=f"rig-{rig.name}-world", daemon=True)
            self._loop.start()
            self._on_stop("world", lambda: self._loop.join(5))  # type: ignore[union-attr]

    def _clock_parts(self: RigRuntime, meter_start: int) -> None:
        """Virtual time: the world, chips, P1 and analyzers act when the clock moves; lines hold it back."""
        clock = self.clock
        assert isinstance(clock, VirtualClock) and self.world is not None and self.writer is not None
        clock.add_actor(WorldActor(self.world, self.chips, self.counters))
        for plug in self.chips:
            board = self.boards[plug]
            clock.add_actor(ChipActor(plug, self.chips, lambda b=board: bool(b.powered and b.proc.alive)))
        # telegram k stamped meter_start + k periods goes out at that rig instant: one clock
        clock.add_actor(P1Actor(self.writer, meter_start * US))
        if self.emulated is not None:
            for name, spec in self.rig.instruments.items():
                if spec.kind == POWER_ANALYZER and spec.emulated:
                    device = self.emulated.device(name)
                    clock.add_actor(AnalyzerActor(name, device))  # type: ignore[arg-type]
        # the clocked senders write straight to the boards' ends (no bridge thread between)
        if self.writer.pair is not None:
            self.writer.serial.close()
            self.writer.serial = Injected(self.writer.pair)  # type: ignore[assignment]
            writer = self.writer
            clock.add_quiet("P1 line", SerialQuiet(self.writer.pair, lambda: writer.bytes_sent),
                            on_quiet=self.writer.pair.on_idle)
        for plug, pair in self.chip_lines.items():
            self.chips[plug].port.close()
            self.chips[plug].port = Injected(pair)  # type: ignore[assignment]
            clock.add_quiet(f"{plug} metering line",
                            SerialQuiet(pair, lambda p=plug: self.chips[p].sent_bytes), on_quiet=pair.on_idle)
        for plug, link in self.links.items():
            clock.add_quiet(f"LAN link {plug}", link.quiet, link.traffic, (plug, self.rig.smartmeter.name),
                            link.on_quiet)

    def _run_world(self: RigRuntime) -> None:
        world = self.world
        assert world is not None
        while not self._halt.wait(self.options.step_s):
            try:
                world.step(self.clock.now())
                self.counters["world_steps"] += 1
                for plug, emu in self.chips.items():
                    s = world.chip_sample(plug)
                    emu.set_load(max(s.volts, 0.0), max(s.amps, 0.0), max(s.watts, 0.0))
            except Exception as exc:  # noqa: BLE001 - the loop goes on; the running test fails with it
                self.counters["world_errors"] += 1
                self.last_error = f"world step at {self.clock.now():.1f}: {type(exc).__name__}: {exc}"
                self.faults.append(self.last_error)
                log.exception("rig %s: world step failed", self.rig.name)

    def now(self: RigRuntime) -> float:
        """Return rig time (UTC epoch seconds)."""
        return self.clock.now()

    def jump(self: RigRuntime, seconds: float) -> None:
        """Move rig time and the meter's clock forward by ``seconds`` (the world is stepped through it)."""
        if seconds < 0:
            raise RigRuntimeError(f"jump: expected seconds >= 0 (time never runs back), got {seconds}")
        assert self.source is not None and self.world is not None
        self.counters["jumps"] += 1
        if isinstance(self.clock, VirtualClock):
            self.clock.jump(seconds)   # every part runs through it, in strides
            log.info("rig %s: time jumped %.0f s", self.rig.name, seconds)
            return
        with self.source.lock:
            self.clock.jump(seconds)
            self.world.step(self.clock.now())
            self.source.jump(seconds)
        log.info("rig %s: time jumped %.0f s", self.rig.name, seconds)

    def align(self: RigRuntime, grid_s: float = 60.0) -> None:
        """Virtual clock: go to the next multiple of ``grid_s`` rig seconds with the chips' frames in phase.

        A test that starts there sees the same phases (telegrams, chip frames, polls, ticks) whatever ran
        before it on this rig, so its measurements do not depend on the order of the tests. Nothing in
        realtime mode (phases there are the host's).
        """
        if not isinstance(self.clock, VirtualClock):
            return
        for emu in self.chips.values():
            emu.rephase()
        self.clock.sleep_until(math.floor(self.clock.now() / grid_s + 1) * grid_s)
