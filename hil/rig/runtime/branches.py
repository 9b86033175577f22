"""What hangs behind each SmartPlug's output, as the world steps it: one small class per way to realise it.

A branch is stepped with the plug's output state and the mains voltage and returns a :class:`Flow`:
what the household's meter sees (``grid_w``) and what flows through the plug's output (``plug``: the
sample its metering chip and a power analyzer on that output measure).

- :class:`ModelBranch`: a world model (boiler, heater, heat pump, ...) plugged straight into the plug.
- :class:`DetectorBranch`: a world model on its own supply, released by a PowerDetector's dry contact
  plugged into the plug: the plug sees the detector's coil only; the contact follows the output with
  the detector's pick-up, drop-out and bounce.
- :class:`AcLoadBranch`: an emulated AC electronic load is the appliance (a test sets its mode).
- :class:`PlayedBranch`: a real AC load plays a world model (its setpoint follows the model).
- :class:`MeasuredBranch`: a real appliance on a real plug, measured by the power analyzer on its output.
- :class:`RatedBranch`: a real appliance nobody measures: its rated watts while the plug is on.
"""

from __future__ import annotations

from typing import Any, Protocol

import attrs

from hil.emulators.instruments.ac_load import AcLoadDevice
from hil.emulators.instruments.world import AcLine, AcSample
from hil.emulators.powerdetector import LivePowerDetector
from hil.emulators.world import Appliance

NOMINAL_V = 230.0
RESISTIVE = frozenset({"boiler", "heater"})
COIL_W = 1.5  # a PowerDetector's relay coil (a small mains relay: 1-2 VA)


@attrs.frozen
class Flow:
    """One branch over one step: average watts from the grid, and the sample at the plug's output."""

    grid_w: float
    plug: AcSample


def sample(volts: float, watts: float) -> AcSample:
    """Return a resistive sample (power factor 1) at ``volts`` drawing ``watts``."""
    return AcSample(volts=volts, amps=watts / volts if volts > 0 else 0.0, watts=watts)


def report(branch: object, text: str) -> None:
    """Hand a branch's error to the rig (its ``faults`` sink, set by the runtime): the running test fails."""
    sink = getattr(branch, "faults", None)
    if sink is not None:
        sink.append(text)


class Branch(Protocol):
    """The stepping contract every branch follows."""

    name: str
    plug: str
    kind: str

    def step(self, t: float, dt: float, live: bool, volts: float) -> Flow:
        """Advance over [t, t + dt) with the plug's output live or dead at ``volts``."""
        ...

    def describe(self) -> dict[str, Any]:
        """Return a small JSON-able status of the branch."""
        ...


class ModelBranch:
    """A world appliance model behind the plug's relay; resistive kinds follow the mains voltage (P ~ V^2)."""

    def __init__(self, name: str, plug: str, appliance: Appliance) -> None:
        """Wrap ``appliance`` (stepped in rig time)."""
        self.name = name
        self.plug = plug
        self.appliance = appliance
        self.kind = appliance.kind
        self.last_w = 0.0

    def step(self, t: float, dt: float, live: bool, volts: float) -> Flow:
        """Step the model; grid and plug see the same watts."""
        grid, plug = self.appliance.step(int(t), dt, live and volts > 0)
        if self.kind in RESISTIVE:
            k = (volts / NOMINAL_V) ** 2
            grid, plug = grid * k, plug * k
        self.last_w = grid
        return Flow(grid, sample(volts, plug))

    def describe(self) -> dict[str, Any]:
        """Return the model's state: watts, and what its thermostat wants."""
        return {"kind": self.kind, "watts": round(self.last_w, 1),
                "wants_power": self.appliance.wants_power()}


class DetectorBranch:
    """A model switched through a PowerDetector: released while the contact is closed, on its own supply."""

    def __init__(self, name: str, plug: str, appliance: Appliance, detector: LivePowerDetector,
                 coil_w: float = COIL_W) -> None:
        """Wrap the model and the live detector whose coil hangs on the plug's output."""
        self.name = name
        self.plug = plug
        self.appliance = appliance
        self.detector = detector
        self.kind = appliance.kind
        self.coil_w = coil_w
        self._live: bool | None = None
        self.last_w = 0.0
        self.contact = False
        self._models_coil = hasattr(getattr(appliance, "p", None), "detector_coil_w")

    def step(self, t: float, dt: float, live: bool, volts: float) -> Flow:
        """Drive the coil, read the contact, step the model with the contact as its release input."""
        energised = live and volts > 0
        if energised != self._live:
            self._live = energised
            self.detector.set_output(energised)
        self.contact = self.detector.contact_closed()
        grid, own = self.appliance.step(int(t), dt, self.contact)
        coil = self.coil_w if energised else 0.0
        if self._models_coil:
            grid -= own   # a heat pump model counts a detector coil of its own as its plug's share: ours
        grid += coil
        self.last_w = grid
        return Flow(grid, sample(volts, coil))

    def describe(self) -> dict[str, Any]:
        """Return the model's watts and the contact state."""
        return {"kind": self.kind, "watts": round(self.last_w, 1), "contact_closed": self.contact,
                "wants_power": self.appliance.wants_power()}


class AcLoadBranch:
    """An emulated AC electronic load on the plug's output: it sinks what its mode says from the live line."""

    def __init__(self, name: str, plug: str, device: AcLoadDevice | None = None) -> None:
        """Describe the branch; the device comes once the instrument runs (:meth:`attach`)."""
        self.name = name
        self.plug = plug
        self.kind = "ac_load"
        self.device = device
        self.line = AcLine(0.0)
        self.last = AcSample()

    def attach(self, device: AcLoadDevice) -> None:
        """Use this emulated load device."""
        self.device = device

    def line_world(self) -> AcLine:
        """Return the load's input terminals: the plug's output voltage (the device's world callback)."""
        return self.line

    def step(self, t: float, dt: float, live: bool, volts: float) -> Flow:
        """Present the line to the load and take what it draws."""
        self.line = AcLine(volts if live else 0.0)
        self.last = self.device.draw() if self.device is not None else AcSample(volts=self.line.volts)
        return Flow(self.last.watts, self.last)

    def describe(self) -> dict[str, Any]:
        """Return what the load draws."""
        return {"kind": self.kind, "watts": round(self.last.watts, 1), "line_v": round(self.line.volts, 1)}


class PowerReader(Protocol):
    """What :class:`MeasuredBranch` needs of a power analyzer driver."""

    def measure(self) -> Any:
        """Return an object with ``volts``, ``amps`` and ``watts``."""
        ...


class MeasuredBranch:
    """A real appliance on a real plug: the power analyzer on the plug's output says what it draws.

    The analyzer is read at most every ``every_s`` seconds of rig time; a failed read keeps the last
    value and is counted (``read_errors``, ``last_error``), so a flaky LAN never stops the world.
    """

    def __init__(self, name: str, plug: str, analyzer: PowerReader, every_s: float = 0.5) -> None:
        """Read ``analyzer`` (a :class:`hil.instruments.PowerAnalyzer`)."""
        self.name = name
        self.plug = plug
        self.kind = "real"
        self.analyzer = analyzer
        self.every_s = every_s
        self._next = -1e18
        self.last = AcSample()
        self.reads = 0
        self.read_errors = 0
        self.last_error: str | None = None

    def step(self, t: float, dt: float, live: bool, volts: float) -> Flow:
        """Return the analyzer's latest watts (whatever the relay line says: the analyzer knows)."""
        if t + dt >= self._next:
            self._next = t + dt + self.every_s
            try:
                m = self.analyzer.measure()
                w = 0.0 if m.watts != m.watts else float(m.watts)  # NaN: no data on the element
                self.last = AcSample(float(m.volts) if m.volts == m.volts else 0.0,
                                     float(m.amps) if m.amps == m.amps else 0.0, w)
                self.reads += 1
            except Exception as exc:  # noqa: BLE001 - a VISA/IO error must not stop the world
                self.read_errors += 1
                self.last_error = f"{self.plug} analyzer at {t + dt:.1f}: {type(exc).__name__}: {exc}"
                report(self, self.last_error)
        return Flow(self.last.watts, self.last)

    def describe(self) -> dict[str, Any]:
        """Return the measured watts and the read counters."""
        return {"kind": self.kind, "watts": round(self.last.watts, 1), "reads": self.reads,
                "read_errors": self.read_errors, "last_error": self.last_error}


class RatedBranch:
    """A real appliance nobody measures: its rated watts while the plug's output is live."""

    def __init__(self, name: str, plug: str, watts: float) -> None:
        """``watts`` from the rig file."""
        self.name = name
        self.plug = plug
        self.kind = "real"
        self.watts = watts
        self.last_w = 0.0

    def step(self, t: float, dt: float, live: bool, volts: float) -> Flow:
        """Rated watts when live."""
        self.last_w = self.watts if live and volts > 0 else 0.0
        return Flow(self.last_w, sample(volts, self.last_w))

    def describe(self) -> dict[str, Any]:
        """Return the watts assumed."""
        return {"kind": self.kind, "watts": self.last_w, "rated_w": self.watts}


class LoadSetter(Protocol):
    """What :class:`PlayedBranch` needs of an AC load driver."""

    def set_mode(self, mode: str, setpoint: float) -> None:
        """Set mode and setpoint."""
        ...

    def input_on(self) -> None:
        """Start sinking."""
        ...

    def input_off(self) -> None:
        """Stop sinking."""
        ...


class PlayedBranch:
    """A real AC load plays a world model: its constant-power setpoint follows the model's watts."""

    def __init__(self, name: str, plug: str, appliance: Appliance, load: LoadSetter,
                 min_change_w: float = 5.0) -> None:
        """Drive ``load`` (an :class:`hil.instruments.AcLoad`) from ``appliance``."""
        self.name = name
        self.plug = plug
        self.kind = appliance.kind
        self.appliance = appliance
        self.load = load
        self.min_change_w = min_change_w
        self._set_w: float | None = None
        self.last_w = 0.0
        self.errors = 0
        self.last_error: str | None = None

    def step(self, t: float, dt: float, live: bool, volts: float) -> Flow:
        """Step the model and move the load's setpoint when it changed by more than ``min_change_w``."""
        grid, _ = self.appliance.step(int(t), dt, live and volts > 0)
        if self._set_w is None or abs(grid - self._set_w) >= self.min_change_w:
            try:
                if grid > 0:
                    self.load.set_mode("CP", grid)
                    self.load.input_on()
                else:
                    self.load.input_off()
                self._set_w = grid
            except Exception as exc:  # noqa: BLE001 - counted; the world goes on, the running test fails
                self.errors += 1
                self.last_error = f"{self.name}: load at {t:.1f}: {type(exc).__name__}: {exc}"
                report(self, self.last_error)
        self.last_w = grid
        return Flow(grid, sample(volts, grid))

    def describe(self) -> dict[str, Any]:
        """Return the model's watts and the load's setpoint."""
        return {"kind": self.kind, "watts": round(self.last_w, 1), "load_setpoint_w": self._set_w,
                "errors": self.errors, "last_error": self.last_error}
