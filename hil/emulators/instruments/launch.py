"""Start a rig's emulated instruments: one loopback SCPI server each, wired to world callbacks.

``start_emulated(rig, worlds)`` serves every instrument the rig marks ``emulated: true`` on a
free loopback port (or the port its resource names), and returns the running servers with the
resource strings to reach them (``rig.with_resources(running.resources)`` gives a rig whose
instruments the drivers can open). Instruments without a world callback read as nothing
connected: 0 V / 0 A at an analyzer or load, open leads at a DMM, nothing behind a PDU outlet.
"""

from __future__ import annotations

import re
from types import TracebackType

import attrs

from hil.emulators.instruments.ac_load import AcLoadDevice
from hil.emulators.instruments.dmm import DmmDevice
from hil.emulators.instruments.pdu import PduDevice
from hil.emulators.instruments.power_analyzer import PowerAnalyzerDevice
from hil.emulators.instruments.scpi import ScpiDevice
from hil.emulators.instruments.server import ScpiServer
from hil.emulators.instruments.world import (
    Clock,
    LineWorld,
    OutletListener,
    PowerWorld,
    ResistanceWorld,
    VoltageWorld,
    scaled_clock,
)
from hil.emulators.powerdetector import PowerDetector
from hil.instruments.models import AC_LOAD, DMM, MODELS, PDU, POWER_ANALYZER
from hil.rig.model import InstrumentSpec, PowerDetectorSpec, Rig


@attrs.define
class InstrumentWorlds:
    """World callbacks by instrument name (see :mod:`hil.emulators.instruments.world`)."""

    power: dict[str, PowerWorld] = attrs.field(factory=dict)
    line: dict[str, LineWorld] = attrs.field(factory=dict)
    resistance: dict[str, ResistanceWorld] = attrs.field(factory=dict)
    volts: dict[str, VoltageWorld] = attrs.field(factory=dict)
    outlets: dict[str, OutletListener] = attrs.field(factory=dict)


def make_device(spec: InstrumentSpec, worlds: InstrumentWorlds, clock: Clock) -> ScpiDevice:
    """Build the emulated device of one instrument description."""
    name = spec.name
    if spec.kind == POWER_ANALYZER:
        if name in worlds.power:
            return PowerAnalyzerDevice(world=worlds.power[name], clock=clock)
        return PowerAnalyzerDevice(clock=clock)
    if spec.kind == AC_LOAD:
        model = MODELS[AC_LOAD][spec.model] if spec.model else "63804"
        return (
            AcLoadDevice(world=worlds.line[name], model=model)
            if name in worlds.line
            else AcLoadDevice(model=model)
        )
    if spec.kind == DMM:
        kwargs = {}
        if name in worlds.resistance:
            kwargs["resistance"] = worlds.resistance[name]
        if name in worlds.volts:
            kwargs["volts"] = worlds.volts[name]
        return DmmDevice(**kwargs)
    if spec.kind == PDU:
        device = PduDevice(outlets=spec.outlets or 20, slot=spec.slot or 1)
        if name in worlds.outlets:
            device.on_switch = worlds.outlets[name]
        return device
    raise ValueError(f"instrument {name}: no emulator for kind {spec.kind!r}")


def _port(resource: str) -> int:
    m = re.fullmatch(r"TCPIP0?::127\.0\.0\.1::(\d+)::SOCKET", resource)
    return int(m.group(1)) if m else 0


class EmulatedInstruments:
    """The running emulated instruments of one rig; stop them with :meth:`close` (or ``with``)."""

    def __init__(self, servers: dict[str, ScpiServer]) -> None:
        self.servers = servers

    @property
    def resources(self) -> dict[str, str]:
        """Return the VISA resource string of each running instrument."""
        return {name: server.resource for name, server in self.servers.items()}

    def device(self, name: str) -> ScpiDevice:
        """Return the emulated device behind instrument ``name`` (to read what an AC load draws)."""
        return self.servers[name].device

    def close(self) -> None:
        """Stop every server."""
        for server in self.servers.values():
            server.stop()

    def __enter__(self) -> EmulatedInstruments:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def start_emulated(
    rig: Rig, worlds: InstrumentWorlds | None = None, clock: Clock | None = None, clocked: bool = False
) -> EmulatedInstruments:
    """Serve every emulated instrument of ``rig``; the analyzer integrates on ``clock`` (rig time).

    clocked: the rig's virtual clock updates the analyzers (``update(t)`` each round) instead of a ticker.
    """
    worlds = worlds or InstrumentWorlds()
    clock = clock or scaled_clock(rig.time_scale)
    servers: dict[str, ScpiServer] = {}
    try:
        for spec in rig.instruments.values():
            if spec.emulated:
                device = make_device(spec, worlds, clock)
                if isinstance(device, PowerAnalyzerDevice):
                    device.clocked = clocked
                servers[spec.name] = ScpiServer(device, port=_port(spec.resource), name=spec.name).start()
    except BaseException:
        for server in servers.values():
            server.stop()
        raise
    return EmulatedInstruments(servers)


def powerdetector_for(spec: PowerDetectorSpec) -> PowerDetector:
    """Build the PowerDetector state machine a rig file describes (milliseconds to seconds)."""
    return PowerDetector(
        pickup_s=spec.pickup_ms / 1000,
        dropout_s=spec.dropout_ms / 1000,
        bounce_s=spec.bounce_ms / 1000,
        max_bounces=spec.max_bounces,
        seed=spec.seed,
    )
