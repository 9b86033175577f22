"""Emulated switchable power outlets: a Keysight 34972A / DAQ970A with a 20-channel actuator card.

Outlet n is relay channel ``<slot>0n`` (slot 1: 101 .. 120); a closed relay powers the outlet.
Commands are the mainframe's ``ROUTe:CLOSe``, ``ROUTe:OPEN`` and their queries with SCPI channel
lists such as ``(@101,103:105)``. The rig listens to outlet changes (``on_switch``) to cut and
restore an emulated board's power.
"""

from __future__ import annotations

import re

from hil.emulators.instruments.scpi import (
    ILLEGAL_PARAMETER_VALUE,
    SYNTAX_ERROR,
    Call,
    ScpiDevice,
    ScpiError,
)
from hil.emulators.instruments.world import OutletListener

IDN = "Keysight Technologies,34972A,EMULATED,1.17-1.12-02-02"
CARD_IDN = "Agilent Technologies,34903A,0,1.0"


def _ignore(outlet: int, on: bool) -> None:
    """Default listener: nothing is plugged in."""


def parse_channel_list(text: str, slot: int, outlets: int) -> list[int]:
    """Outlet numbers of a channel list ``(@101,103:105)``; errors name the bad channel."""
    m = re.fullmatch(r"\(\s*@\s*([0-9,:\s]+)\)", text.strip())
    if m is None:
        raise ScpiError(SYNTAX_ERROR, f"expected a channel list like (@{slot}01,{slot}02), got {text}")
    result: list[int] = []
    lo_ch, hi_ch = slot * 100 + 1, slot * 100 + outlets
    for item in m.group(1).split(","):
        bounds = [b.strip() for b in item.split(":")]
        if len(bounds) > 2 or not all(b.isdigit() for b in bounds):
            raise ScpiError(
                SYNTAX_ERROR, f"expected a channel or a range a:b, got {item.strip()!r} in {text}"
            )
        first, last = int(bounds[0]), int(bounds[-1])
        for ch in (first, last):
            if not lo_ch <= ch <= hi_ch:
                raise ScpiError(ILLEGAL_PARAMETER_VALUE, f"channel {ch}: expected {lo_ch}..{hi_ch}")
        step = 1 if last >= first else -1
        result.extend(ch - slot * 100 for ch in range(first, last + step, step))
    return result


class PduDevice(ScpiDevice):
    """Relay outlets behind ``ROUTe`` commands; state per outlet, change listener for the rig."""

    def __init__(
        self, outlets: int = 20, slot: int = 1, on_switch: OutletListener = _ignore, idn: str = IDN
    ) -> None:
        super().__init__(idn)
        if not 1 <= outlets <= 20 or not 1 <= slot <= 3:
            raise ValueError(
                f"PDU: expected 1..20 outlets in slot 1..3, got {outlets} outlets in slot {slot}"
            )
        self.outlets = outlets
        self.slot = slot
        self.on_switch = on_switch
        self.state = [False] * (outlets + 1)  # index 0 unused
        self.switches = 0
        self.add("ROUTe:CLOSe", lambda c: self._switch(c, True))
        self.add("ROUTe:OPEN", lambda c: self._switch(c, False))
        self.add("ROUTe:CLOSe?", lambda c: self._query(c, True))
        self.add("ROUTe:OPEN?", lambda c: self._query(c, False))
        self.add("SYSTem:CTYPe?", self._card_type)

    def reset(self) -> None:
        """*RST opens every relay (every outlet off)."""
        for outlet in range(1, self.outlets + 1):
            self._set(outlet, False)

    def is_on(self, outlet: int) -> bool:
        """Whether an outlet is powered."""
        with self.lock:
            return self.state[outlet]

    def _set(self, outlet: int, on: bool) -> None:
        if self.state[outlet] != on:
            self.state[outlet] = on
            self.switches += 1
            self.on_switch(outlet, on)

    def _switch(self, c: Call, on: bool) -> None:
        c.count(1)
        for outlet in parse_channel_list(c.args[0], self.slot, self.outlets):
            self._set(outlet, on)

    def _query(self, c: Call, closed: bool) -> str:
        c.count(1)
        outlets = parse_channel_list(c.args[0], self.slot, self.outlets)
        return ",".join("1" if self.state[o] == closed else "0" for o in outlets)

    def _card_type(self, c: Call) -> str:
        c.count(1)
        slot = c.integer(0, 100, 300)
        if slot != self.slot * 100:
            return "0,0,0,0"  # empty slot
        return CARD_IDN
