"""Bring a validated rig up and down: everything it marks emulated, wired into one closed loop.

``RigRuntime(rig, options).start()`` (or ``with RigRuntime(rig) as running:``) starts, with nothing
shared with any other rig (own run folder, pty pairs, free loopback ports):

- the world (:mod:`hil.rig.runtime.world`): household, PV and each plug's appliance, stepped every
  ``step_s`` host seconds on the rig's clock (``time_scale`` rig seconds per host second);
- the P1 emulator on a pty pair (or the rig file's serial URL on a bench) writing the world's energy as
  the rig file's meter profile, with the cable, reboot and line faults of :class:`RigLine`;
- the emulated instruments as SCPI servers on loopback, wired to the world (analyzer on a plug's output,
  AC load as a plug's appliance, DMM on a PowerDetector's contact, PDU outlets on the boards' power),
  and one pyvisa driver per instrument (``instruments``), real or emulated alike;
- per emulated SmartPlug a CSE7766 emulator on its own pty pair, following what flows through the
  plug's relay (through a PowerDetector the chip sees only the detector's coil);
- each emulated board as a process (:class:`hil.board_process.BoardProcess`), provisioned with the
  rig's WiFi and, for plugs, the SmartMeter's address behind a :class:`LanLink` (a WiFi drop cuts it);
  real boards are reached at their rig-file address and their consoles captured.

Every start and stop goes to the logger ``hil.rig`` and to ``<run_dir>/rig.log``; ``stop()`` is
idempotent and also registered with :mod:`atexit`, so an interrupted session leaves no process or
port behind. Faults: :meth:`p1_pull` / :meth:`p1_plug`, :meth:`meter_reboot`, :meth:`power_off` /
:meth:`power_on` / :meth:`power_cycle` (through the PDU when the board has an outlet),
:meth:`wifi_drop` / :meth:`wifi_restore`, :meth:`mains`, and :meth:`jump` for rig time.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import math
import shutil
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from hil.emulators.cse7766 import Cse7766Emulator
from hil.emulators.instruments.launch import EmulatedInstruments
from hil.emulators.p1.profiles import get_profile
from hil.emulators.p1.writer import P1Writer
from hil.emulators.powerdetector import LivePowerDetector
from hil.emulators.world import Site
from hil.instruments.base import ScpiInstrument
from hil.instruments.models import AC_LOAD
from hil.rig.clock.virtual import VirtualClock
from hil.rig.model import Rig
from hil.rig.runtime.appliances import RigAppliances
from hil.rig.runtime.boards import EmulatedBoard, RigBoard
from hil.rig.runtime.clock import RigClock
from hil.rig.runtime.fleet import RigFleet
from hil.rig.runtime.instrumentation import RigInstrumentation
from hil.rig.runtime.lan import LanLink
from hil.rig.runtime.meter import RigMeter
from hil.rig.runtime.options import (
    DEFAULT_START,
    MANUAL_EXPORT_WH,
    MANUAL_IMPORT_WH,
    RigRuntimeError,
    RuntimeOptions,
)
from hil.rig.runtime.p1line import RigLine, WorldSource
from hil.rig.runtime.power import RigPower
from hil.rig.runtime.timeline import RigTimeline
from hil.rig.runtime.world import World
from hil.serial_lines import PtyPair

__all__ = ["DEFAULT_START", "MANUAL_EXPORT_WH", "MANUAL_IMPORT_WH", "RigRuntime", "RigRuntimeError",
           "RuntimeOptions"]

log = logging.getLogger("hil.rig")


class RigRuntime(RigAppliances, RigInstrumentation, RigMeter, RigFleet, RigPower, RigTimeline):
    """One running rig.

    Each part has its own file: the world (:mod:`.appliances`), the instruments (:mod:`.instrumentation`),
    the P1 emulator (:mod:`.meter`), the boards and LAN links (:mod:`.fleet`), the supplies (:mod:`.power`),
    rig time (:mod:`.timeline`); this class brings them up in order and down in the reverse order.
    """

    def __init__(self, rig: Rig, options: RuntimeOptions | None = None) -> None:
        """Describe the running rig; :meth:`start` brings it up."""
        self.rig = rig
        self.options = options or RuntimeOptions()
        scale = self.options.time_scale if self.options.time_scale is not None else rig.time_scale
        if scale != 1 and not all(b.emulated for b in rig.boards.values()):
            raise RigRuntimeError(f"rig {rig.name}: time scale {scale}: expected 1 with real boards "
                                  "(their firmware runs in real time)")
        self.clock_mode = self.options.clock or rig.clock_mode
        if self.clock_mode not in ("virtual", "realtime"):
            raise RigRuntimeError(f"rig {rig.name}: clock {self.clock_mode!r}: expected virtual or realtime")
        if self.clock_mode == "virtual" and not all(b.emulated for b in rig.boards.values()):
            raise RigRuntimeError(f"rig {rig.name}: a virtual clock needs every board emulated (real boards "
                                  "keep their own time): use clock: realtime")
        self.virtual = self.clock_mode == "virtual"
        self.time_scale = 1.0 if self.virtual else float(scale)
        self.started = False
        self.stopped = False
        self.run_dir: Path | None = None
        self._own_dir = False
        self.clock: RigClock | VirtualClock = RigClock(self.options.start_utc, self.time_scale)
        self.faults: list[str] = []     # errors of the rig's own parts (world, emulators): fail the test
        self.site = Site(self.options.seed)
        self.world: World | None = None
        self.detectors: dict[str, LivePowerDetector] = {}
        self.emulated: EmulatedInstruments | None = None
        self.instruments: dict[str, ScpiInstrument] = {}
        self.boards: dict[str, RigBoard] = {}
        self.links: dict[str, LanLink] = {}
        self.chips: dict[str, Cse7766Emulator] = {}
        self.chip_lines: dict[str, PtyPair] = {}
        self.source: WorldSource | None = None
        self.line: RigLine | None = None
        self.writer: P1Writer | None = None
        self.resources: dict[str, str] = {}
        self.counters = {"world_steps": 0, "world_errors": 0, "power_cycles": 0, "wifi_drops": 0,
                         "p1_pulls": 0, "meter_reboots": 0, "jumps": 0}
        self.last_error: str | None = None
        self._loop: threading.Thread | None = None
        self._halt = threading.Event()
        self._handler: logging.Handler | None = None
        self._outlets: dict[tuple[str, int], str] = {}
        self._stop_lock = threading.Lock()
        self._stack = contextlib.ExitStack()   # what stop() undoes, last started first

    # ---- derived settings ----------------------------------------------------------------------------
    @property
    def period_s(self) -> float:
        """Meter seconds between two telegrams."""
        if self.options.p1_period_s is not None:
            return self.options.p1_period_s
        profile = get_profile(self.rig.p1.profile)
        if self.virtual:
            return float(profile.period_s)
        return float(max(profile.period_s, math.ceil(self.time_scale / 2)))

    @property
    def poll_s(self) -> float:
        """Host seconds between two SmartMeter polls of a plug."""
        if self.options.poll_s is not None:
            return self.options.poll_s
        if self.virtual:
            return 5.0
        return min(5.0, max(0.5, 5.0 / self.time_scale))

    def all_faults(self) -> list[str]:
        """Return every error of the rig's own parts so far (world loop, emulators, the clock's actors)."""
        return [*self.faults, *getattr(self.clock, "errors", [])]

    @property
    def smartmeter(self) -> RigBoard:
        """The SmartMeter board."""
        return self.boards[self.rig.smartmeter.name]

    @property
    def smartplugs(self) -> dict[str, RigBoard]:
        """The SmartPlug boards by name, in rig-file order."""
        return {b.name: self.boards[b.name] for b in self.rig.smartplugs}

    # ---- bring up ------------------------------------------------------------------------------------
    def start(self) -> RigRuntime:
        """Start everything emulated, power every board and return once each board's web server answers."""
        if self.started:
            raise RigRuntimeError(f"rig {self.rig.name}: already started")
        self.started = True
        atexit.register(self.stop)
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        rig = self.rig
        t0 = time.monotonic()
        self._open_run_dir()
        assert self.run_dir is not None
        if self.virtual:
            quantum = self.options.quantum_s or rig.quantum_s
            self.clock = VirtualClock(self.options.start_utc, self.run_dir / "clock", quantum)
        else:
            self.clock = RigClock(self.options.start_utc, self.time_scale, folder=self.run_dir / "clock")
        self._on_stop("clock", self.clock.close)
        self._start_world()
        self._start_instruments()
        profile = self._start_p1()
        self._make_boards()
        self._outlets_on()
        self._start_time(profile)
        log.info("rig %s up in %.1f s: %s", rig.name, time.monotonic() - t0,
                 ", ".join(f"{n} {b.http.base_url}" for n, b in self.boards.items()))

    def _open_run_dir(self) -> None:
        """Make (or take) the run folder and send the ``hil`` log to its ``rig.log``."""
        rig = self.rig
        if self.options.run_dir is not None:
            self.run_dir = Path(self.options.run_dir)
            self.run_dir.mkdir(parents=True, exist_ok=True)
        else:
            self.run_dir = Path(tempfile.mkdtemp(prefix=f"hil-rig-{rig.name}-"))
            self._own_dir = True
        self._handler = logging.FileHandler(self.run_dir / "rig.log", encoding="utf-8")
        self._handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logging.getLogger("hil").addHandler(self._handler)
        if log.getEffectiveLevel() > logging.INFO:
            log.setLevel(logging.INFO)
        log.info("rig %s (%s, sha256 %s) starting in %s: %s clock, time scale %g, seed %d", rig.name,
                 rig.source, rig.sha256[:16], self.run_dir, self.clock_mode, self.time_scale,
                 self.options.seed)

    # ---- tear down -----------------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop everything this rig started (idempotent); the run folder goes unless kept."""
        with self._stop_lock:
            if self.stopped or not self.started:
                return
            self.stopped = True
        atexit.unregister(self.stop)
        t0 = time.monotonic()
        self._halt.set()
        self._stack.close()    # everything in the reverse order it was started
        log.info("rig %s stopped in %.1f s", self.rig.name, time.monotonic() - t0)
        if self._handler is not None:
            logging.getLogger("hil").removeHandler(self._handler)
            self._handler.close()
        if self._own_dir and not self.options.keep_run_dir and self.run_dir is not None:
            shutil.rmtree(self.run_dir, ignore_errors=True)

    def _on_stop(self, what: str, fn: Any) -> None:
        """Have :meth:`stop` call ``fn`` (reverse order of registration; an error stops nothing else)."""
        def guarded() -> None:
            try:
                fn()
            except Exception as exc:  # noqa: BLE001 - stop the rest anyway
                log.warning("rig %s: stopping %s: %s", self.rig.name, what, exc)
        self._stack.callback(guarded)

    def __enter__(self) -> RigRuntime:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # ---- the whole rig ----------------------------------------------------------------------------------
    def reset_world(self) -> None:
        """Return to the rig file's world.

        Seeded household and PV, nominal mains, fresh appliance models, PowerDetector faults cleared,
        the P1 cable in, every WiFi up, every AC load reset (``*RST``).
        """
        assert self.world is not None and self.line is not None
        self.world.set_base(None)
        self.world.set_pv(None)
        self.world.set_mains(230.0)
        for name in self.rig.appliances:
            self.rebuild_appliance(name)
        for det in self.detectors.values():
            det.set_fault(None)
        self.line.plug()
        for name, board in self.boards.items():
            if isinstance(board, EmulatedBoard) and not board.wifi_up:
                self.wifi_restore(name)
        for link in self.links.values():
            link.restore()
        for spec in self.rig.instruments.values():
            if spec.kind == AC_LOAD:
                self.instruments[spec.name].reset()

    def status(self) -> dict[str, Any]:
        """Return a JSON-able picture of the running rig."""
        return {
            "rig": self.rig.name, "source": self.rig.source, "sha256": self.rig.sha256,
            "run_dir": str(self.run_dir), "time_scale": self.time_scale, "rig_time": self.clock.now(),
            "clock": {"mode": self.clock_mode, "rounds": getattr(self.clock, "rounds", None),
                      "boards": self.clock.remote_status(), "faults": list(self.faults)},
            "meter_time": None if self.source is None else self.source.meter.t,
            "p1": {"port": None if self.writer is None else self.writer.port,
                   "board_end": None if self.writer is None else self.writer.connect_to,
                   "profile": self.rig.p1.profile, "period_s": self.period_s,
                   "telegrams": 0 if self.writer is None else len(self.writer.sent),
                   "line": None if self.line is None else self.line.summary()},
            "boards": {n: b.describe() for n, b in self.boards.items()},
            "instruments": dict(self.resources),
            "lan": {n: {"address": link.address, "cut": link.is_cut, **link.counters}
                    for n, link in self.links.items()},
            "chips": {n: str(p.names[0]) for n, p in self.chip_lines.items()},
            "world": None if self.world is None else self.world.status(),
            "counters": dict(self.counters), "last_error": self.last_error,
        }

    def features(self) -> frozenset[str]:
        """Return what this running rig can do (the rig file's features plus what emulation adds)."""
        found = set(self.rig.features())
        found.add("p1_faults")   # the P1 emulator runs on every rig, into a pty or a real meter's RJ12
        if all(isinstance(b, EmulatedBoard) for b in self.boards.values()):
            found |= {"wifi_control", "world_control"}
        return frozenset(found)
