"""The instruments of a running rig: the emulated SCPI servers wired to the world, one driver per instrument.

Real and emulated instruments alike get a pyvisa driver (:mod:`hil.rig.instruments`); the emulated ones
read the world (analyzer on a plug's output, AC load as a plug's appliance, DMM on a PowerDetector's
contact) and the PDU's outlets switch the boards' supplies.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from hil.emulators.instruments.ac_load import AcLoadDevice
from hil.emulators.instruments.launch import InstrumentWorlds, start_emulated
from hil.emulators.instruments.world import AcLine
from hil.instruments.models import AC_LOAD, DMM, PDU, POWER_ANALYZER
from hil.rig.instruments import open_instruments
from hil.rig.runtime.branches import AcLoadBranch, MeasuredBranch, PlayedBranch

if TYPE_CHECKING:
    from hil.rig.runtime.runtime import RigRuntime

log = logging.getLogger("hil.rig")


class RigInstrumentation:
    """The part of :class:`~hil.rig.runtime.runtime.RigRuntime` that starts and wires the instruments."""

    def _start_instruments(self: RigRuntime) -> None:
        """Start the emulated instruments on the world, open every driver, attach the loads and analyzers."""
        rig = self.rig
        assert self.world is not None
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

    def _instrument_worlds(self: RigRuntime) -> InstrumentWorlds:
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
