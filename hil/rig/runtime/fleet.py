"""The boards of a running rig: each laid out, provisioned and powered; the plugs' LAN links; WiFi faults.

Emulated boards run as processes on the rig's clock (:class:`EmulatedBoard`); the plugs reach the
SmartMeter through a :class:`LanLink` (a WiFi drop cuts it). Real boards are reached at their rig-file
address and their consoles captured (:class:`RealBoard`).
"""

from __future__ import annotations

import concurrent.futures
import logging
from typing import TYPE_CHECKING, Any

from firmware.control.settings import Settings
from hil.emulators.cse7766 import Cse7766Chip, Cse7766Emulator
from hil.rig.clock.virtual import LineTap, VirtualClock
from hil.rig.runtime.boards import RIG_PASSWORD, RIG_SSID, EmulatedBoard, RealBoard, RigBoard
from hil.rig.runtime.clock import RigClock
from hil.rig.runtime.drivers import EmulatedWifi
from hil.rig.runtime.lan import LanLink
from hil.rig.runtime.options import RigRuntimeError
from hil.serial_lines import PtyPair

if TYPE_CHECKING:
    from hil.rig.runtime.runtime import RigRuntime

log = logging.getLogger("hil.rig")


class RigFleet:
    """The part of :class:`~hil.rig.runtime.runtime.RigRuntime` that brings boards up and cuts their WiFi."""

    def _make_boards(self: RigRuntime) -> None:
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

    def _power_all(self: RigRuntime, boards: list[EmulatedBoard], timeout: float) -> None:
        futures = {b.power_on_async(timeout): b for b in boards}
        errors = []
        for f in concurrent.futures.as_completed(futures):
            exc = f.exception()
            if exc is not None:
                errors.append(f"{futures[f].name}: {exc}")
        if errors:
            raise RigRuntimeError(f"rig {self.rig.name}: boards did not come up:\n" + "\n".join(errors))

    def _board_clock(self: RigRuntime, name: str, pair: PtyPair | None, uart: str) -> dict[str, Any]:
        """Return the keyword arguments that put an emulated board on the rig's clock (virtual mode)."""
        clock = self.clock
        if not isinstance(clock, VirtualClock):
            ticks = str(self.options.ticks_start_ms)
            return {"clock_env": {**_realtime_env(clock), "HIL_TICKS_START_MS": ticks}}
        lines = [] if pair is None else [LineTap(uart, lambda: pair.moved[0], lambda: pair.discard_unread(1),
                                                 lambda: _line_state(pair))]
        return {"clock": clock, "lines": lines, "ticks_start_ms": self.options.ticks_start_ms}

    def _need_emulated(self: RigRuntime, what: str, board: str | None = None) -> EmulatedBoard | None:
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

    def wifi_drop(self: RigRuntime, board: str) -> None:
        """Take the WiFi away from an emulated board: it drops off the network; its LAN links are cut."""
        b = self._need_emulated("wifi drop", board)
        assert b is not None
        self.counters["wifi_drops"] += 1
        log.info("rig %s: WiFi drop at %s", self.rig.name, board)
        EmulatedWifi(b, self.boards, self.links).drop()

    def wifi_restore(self: RigRuntime, board: str) -> None:
        """Give the WiFi back to an emulated board (it rejoins) and restore its LAN links."""
        b = self._need_emulated("wifi restore", board)
        assert b is not None
        log.info("rig %s: WiFi back at %s", self.rig.name, board)
        EmulatedWifi(b, self.boards, self.links).restore()


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


def _line_state(pair: PtyPair) -> str:
    """Describe what a board's serial line holds, for a stalled clock's message."""
    try:
        unread = str(pair.unread(1))
    except OSError as e:
        unread = f"? ({e})"
    return f"{unread} unread in the pty, {pair.dropped} dropped (its buffer full)"
