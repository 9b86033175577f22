"""The rig description as validated attrs objects (labgrid style: validators run when built).

A rig names its boards, the P1 emulator, the appliances behind the plugs, the PowerDetectors,
the instruments and the wiring between instruments and the rest. Objects are pure descriptions;
starting what is emulated is someone else's job.
"""

from __future__ import annotations

from typing import Any

import attrs

from hil.instruments.models import KINDS
from hil.memory import BOARD_CLASSES, DEFAULT_BOARD_CLASS
from hil.rig.checks import (
    VERSION,
    ByEmulation,
    http_address,
    is_bool,
    mac,
    number,
    one_of,
    optional,
    serial_url,
    text,
    visa_resource,
)
from hil.rig.checks import name as name_check

SMARTMETER = "smartmeter"
SMARTPLUG = "smartplug"
ROLES = (SMARTMETER, SMARTPLUG)
DIRECT = "direct"
TERMINALS = ("output", "power", "contact")


@attrs.frozen
class Board:
    """One SmartMeter or SmartPlug, real (an ESP32 on the bench) or emulated (a process)."""

    name: str = attrs.field(validator=name_check())
    role: str = attrs.field(validator=one_of(ROLES))
    emulated: bool = attrs.field(validator=is_bool())
    console: str = attrs.field(validator=ByEmulation(serial_url))
    http: str = attrs.field(validator=ByEmulation(http_address))
    mac: str = attrs.field(validator=mac())
    # the ESP32 it is (or stands for): its heap budget is what the image must fit (hil/memory.py)
    board_class: str = attrs.field(default=DEFAULT_BOARD_CLASS, validator=one_of(BOARD_CLASSES))
    # a real board's API token (docs/security.md): the file `hil rig pair` wrote after its button was
    # pressed (relative to the rig file); never the token itself. Emulated boards get the rig's own user.
    token_file: str | None = attrs.field(default=None, validator=optional(text()))
    # the token itself, never from a rig file: a held labgrid place's http service carries it (hil.lab)
    token: str | None = attrs.field(default=None, repr=False, metadata={"rig_file": False})


@attrs.frozen
class P1Emulator:
    """The P1 emulator: which meter profile it plays and the serial line it writes to."""

    profile: str = attrs.field(validator=text())
    port: str = attrs.field(validator=text())
    board: str = attrs.field(validator=name_check())


@attrs.frozen
class PowerDetectorSpec:
    """A PowerDetector plugged into a SmartPlug (times in milliseconds)."""

    name: str = attrs.field(validator=name_check())
    plug: str = attrs.field(validator=name_check())
    pickup_ms: float = attrs.field(default=30.0, validator=number(1, 1000, "ms"))
    dropout_ms: float = attrs.field(default=20.0, validator=number(1, 1000, "ms"))
    bounce_ms: float = attrs.field(default=4.0, validator=number(0, 100, "ms"))
    max_bounces: int = attrs.field(default=3, validator=number(0, 20, integer=True))
    seed: int = attrs.field(default=0, validator=number(0, 2**31 - 1, integer=True))


@attrs.frozen
class ApplianceSpec:
    """What a plug switches: a world model (boiler, heat pump, ...), the AC load, or a real device."""

    name: str = attrs.field(validator=name_check())
    plug: str = attrs.field(validator=name_check())
    kind: str = attrs.field(validator=text())
    via: str = attrs.field(default=DIRECT, validator=name_check())
    params: dict[str, Any] = attrs.field(factory=dict, validator=attrs.validators.instance_of(dict))
    instrument: str | None = attrs.field(default=None, validator=optional(name_check()))
    watts: float | None = attrs.field(default=None, validator=optional(number(1, 100000, "W")))


@attrs.frozen
class InstrumentSpec:
    """A lab instrument reached through VISA: kind, model, resource string, emulated or real."""

    name: str = attrs.field(validator=name_check())
    kind: str = attrs.field(validator=one_of(KINDS))
    emulated: bool = attrs.field(validator=is_bool())
    resource: str = attrs.field(validator=ByEmulation(visa_resource))
    model: str | None = attrs.field(default=None, validator=optional(text()))
    timeout_ms: int = attrs.field(default=3000, validator=number(100, 60000, "ms", integer=True))
    outlets: int | None = attrs.field(default=None, validator=optional(number(1, 20, integer=True)))
    slot: int | None = attrs.field(default=None, validator=optional(number(1, 3, integer=True)))


@attrs.frozen
class Wire:
    """One connection: an instrument (a PDU outlet) to a terminal ``<name>.<output|power|contact>``."""

    instrument: str = attrs.field(validator=name_check())
    to: str = attrs.field(validator=text())
    outlet: int | None = attrs.field(default=None, validator=optional(number(1, 20, integer=True)))

    @property
    def target(self) -> tuple[str, str]:
        """Return (object name, terminal) of ``to``."""
        obj, _, terminal = self.to.partition(".")
        return obj, terminal


@attrs.frozen
class Rig:
    """A whole rig file, validated; ``source`` and ``sha256`` identify the file it came from."""

    name: str = attrs.field(validator=name_check())
    version: int = attrs.field(validator=VERSION)
    boards: dict[str, Board]
    p1: P1Emulator
    description: str = attrs.field(default="", validator=text())
    time_scale: float = attrs.field(default=1.0, validator=number(0.001, 3600))
    # virtual: discrete-event time (fully emulated rigs; "auto" picks it for them), realtime: scaled host time
    clock: str = attrs.field(default="auto", validator=attrs.validators.in_(("auto", "virtual", "realtime")))
    quantum_s: float = attrs.field(default=0.1, validator=number(0.001, 10))   # virtual: timer grid
    visa_backend: str = attrs.field(default="@py", validator=text())
    appliances: dict[str, ApplianceSpec] = attrs.field(factory=dict)
    powerdetectors: dict[str, PowerDetectorSpec] = attrs.field(factory=dict)
    instruments: dict[str, InstrumentSpec] = attrs.field(factory=dict)
    wiring: tuple[Wire, ...] = ()
    source: str = "<string>"
    sha256: str = ""

    # --- questions the rig's users ask ---------------------------------------------------------------
    @property
    def clock_mode(self) -> str:
        """Return 'virtual' or 'realtime' ("auto": virtual when every board is emulated)."""
        if self.clock != "auto":
            return self.clock
        return "virtual" if all(b.emulated for b in self.boards.values()) else "realtime"

    @property
    def fully_emulated(self) -> bool:
        """Return whether every board and instrument is emulated (runs on any laptop)."""
        return all(b.emulated for b in self.boards.values()) and all(
            i.emulated for i in self.instruments.values()
        )

    @property
    def smartmeter(self) -> Board:
        """Return the SmartMeter board."""
        return next(b for b in self.boards.values() if b.role == SMARTMETER)

    @property
    def smartplugs(self) -> list[Board]:
        """Return the SmartPlug boards, in file order."""
        return [b for b in self.boards.values() if b.role == SMARTPLUG]

    def wired(self, terminal: str, kind: str | None = None) -> InstrumentSpec | None:
        """Return the instrument (of ``kind``) wired to ``terminal`` such as ``plug1.output``."""
        for wire in self.wiring:
            spec = self.instruments[wire.instrument]
            if wire.to == terminal and (kind is None or spec.kind == kind):
                return spec
        return None

    def outlet(self, board: str) -> tuple[InstrumentSpec, int] | None:
        """Return (PDU, outlet) powering ``board``, if any."""
        for wire in self.wiring:
            if wire.to == f"{board}.power" and wire.outlet is not None:
                return self.instruments[wire.instrument], wire.outlet
        return None

    def features(self) -> frozenset[str]:
        """Return what this rig can do, for skip markers: instrument kinds wired, powerdetector, ..."""
        found = {self.instruments[w.instrument].kind for w in self.wiring}
        if self.powerdetectors:
            found.add("powerdetector")
        if any(not b.emulated for b in self.boards.values()):
            found.add("real_boards")
        if self.fully_emulated:
            found.add("emulated")
        return frozenset(found)

    def with_resources(self, resources: dict[str, str]) -> Rig:
        """Return this rig with the resource strings of started emulated instruments filled in."""
        unknown = sorted(set(resources) - set(self.instruments))
        if unknown:
            raise KeyError(
                f"with_resources: no instrument(s) {', '.join(unknown)}; expected some of "
                f"{', '.join(self.instruments)}"
            )
        instruments = {
            n: attrs.evolve(spec, resource=resources[n]) if n in resources else spec
            for n, spec in self.instruments.items()
        }
        return attrs.evolve(self, instruments=instruments)
