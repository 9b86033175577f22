"""The world of a running rig: PowerDetectors, each appliance's branch as the rig file wires it, the mains.

A branch is what stands behind a plug's relay: a model (boiler, heat pump, ...) directly or through a
PowerDetector, an emulated AC load, a model played by a real AC load, a real appliance measured by the
power analyzer on the plug's output, or a rated constant (see :mod:`hil.rig.runtime.branches`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from hil.emulators.instruments.launch import powerdetector_for
from hil.emulators.powerdetector import LivePowerDetector
from hil.emulators.world import make_appliance
from hil.instruments.models import POWER_ANALYZER
from hil.rig.model import DIRECT, ApplianceSpec
from hil.rig.runtime.branches import (
    AcLoadBranch,
    Branch,
    DetectorBranch,
    MeasuredBranch,
    ModelBranch,
    PlayedBranch,
    RatedBranch,
)
from hil.rig.runtime.options import RigRuntimeError
from hil.rig.runtime.world import World

if TYPE_CHECKING:
    from hil.rig.runtime.runtime import RigRuntime

log = logging.getLogger("hil.rig")


class RigAppliances:
    """The part of :class:`~hil.rig.runtime.runtime.RigRuntime` that builds and changes the world."""

    def _start_world(self: RigRuntime) -> None:
        """Make the PowerDetectors and the world with one branch per appliance of the rig file."""
        rig = self.rig
        for name, spec in rig.powerdetectors.items():
            self.detectors[name] = LivePowerDetector(powerdetector_for(spec), self.clock)
        branches = [self._branch(app) for app in rig.appliances.values()]
        for branch in branches:
            branch.faults = self.faults  # type: ignore[union-attr]   # its errors fail the running test
        live = {b.name: self._live_reader(b.name) for b in rig.smartplugs}
        self.world = World(self.site, branches, live, self.clock.now())

    def _branch(self: RigRuntime, app: ApplianceSpec, params: dict[str, Any] | None = None) -> Branch:
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

    def _live_reader(self: RigRuntime, plug: str) -> Any:
        def live() -> bool | None:
            board = self.boards.get(plug)
            return None if board is None else board.relay_live()
        return live

    def rebuild_appliance(self: RigRuntime, name: str, **params: Any) -> Branch:
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

    def mains(self: RigRuntime, volts: float) -> None:
        """Set the mains voltage the meter, the plugs' chips, the analyzer and the loads see (a sag)."""
        assert self.world is not None
        log.info("rig %s: mains %.1f V", self.rig.name, volts)
        self.world.set_mains(volts)


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
