"""The rig-process parts on a virtual clock: each acts at instants of rig time when the clock asks.

A :class:`hil.rig.clock.virtual.VirtualClock` calls ``emit(until_us)`` on every actor at each instant:
the *step* actors before the boards' timers run, the *io* actors after (see the clock's round):

- :class:`WorldActor` (step) steps the world to ``until_us`` (household, PV, each plug's branch; the relay
  states are those the boards left at the previous instant) and hands each plug's chip its load;
- :class:`AnalyzerActor` (step) updates each emulated power analyzer (held value, integrator);
- :class:`ChipActor` (io) sends the CSE7766 frames due by then (nothing while its plug is off);
- :class:`P1Actor` (io) sends the telegram due by then (a telegram every period, on the period grid;
  over a jump one telegram covers the stride, as the world's energy does).

The world and the chips integrate exactly: the world's energy is the sum of power x step, the chip's CF
pulses are counted in integer microjoules, the analyzer's integrator takes the same samples over the
same steps. :class:`SerialQuiet` tells the clock whether a line's bytes are still between the sender
and the pty pair's far end.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from hil.emulators.cse7766 import Cse7766Emulator
from hil.emulators.instruments.power_analyzer import PowerAnalyzerDevice
from hil.emulators.p1.writer import P1Writer
from hil.rig.clock.shared import US
from hil.rig.runtime.world import World
from hil.serial_lines import PtyPair


class WorldActor:
    """Steps the world and gives each chip the load through its plug's relay."""

    name = "world"
    phase = "step"

    def __init__(self, world: World, chips: dict[str, Cse7766Emulator], counters: dict[str, int]) -> None:
        """Drive ``world`` and feed ``chips`` (by plug)."""
        self.world = world
        self.chips = chips
        self.counters = counters

    def deadline_us(self) -> int | None:
        """Return None: the world has no instants of its own."""
        return None

    def emit(self, until_us: int) -> None:
        """Step the world to ``until_us``."""
        self.world.step(until_us / US)
        self.counters["world_steps"] += 1
        for plug, emu in self.chips.items():
            s = self.world.chip_sample(plug)
            emu.set_load(max(s.volts, 0.0), max(s.amps, 0.0), max(s.watts, 0.0))


class ChipActor:
    """One plug's metering chip on rig time."""

    phase = "io"

    def __init__(self, plug: str, chips: dict[str, Cse7766Emulator], powered: Callable[[], bool]) -> None:
        """Drive the chip of ``plug`` (looked up each time: a power cycle replaces it)."""
        self.name = f"cse7766 {plug}"
        self.plug = plug
        self.chips = chips
        self.powered = powered

    def deadline_us(self) -> int | None:
        """Return None: frames are sent at each instant the clock stops at (at most MAX_BURST at once)."""
        return None

    def emit(self, until_us: int) -> None:
        """Send the frames due by ``until_us``."""
        self.chips[self.plug].clocked(until_us // 1000, self.powered())


class P1Actor:
    """The P1 emulator on rig time: telegram k at ``start + first_at + k * period``."""

    name = "p1"
    phase = "io"

    def __init__(self, writer: P1Writer, start_us: int) -> None:
        """Send ``writer``'s telegrams from rig time ``start_us`` on."""
        self.writer = writer
        self.start_us = start_us
        self.k = 0

    def _at(self, k: int) -> float:
        return self.writer.first_at + k * self.writer.source.period_s

    def deadline_us(self) -> int | None:
        """Return when the next telegram is due."""
        return self.start_us + round(self._at(self.k) * US)

    def emit(self, until_us: int) -> None:
        """Send the last telegram due by ``until_us``; periods passed over (a jump) are merged into it."""
        period = self.writer.source.period_s
        elapsed = (until_us - self.start_us) / US - self.writer.first_at
        due = math.floor(elapsed / period + 1e-9)
        if due < self.k:
            return
        source = self.writer.source
        skipped = due - self.k
        if skipped and hasattr(source, "jump"):
            with source.lock:   # type: ignore[attr-defined]
                source.jump(skipped * period)   # type: ignore[attr-defined]
        self.writer.send_period(self._at(due))
        self.k = due + 1


class AnalyzerActor:
    """An emulated power analyzer updated at every instant (its display and integrator)."""

    phase = "step"

    def __init__(self, name: str, device: PowerAnalyzerDevice) -> None:
        """Update ``device``."""
        self.name = f"analyzer {name}"
        self.device = device

    def deadline_us(self) -> int | None:
        """Return None: no instants of its own."""
        return None

    def emit(self, until_us: int) -> None:
        """Sample the world over the step ending at ``until_us``."""
        self.device.update(until_us / US)


class Injected:
    """A sender's port that writes straight to the board's end of a pty pair (no bridge thread between)."""

    def __init__(self, pair: PtyPair) -> None:
        """Write towards end 1 of ``pair``."""
        self.pair = pair

    def write(self, data: bytes) -> int:
        """Put ``data`` on the line; return its length."""
        return self.pair.inject(1, data)

    def close(self) -> None:
        """Nothing to close (the pair is closed by its owner)."""


class SerialQuiet:
    """Whether a sender's bytes all went through a pty pair's bridge (from end 0 to end 1)."""

    def __init__(self, pair: PtyPair, sent: Callable[[], int]) -> None:
        """``sent()``: bytes the sender wrote to end 0 so far."""
        self.pair = pair
        self.sent = sent

    def __call__(self) -> bool:
        """Return True when nothing is left in the bridge."""
        return self.pair.moved[0] >= self.sent() and self.pair.idle()
