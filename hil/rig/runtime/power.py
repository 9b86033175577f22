"""The boards' supplies on a running rig: a PDU outlet where the rig file has one, else the board's process.

Switching an outlet (through its driver, as a test or a real PDU would) cuts or restores the board it
powers; a plug's metering chip restarts with its supply.
"""

from __future__ import annotations

import concurrent.futures
import logging
import time
from typing import TYPE_CHECKING

from hil.emulators.cse7766 import Cse7766Chip
from hil.rig.runtime.boards import EmulatedBoard
from hil.rig.runtime.drivers import NoPower, PduOutletPower, PowerProtocol, ProcessPower
from hil.rig.runtime.options import RigRuntimeError

if TYPE_CHECKING:
    from hil.rig.runtime.runtime import RigRuntime

log = logging.getLogger("hil.rig")


class RigPower:
    """The part of :class:`~hil.rig.runtime.runtime.RigRuntime` that powers boards on and off."""

    def has_outlet(self: RigRuntime, board: str) -> bool:
        """Whether a PDU outlet powers ``board``."""
        return self.rig.outlet(board) is not None

    def power(self: RigRuntime, board: str) -> PowerProtocol:
        """Return the driver of ``board``'s supply: its PDU outlet when it has one, else its process."""
        outlet = self.rig.outlet(board)
        if outlet is not None:
            return PduOutletPower(self.instruments[outlet[0].name], outlet[1])
        b = self.boards.get(board)
        if isinstance(b, EmulatedBoard):
            return ProcessPower(b, lambda: self._chip_power_on(board), self.options.boot_timeout_s)
        self._need_emulated("power", board)
        return NoPower(board)

    def power_off(self: RigRuntime, board: str) -> None:
        """Cut a board's power (its PDU outlet when it has one; else an emulated board's process)."""
        log.info("rig %s: power off %s", self.rig.name, board)
        self.power(board).off()

    def power_on(self: RigRuntime, board: str, wait: bool = True) -> None:
        """Restore a board's power; with ``wait``, return once its web server answers."""
        log.info("rig %s: power on %s", self.rig.name, board)
        self.power(board).on()
        if wait:
            self.wait_up(board)

    def power_cycle(self: RigRuntime, board: str, off_s: float = 1.0) -> None:
        """Power off, wait ``off_s`` rig seconds, power on and wait until up."""
        self.counters["power_cycles"] += 1
        self.power_off(board)
        self.clock.sleep(off_s)
        self.power_on(board)

    def wait_up(self: RigRuntime, board: str, timeout: float | None = None) -> float:
        """Wait until ``board`` answers HTTP; return the seconds waited (RigRuntimeError on timeout)."""
        b = self.boards[board]
        timeout = timeout if timeout is not None else self.options.boot_timeout_s
        t0 = time.monotonic()
        # virtual clock: a board answers in no rig time; only a refused connection means "not up yet"
        while not b.http.alive(timeout=30.0 if self.virtual else 1.0):
            if time.monotonic() - t0 > timeout:
                tail = "\n".join(b.log_text().splitlines()[-30:])
                raise RigRuntimeError(f"{board}: no HTTP answer at {b.http.base_url} within {timeout} s; "
                                      f"last error {self.last_error}; console:\n{tail}")
            self.clock.sleep(0.05)   # rig time: the board's own timers run meanwhile
        return time.monotonic() - t0

    def ensure_powered(self: RigRuntime) -> None:
        """Power every board that is off and wait until all answer."""
        for name, board in self.boards.items():
            if not board.powered or (isinstance(board, EmulatedBoard) and not board.proc.alive):
                self.power_on(name, wait=False)
        for name in self.boards:
            self.wait_up(name)

    def _outlets_on(self: RigRuntime) -> None:
        """Close every PDU outlet that powers a board (the boards run already: no switching happens)."""
        for (pdu, outlet), _board in self._outlets.items():
            driver = self.instruments.get(pdu)
            if driver is not None:
                driver.on(outlet)  # type: ignore[attr-defined]

    def _outlet_switched(self: RigRuntime, pdu: str, outlet: int, on: bool) -> None:
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

    def _powered(self: RigRuntime, name: str, future: concurrent.futures.Future[None]) -> None:
        exc = future.exception()
        if exc is not None:
            self.last_error = f"{name}: power on: {exc}"
            log.error("rig %s: %s", self.rig.name, self.last_error)

    def _chip_power_on(self: RigRuntime, plug: str) -> None:
        """Restart a plug's metering chip with its supply: a new CF register value, no energy kept."""
        emu = self.chips.get(plug)
        if emu is not None:
            with emu.lock:
                emu.chip = Cse7766Chip(seed=emu.chip.rng.randrange(1 << 30),
                                       cf_start=emu.chip.rng.randrange(0x10000))
                emu.load = emu.chip.load
