"""Driver for switched outlets on a Keysight 34972A / DAQ970A relay card (``ROUTe:CLOSe|OPEN``).

Outlet n is channel ``<slot>0n``; a closed relay powers the outlet. A power cycle is off, a
wait of the requested off time (that wait is the point of the operation), on.
"""

from __future__ import annotations

import time

from pyvisa.resources import MessageBasedResource

from hil.instruments.base import InstrumentError, ScpiInstrument
from hil.instruments.models import PDU


class Pdu(ScpiInstrument):
    """Outlet on/off/status and power-cycle over a relay multiplexer in ``slot``."""

    KIND = PDU

    def __init__(
        self, resource: MessageBasedResource, name: str = "", *, slot: int = 1, outlets: int = 20
    ) -> None:
        super().__init__(resource, name)
        self.slot = slot
        self.outlets = outlets

    def channel(self, outlet: int) -> str:
        """Return the channel list naming one outlet, e.g. ``(@103)``."""
        if not 1 <= outlet <= self.outlets:
            raise InstrumentError(f"{self.name}: outlet: expected 1..{self.outlets}, got {outlet}")
        return f"(@{self.slot * 100 + outlet})"

    def on(self, outlet: int) -> None:
        """Power an outlet."""
        self.write(f"ROUTe:CLOSe {self.channel(outlet)}")

    def off(self, outlet: int) -> None:
        """Cut an outlet."""
        self.write(f"ROUTe:OPEN {self.channel(outlet)}")

    def is_on(self, outlet: int) -> bool:
        """Return whether an outlet is powered."""
        answer = self.query(f"ROUTe:CLOSe? {self.channel(outlet)}")
        if answer not in ("0", "1"):
            raise InstrumentError(f"{self.name}: ROUTe:CLOSe?: expected 0 or 1, got {answer!r}")
        return answer == "1"

    def states(self) -> dict[int, bool]:
        """Return every outlet's state in one query."""
        first, last = self.slot * 100 + 1, self.slot * 100 + self.outlets
        answer = self.query(f"ROUTe:CLOSe? (@{first}:{last})").split(",")
        if len(answer) != self.outlets:
            raise InstrumentError(f"{self.name}: expected {self.outlets} states, got {answer!r}")
        return {n: a == "1" for n, a in enumerate(answer, start=1)}

    def cycle(self, outlet: int, off_s: float = 1.0) -> None:
        """Power-cycle an outlet: off, wait ``off_s``, on (an outlet that was off ends up on)."""
        self.off(outlet)
        time.sleep(off_s)
        self.on(outlet)
