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
import concurrent.futures
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

import attrs

from firmware.control.settings import Settings
from firmware.timebase import CET, local_to_utc
from hil.emulators.cse7766 import Cse7766Chip, Cse7766Emulator
from hil.emulators.instruments.ac_load import AcLoadDevice
from hil.emulators.instruments.launch import (
    EmulatedInstruments,
    InstrumentWorlds,
    powerdetector_for,
    start_emulated,
)
from hil.emulators.instruments.world import AcLine
from hil.emulators.p1.profiles import get_profile
from hil.emulators.p1.source import new_meter
from hil.emulators.p1.writer import P1Writer, line_format
from hil.emulators.powerdetector import LivePowerDetector
from hil.emulators.world import Site, make_appliance
from hil.instruments.base import ScpiInstrument
from hil.instruments.models import AC_LOAD, DMM, PDU, POWER_ANALYZER
from hil.rig.clock.shared import US
from hil.rig.clock.virtual import LineTap, VirtualClock
from hil.rig.instruments import open_instruments
from hil.rig.model import DIRECT, ApplianceSpec, Rig
from hil.rig.runtime.actors import AnalyzerActor, ChipActor, Injected, P1Actor, SerialQuiet, WorldActor
from hil.rig.runtime.boards import RIG_PASSWORD, RIG_SSID, EmulatedBoard, RealBoard, RigBoard
from hil.rig.runtime.branches import (
    AcLoadBranch,
    Branch,
    DetectorBranch,
    MeasuredBranch,
    ModelBranch,
    PlayedBranch,
    RatedBranch,
)
from hil.rig.runtime.clock import RigClock
from hil.rig.runtime.drivers import (
    EmulatedWifi,
    NoPower,
    P1Cable,
    PduOutletPower,
    PowerProtocol,
    ProcessPower,
)
from hil.rig.runtime.lan import LanLink
from hil.rig.runtime.p1line import RigLine, WorldSource
from hil.rig.runtime.world import World
from hil.serial_lines import PtyPair

log = logging.getLogger("hil.rig")

# Monday 15 January 2024, 09:58 local: winter (heat pump season), day tariff, two minutes before 10:00
DEFAULT_START = local_to_utc(2024, 1, 15, 9, 58, 0, None, CET)
# the manual's screenshot: what the meter's registers show at the start (Wh)
MANUAL_IMPORT_WH = (4_592_767, 6_664_174)
MANUAL_EXPORT_WH = (1_269_851, 439_646)


class RigRuntimeError(RuntimeError):
    """The rig could not be brought up, or a request does not fit this rig; the message says why."""


@attrs.frozen
class RuntimeOptions:
    """How to run a rig (everything has a default; the rig file says what the rig is).

    time_scale: overrides the rig file's (emulated rigs only). p1_period_s: meter seconds between
    telegrams (None: the profile's period, stretched at high time scales so the boards see at most
    about two telegrams per host second). plug_settings: flash settings the emulated plugs start with
    (e.g. ``{"failsafe_n": 1}``; settable only in flash). poll_s: how often plugs poll the SmartMeter
    (None: 5 rig seconds, at least 0.5 host seconds).
    """

    start_utc: int = DEFAULT_START
    time_scale: float | None = None
    seed: int = 1
    p1_period_s: float | None = None
    plug_settings: dict[str, Any] = attrs.field(factory=dict)
    poll_s: float | None = None
    step_s: float = 0.1
    run_dir: Path | None = None
    keep_run_dir: bool = False
    boot_timeout_s: float = 30.0
    clock: str | None = None            # 'virtual' | 'realtime' (None: the rig file's, see Rig.clock_mode)
    quantum_s: float | None = None      # virtual: the boards' timer grid (None: the rig file's)
    ticks_start_ms: int = 0             # what the emulated boards' ticks_ms() reads at boot (wrap tests)


class RigRuntime:
    """One running rig."""

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
        if self.virtual:
            quantum = self.options.quantum_s or rig.quantum_s
            self.clock = VirtualClock(self.options.start_utc, self.run_dir / "clock", quantum)
        else:
            self.clock = RigClock(self.options.start_utc, self.time_scale, folder=self.run_dir / "clock")
        self._on_stop("clock", self.clock.close)

        for name, spec in rig.powerdetectors.items():
            self.detectors[name] = LivePowerDetector(powerdetector_for(spec), self.clock)
        branches = [self._branch(app) for app in rig.appliances.values()]
        for branch in branches:
            branch.faults = self.faults  # type: ignore[union-attr]   # its errors fail the running test
        live = {b.name: self._live_reader(b.name) for b in rig.smartplugs}
        self.world = World(self.site, branches, live, self.clock.now())

        self.emulated = start_emulated(rig, self._instrument_worlds(), self.clock.now, clocked=self.virtual)
        for name, spec in rig.instruments.items():
            if spec.kind == POWER_ANALYZER and spec.emulated:   # its world errors fail the running test
                self.emulated.device(name).on_error = self.faults.append  # type: ignore[attr-defined]
        self._on_stop("instruments", self.emulated.close)
        self.resources = self.emulated.resources
        for app in rig.appliances.values():
            branch = self.world.branches.get(app.name)
            if isinstance(branch, AcLoadBranch) and app.instrument in self.resources:
                device = self.emulated.device(app.instrument)
                assert isinstance(device, AcLoadDevice)
                branch.attach(device)
        self.instruments = open_instruments(rig.with_resources(self.resources))
        for name, driver in self.instruments.items():
            self._on_stop(f"driver {name}", driver.close)
        for app in rig.appliances.values():   # models played by an AC load need its driver
            branch = self.world.branches.get(app.name)
            if isinstance(branch, PlayedBranch):
                branch.load = self.instruments[app.instrument or ""]  # type: ignore[assignment]
            if isinstance(branch, MeasuredBranch):
                analyzer = rig.wired(f"{app.plug}.output", POWER_ANALYZER)
                if analyzer is not None:
                    branch.analyzer = self.instruments[analyzer.name]  # type: ignore[assignment]
        log.info("rig %s: instruments %s", rig.name,
                 ", ".join(f"{n}={r}" for n, r in rig.with_resources(self.resources).instruments.items()
                           for r in [r.resource]) or "none")

        profile = get_profile(rig.p1.profile)
        meter = new_meter(profile, int(self.clock.now()))
        self.source = WorldSource(profile, meter, self.world, self.period_s)
        self.line = RigLine(line_format(self.source), crc=profile.crc, seed=self.options.seed)
        port = None if rig.p1.port == "auto" else rig.p1.port
        self.writer = P1Writer(self.source, port, injector=self.line, time_scale=1.0 / self.time_scale)
        self._on_stop("p1 writer", self.writer.stop)
        log.info("rig %s: P1 emulator %s (%s) on %s, a telegram every %g meter s", rig.name, profile.key,
                 profile.line_settings, self.writer.port, self.period_s)

        self._make_boards()
        self._outlets_on()

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
        log.info("rig %s up in %.1f s: %s", rig.name, time.monotonic() - t0,
                 ", ".join(f"{n} {b.http.base_url}" for n, b in self.boards.items()))

    def _clock_parts(self, meter_start: int) -> None:
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
            clock.add_quiet("P1 line", SerialQuiet(self.writer.pair, lambda: writer.bytes_sent))
        for plug, pair in self.chip_lines.items():
            self.chips[plug].port.close()
            self.chips[plug].port = Injected(pair)  # type: ignore[assignment]
            clock.add_quiet(f"{plug} metering line",
                            SerialQuiet(pair, lambda p=plug: self.chips[p].sent_bytes))
        for plug, link in self.links.items():
            clock.add_quiet(f"LAN link {plug}", link.quiet, link.traffic, (plug, self.rig.smartmeter.name))

    def _board_clock(self, name: str, pair: PtyPair | None, uart: str) -> dict[str, Any]:
        """Return the keyword arguments that put an emulated board on the rig's clock (virtual mode)."""
        clock = self.clock
        if not isinstance(clock, VirtualClock):
            ticks = str(self.options.ticks_start_ms)
            return {"clock_env": {**_realtime_env(clock), "HIL_TICKS_START_MS": ticks}}
        lines = [] if pair is None else [LineTap(uart, lambda: pair.moved[0], lambda: pair.discard_unread(1))]
        return {"clock": clock, "lines": lines, "ticks_start_ms": self.options.ticks_start_ms}

    def _branch(self, app: ApplianceSpec, params: dict[str, Any] | None = None) -> Branch:
        rig = self.rig
        merged = {**app.params, **(params or {})}
        if app.via != DIRECT:
            model = make_appliance(app.kind, merged, self.site) if app.kind != "real" else None
            if model is None:
                return RatedBranch(app.name, app.plug, app.watts or 0.0)
            coil = getattr(getattr(model, "p", None), "detector_coil_w", None)
            kwargs = {"coil_w": max(coil, 1.5)} if coil else {}
            return DetectorBranch(app.name, app.plug, model, self.detectors[app.via], **kwargs)
        if app.kind == "ac_load":
            return AcLoadBranch(app.name, app.plug)
        if app.kind == "real":
            branch: Branch
            if rig.wired(f"{app.plug}.output", POWER_ANALYZER) is not None:
                branch = MeasuredBranch(app.name, app.plug, _NoAnalyzer())
            else:
                branch = RatedBranch(app.name, app.plug, app.watts or 0.0)
            return branch
        model = make_appliance(app.kind, merged, self.site)
        if app.instrument is not None:
            return PlayedBranch(app.name, app.plug, model, _NoLoad())
        return ModelBranch(app.name, app.plug, model)

    def _live_reader(self, plug: str) -> Any:
        def live() -> bool | None:
            board = self.boards.get(plug)
            return None if board is None else board.relay_live()
        return live

    def _instrument_worlds(self) -> InstrumentWorlds:
        rig = self.rig
        world = self.world
        assert world is not None
        worlds = InstrumentWorlds()
        for wire in rig.wiring:
            spec = rig.instruments[wire.instrument]
            obj, terminal = wire.target
            if spec.kind == POWER_ANALYZER and terminal == "output":
                worlds.power[spec.name] = lambda plug=obj: world.output_sample(plug)
            elif spec.kind == AC_LOAD and terminal == "output":
                branch = world.by_plug.get(obj)
                if isinstance(branch, AcLoadBranch):
                    worlds.line[spec.name] = branch.line_world
                else:
                    worlds.line[spec.name] = lambda plug=obj: AcLine(world.output_sample(plug).volts)
            elif spec.kind == DMM and terminal == "contact" and obj in self.detectors:
                worlds.resistance[spec.name] = self.detectors[obj].resistance
            elif spec.kind == PDU and terminal == "power" and wire.outlet is not None:
                self._outlets[(spec.name, wire.outlet)] = obj
        for name in {n for n, _ in self._outlets}:
            worlds.outlets[name] = lambda outlet, on, pdu=name: self._outlet_switched(pdu, outlet, on)
        return worlds

    def _make_boards(self) -> None:
        """Lay out and provision every board, power them (the meter first: the plugs' links need its port)."""
        rig = self.rig
        assert self.run_dir is not None and self.writer is not None
        timeout = self.options.boot_timeout_s
        meter_spec = rig.smartmeter
        meter: RigBoard
        if meter_spec.emulated:
            meter = EmulatedBoard(meter_spec, self.run_dir / meter_spec.name, p1=self.writer.connect_to,
                                  port=_port_of(meter_spec.http),
                                  **self._board_clock(meter_spec.name, self.writer.pair, "p1"))
            meter.provision({"wifi.json": {"ssid": RIG_SSID, "password": RIG_PASSWORD}})
        else:
            meter = RealBoard(meter_spec, self.run_dir / meter_spec.name)
        self.boards[meter_spec.name] = meter
        self._on_stop(f"board {meter_spec.name}", meter.stop)
        settings = Settings().to_dict()
        settings.update(self.options.plug_settings)
        plugs: list[EmulatedBoard] = []
        for spec in rig.smartplugs:
            if not spec.emulated:
                self.boards[spec.name] = RealBoard(spec, self.run_dir / spec.name)
                continue
            pair = PtyPair()
            self.chip_lines[spec.name] = pair
            self._on_stop(f"pty {spec.name}", pair.close)
            self.chips[spec.name] = Cse7766Emulator(pair.names[0], Cse7766Chip(seed=len(self.chips) + 1))
            self._on_stop(f"cse7766 {spec.name}", self.chips[spec.name].stop)
            board = EmulatedBoard(spec, self.run_dir / spec.name, metering=pair.names[1],
                                  port=_port_of(spec.http), **self._board_clock(spec.name, pair, "metering"))
            self.boards[spec.name] = board
            self._on_stop(f"board {spec.name}", board.stop)
            plugs.append(board)
        for board in self.boards.values():
            if isinstance(board, RealBoard):
                board.start()
        if isinstance(meter, EmulatedBoard):
            meter.power_on(timeout)
        for board in plugs:
            if isinstance(meter, EmulatedBoard):
                target = ("127.0.0.1", int(meter.proc.port or 0))
                link = LanLink(target, f"{board.name}->{meter.name}").start()
                self.links[board.name] = link
                self._on_stop(f"lan {board.name}", link.stop)
                address = link.address
            else:
                address = meter_spec.http
            board.provision({"wifi.json": {"ssid": RIG_SSID, "password": RIG_PASSWORD},
                             "meter.json": {"address": address, "poll_s": self.poll_s},
                             "settings.json": settings})
        self._power_all(plugs, timeout)

    def _power_all(self, boards: list[EmulatedBoard], timeout: float) -> None:
        futures = {b.power_on_async(timeout): b for b in boards}
        errors = []
        for f in concurrent.futures.as_completed(futures):
            exc = f.exception()
            if exc is not None:
                errors.append(f"{futures[f].name}: {exc}")
        if errors:
            raise RigRuntimeError(f"rig {self.rig.name}: boards did not come up:\n" + "\n".join(errors))

    def _outlets_on(self) -> None:
        """Close every PDU outlet that powers a board (the boards run already: no switching happens)."""
        for (pdu, outlet), _board in self._outlets.items():
            driver = self.instruments.get(pdu)
            if driver is not None:
                driver.on(outlet)  # type: ignore[attr-defined]

    def _outlet_switched(self, pdu: str, outlet: int, on: bool) -> None:
        """PDU listener (runs in the SCPI server's thread): cut or restore a board's supply."""
        name = self._outlets.get((pdu, outlet))
        board = self.boards.get(name or "")
        if board is None:
            return
        if not on:
            board.power_off()
            return
        if board.powered:
            return
        self._chip_power_on(board.name)
        if isinstance(board, EmulatedBoard):
            # the supply is on; the process comes up in the background (the SCPI answer must not wait)
            future = board.power_on_async(self.options.boot_timeout_s)
            future.add_done_callback(lambda f, name=board.name: self._powered(name, f))
        else:
            board.power_on()

    def _powered(self, name: str, future: concurrent.futures.Future[None]) -> None:
        exc = future.exception()
        if exc is not None:
            self.last_error = f"{name}: power on: {exc}"
            log.error("rig %s: %s", self.rig.name, self.last_error)

    def _chip_power_on(self, plug: str) -> None:
        """Restart a plug's metering chip with its supply: a new CF register value, no energy kept."""
        emu = self.chips.get(plug)
        if emu is not None:
            with emu.lock:
                emu.chip = Cse7766Chip(seed=emu.chip.rng.randrange(1 << 30),
                                       cf_start=emu.chip.rng.randrange(0x10000))
                emu.load = emu.chip.load

    def _run_world(self) -> None:
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

    # ---- faults and controls -------------------------------------------------------------------------
    def _need_emulated(self, what: str, board: str | None = None) -> EmulatedBoard | None:
        if board is None:
            return None
        b = self.boards.get(board)
        if b is None:
            known = ", ".join(self.rig.boards)
            if board in self.rig.boards:
                raise RigRuntimeError(f"{what}: board {board} is not running (start the rig first)")
            raise RigRuntimeError(f"{what}: no board {board!r}; expected one of {known}")
        if not isinstance(b, EmulatedBoard):
            raise RigRuntimeError(f"{what}: board {board} is real: only emulated boards can do this")
        return b

    def p1_pull(self) -> None:
        """Pull the P1 cable (the next telegram is cut mid-way; nothing more until :meth:`p1_plug`)."""
        assert self.line is not None
        self.counters["p1_pulls"] += 1
        log.info("rig %s: P1 cable pulled", self.rig.name)
        P1Cable(self.line).pull()

    def p1_plug(self) -> None:
        """Plug the P1 cable back in."""
        assert self.line is not None
        log.info("rig %s: P1 cable plugged back", self.rig.name)
        P1Cable(self.line).plug()

    def meter_reboot(self, seconds: float = 10.0) -> int:
        """Reboot the meter: P1 silent for ``seconds`` of meter time; returns the silent telegram periods."""
        assert self.line is not None
        periods = max(1, math.ceil(seconds / self.period_s))
        self.counters["meter_reboots"] += 1
        log.info("rig %s: meter reboot, P1 silent for %d telegram periods", self.rig.name, periods)
        self.line.reboot(periods)
        return periods

    def p1_inject(self, kind: str, **params: Any) -> None:
        """Apply a line fault (bitflip, wrong_crc, truncate, drop, garbage, noise) to the next telegram."""
        assert self.line is not None
        self.line.inject(kind, **params)

    def has_outlet(self, board: str) -> bool:
        """Whether a PDU outlet powers ``board``."""
        return self.rig.outlet(board) is not None

    def power(self, board: str) -> PowerProtocol:
        """Return the driver of ``board``'s supply: its PDU outlet when it has one, else its process."""
        outlet = self.rig.outlet(board)
        if outlet is not None:
            return PduOutletPower(self.instruments[outlet[0].name], outlet[1])
        b = self.boards.get(board)
        if isinstance(b, EmulatedBoard):
            return ProcessPower(b, lambda: self._chip_power_on(board), self.options.boot_timeout_s)
        self._need_emulated("power", board)
        return NoPower(board)

    def power_off(self, board: str) -> None:
        """Cut a board's power (its PDU outlet when it has one; else an emulated board's process)."""
        log.info("rig %s: power off %s", self.rig.name, board)
        self.power(board).off()

    def power_on(self, board: str, wait: bool = True) -> None:
        """Restore a board's power; with ``wait``, return once its web server answers."""
        log.info("rig %s: power on %s", self.rig.name, board)
        self.power(board).on()
        if wait:
            self.wait_up(board)

    def power_cycle(self, board: str, off_s: float = 1.0) -> None:
        """Power off, wait ``off_s`` rig seconds, power on and wait until up."""
        self.counters["power_cycles"] += 1
        self.power_off(board)
        self.clock.sleep(off_s)
        self.power_on(board)

    def wait_up(self, board: str, timeout: float | None = None) -> float:
        """Wait until ``board`` answers HTTP; return the seconds waited (RigRuntimeError on timeout)."""
        b = self.boards[board]
        timeout = timeout if timeout is not None else self.options.boot_timeout_s
        t0 = time.monotonic()
        while not b.http.alive(timeout=1.0):
            if time.monotonic() - t0 > timeout:
                tail = "\n".join(b.log_text().splitlines()[-30:])
                raise RigRuntimeError(f"{board}: no HTTP answer at {b.http.base_url} within {timeout} s; "
                                      f"last error {self.last_error}; console:\n{tail}")
            self.clock.sleep(0.05)   # rig time: the board's own timers run meanwhile
        return time.monotonic() - t0

    def wifi_drop(self, board: str) -> None:
        """Take the WiFi away from an emulated board: it drops off the network; its LAN links are cut."""
        b = self._need_emulated("wifi drop", board)
        assert b is not None
        self.counters["wifi_drops"] += 1
        log.info("rig %s: WiFi drop at %s", self.rig.name, board)
        EmulatedWifi(b, self.boards, self.links).drop()

    def wifi_restore(self, board: str) -> None:
        """Give the WiFi back to an emulated board (it rejoins) and restore its LAN links."""
        b = self._need_emulated("wifi restore", board)
        assert b is not None
        log.info("rig %s: WiFi back at %s", self.rig.name, board)
        EmulatedWifi(b, self.boards, self.links).restore()

    def mains(self, volts: float) -> None:
        """Set the mains voltage the meter, the plugs' chips, the analyzer and the loads see (a sag)."""
        assert self.world is not None
        log.info("rig %s: mains %.1f V", self.rig.name, volts)
        self.world.set_mains(volts)

    def now(self) -> float:
        """Return rig time (UTC epoch seconds)."""
        return self.clock.now()

    def meter_time(self) -> int:
        """Return the meter's clock in its last telegram (UTC epoch seconds)."""
        assert self.source is not None
        return self.source.meter.t

    def jump(self, seconds: float) -> None:
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

    def rebuild_appliance(self, name: str, **params: Any) -> Branch:
        """Replace appliance ``name``'s model by a fresh one (rig-file params updated with ``params``)."""
        assert self.world is not None
        app = self.rig.appliances[name]
        branch = self._branch(app, params)
        old = self.world.branches.get(name)
        if isinstance(branch, AcLoadBranch) and isinstance(old, AcLoadBranch):
            return old   # the emulated load keeps its device; a test sets it through the driver
        if isinstance(branch, PlayedBranch) and isinstance(old, PlayedBranch):
            branch.load = old.load
        if isinstance(branch, MeasuredBranch) and isinstance(old, MeasuredBranch):
            branch.analyzer = old.analyzer
        branch.faults = self.faults  # type: ignore[union-attr]
        self.world.replace(branch)
        return branch

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

    def align(self, grid_s: float = 60.0) -> None:
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

    def ensure_powered(self) -> None:
        """Power every board that is off and wait until all answer."""
        for name, board in self.boards.items():
            if not board.powered or (isinstance(board, EmulatedBoard) and not board.proc.alive):
                self.power_on(name, wait=False)
        for name in self.boards:
            self.wait_up(name)

    # ---- looking at it --------------------------------------------------------------------------------
    def last_telegrams(self, n: int = 3) -> list[bytes]:
        """Return the last ``n`` telegrams the P1 emulator produced (as sent when the line was clean)."""
        return [] if self.source is None else [t.data for t in self.source.last_telegrams(n)]

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


class _NoAnalyzer:
    """Placeholder until the analyzer's driver is open."""

    def measure(self) -> Any:
        raise RigRuntimeError("analyzer driver not open yet")


class _NoLoad:
    """Placeholder until the AC load's driver is open."""

    def set_mode(self, mode: str, setpoint: float) -> None:
        raise RigRuntimeError("AC load driver not open yet")

    def input_on(self) -> None:
        raise RigRuntimeError("AC load driver not open yet")

    def input_off(self) -> None:
        raise RigRuntimeError("AC load driver not open yet")


def _realtime_env(clock: RigClock | VirtualClock) -> dict[str, str]:
    """Return the environment that puts a board on a realtime clock's time page (none without a page)."""
    page = getattr(clock, "page", None)
    return {} if page is None else {"HIL_RIG_CLOCK": str(page.path.parent), "HIL_RIG_CLOCK_ID": "0"}


def _port_of(http: str) -> int | None:
    """Return the loopback port a rig file fixes for an emulated board's web server (None for 'auto')."""
    if http == "auto":
        return None
    host, _, port = http.rpartition(":")
    return int(port) if port.isdigit() else None

