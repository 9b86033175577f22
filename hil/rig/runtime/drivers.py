"""Where a real and an emulated rig differ, labgrid style: a protocol per action, a driver per kind of part.

The runtime binds one driver per board (or line) when it starts and never asks again which kind it has:

- :class:`PowerProtocol` (``on()``, ``off()``): :class:`PduOutletPower` switches the board's PDU outlet
  through the PDU's pyvisa driver (real or emulated alike: the emulated PDU's outlet listener starts or
  kills the process); :class:`ProcessPower` kills (SIGKILL, a pulled plug) or starts an emulated board's
  process directly.
- :class:`WifiProtocol` (``drop()``, ``restore()``): :class:`EmulatedWifi` empties the board's WiFi table
  and cuts its LAN links; a real board has none (its access point is not the rig's to switch).
- :class:`CableProtocol` (``pull()``, ``plug()``): :class:`P1Cable` pulls the P1 cable on the emulator's
  line (the next telegram cut mid-way, nothing until plugged back).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from hil.rig.model import SMARTMETER
from hil.rig.runtime.boards import EmulatedBoard, RigBoard
from hil.rig.runtime.lan import LanLink
from hil.rig.runtime.p1line import RigLine

log = logging.getLogger("hil.rig")


class PowerProtocol(Protocol):
    """A board's supply."""

    def on(self) -> None:
        """Switch the supply on (the board boots; waiting for it is the caller's business)."""

    def off(self) -> None:
        """Cut the supply."""


class WifiProtocol(Protocol):
    """The WiFi around a board."""

    def drop(self) -> None:
        """Take the network away."""

    def restore(self) -> None:
        """Give it back."""


class CableProtocol(Protocol):
    """A cable the rig can pull."""

    def pull(self) -> None:
        """Pull it."""

    def plug(self) -> None:
        """Plug it back."""


class PduOutletPower:
    """A board powered through a PDU outlet (pyvisa driver with ``on(n)`` / ``off(n)``)."""

    def __init__(self, pdu: Any, outlet: int) -> None:
        """Switch ``outlet`` of ``pdu``."""
        self.pdu = pdu
        self.outlet = outlet

    def on(self) -> None:
        """Close the outlet."""
        self.pdu.on(self.outlet)

    def off(self) -> None:
        """Open the outlet."""
        self.pdu.off(self.outlet)


class ProcessPower:
    """An emulated board without an outlet: its process is its supply."""

    def __init__(self, board: EmulatedBoard, before_on: Callable[[], None], boot_timeout_s: float) -> None:
        """Start or kill ``board``'s process; ``before_on`` runs first (the plug's chip restarts too)."""
        self.board = board
        self.before_on = before_on
        self.boot_timeout_s = boot_timeout_s

    def on(self) -> None:
        """Start the process (and wait until its web server answers)."""
        self.before_on()
        self.board.power_on(self.boot_timeout_s)

    def off(self) -> None:
        """SIGKILL the process."""
        self.board.power_off()


class NoPower:
    """A real board without an outlet: the rig cannot switch it."""

    def __init__(self, name: str) -> None:
        """Refuse to switch board ``name``."""
        self.name = name

    def on(self) -> None:
        """Refuse (RuntimeError naming the board)."""
        raise RuntimeError(f"power on {self.name}: a real board without a PDU outlet: expected an outlet in "
                           "the rig file's wiring")

    off = on


class EmulatedWifi:
    """An emulated board's WiFi: its networks file and the LAN links through it."""

    def __init__(self, board: EmulatedBoard, boards: dict[str, RigBoard], links: dict[str, LanLink]) -> None:
        """Drop and restore ``board``'s WiFi; ``links`` by plug name."""
        self.board = board
        self.boards = boards
        self.links = links

    def _mine(self) -> list[tuple[str, LanLink]]:
        b = self.board
        return [(plug, link) for plug, link in self.links.items() if b.role == SMARTMETER or plug == b.name]

    def drop(self) -> None:
        """Empty the networks file; cut every link to or from the board."""
        self.board.set_wifi(False)
        for _, link in self._mine():
            link.cut()

    def restore(self) -> None:
        """Refill the networks file; links come back where the other end has WiFi too."""
        self.board.set_wifi(True)
        meter = next(b for b in self.boards.values() if b.role == SMARTMETER)
        for plug, link in self._mine():
            other = self.boards[plug] if self.board.role == SMARTMETER else meter
            if getattr(other, "wifi_up", True):
                link.restore()


class P1Cable:
    """The P1 cable between the meter (the emulator's line) and the SmartMeter."""

    def __init__(self, line: RigLine) -> None:
        """Pull and plug ``line``."""
        self.line = line

    def pull(self) -> None:
        """Pull it: the next telegram is cut mid-way."""
        self.line.pull()

    def plug(self) -> None:
        """Plug it back: the next period sends a whole telegram."""
        self.line.plug()
