"""What drives the plug's relay in a simulation: the firmware controller, or a baseline.

A decider sees what a SmartPlug would see, one reading at a time, with the firmware controller's own
calling convention (each returns the new relay state when it changes, else None):

    decider.plug(plug_mwh)                       # the plug's own cumulative energy (integer mWh)
    decider.meter(t, import_wh, export_wh, mono)  # a SmartMeter reading
    decider.tick(mono)                           # time passes (Disconnected, fail-safe)

``t`` is the meter's timestamp (UTC s), ``import_wh`` / ``export_wh`` the meter's cumulative registers
summed over tariffs (integer Wh), ``mono`` the plug's monotonic clock (s). A decider that needs the
meter's instantaneous power (``uses_power``) gets ``meter_power(t, import_wh, export_wh, net_w, mono)``
instead, ``net_w`` being import-positive watts. A ``static`` decider never changes the relay and is not
called at all (the simulator skips the calls).
"""

from __future__ import annotations

from typing import Any

import attrs

from firmware.control.controller import Controller
from firmware.control.settings import Settings


@attrs.frozen
class PlugSettings:
    """The page's settings of a SmartPlug in SmartMeter Mode (thresholds as the page's kWh text)."""

    on_kwh: str = "0.625"
    off_kwh: str = "0.625"
    interval_min: int = 15
    failsafe_n: int = 4
    failsafe_on: bool = False

    def firmware(self) -> Settings:
        """Return firmware Settings in SmartMeter Mode; ValueError with the firmware's reason if refused."""
        s = Settings()
        for err in (s.set_kwh("on_wh", str(self.on_kwh)), s.set_kwh("off_wh", str(self.off_kwh)),
                    s.set("interval_min", self.interval_min), s.set("failsafe_n", self.failsafe_n),
                    s.set("failsafe_on", self.failsafe_on), s.set("mode", True)):
            if err is not None:
                raise ValueError("plug settings: %s" % err)
        return s

    @property
    def on_wh(self) -> int:
        """Return Threshold ON in Wh."""
        return self.firmware().on_wh

    @property
    def off_wh(self) -> int:
        """Return Threshold OFF in Wh."""
        return self.firmware().off_wh


class Decider:
    """Base class: a relay policy fed the plug's readings."""

    name = "decider"
    relay = False
    uses_power = False
    reads_now = False   # with uses_power: the power of the telegram at the step's start (see engine)
    static = False

    def plug(self, plug_mwh: int) -> None:
        """Take the plug's cumulative energy in mWh."""

    def meter(self, t: int, import_wh: int, export_wh: int, mono: float) -> bool | None:
        """Take one meter reading; return the new relay state when it changes, else None."""
        raise NotImplementedError

    def meter_power(self, t: int, import_wh: int, export_wh: int, net_w: float, mono: float) -> bool | None:
        """Take one meter reading with the instantaneous power (deciders with ``uses_power``)."""
        return self.meter(t, import_wh, export_wh, mono)

    def tick(self, mono: float) -> bool | None:
        """Let time pass without a reading; return the new relay state when it changes, else None."""
        return None

    def counters(self) -> dict[str, Any]:
        """Return what the decider counted (for the report)."""
        return {}


class FirmwareDecider(Decider):
    """The SmartPlug's own controller (``firmware.control.Controller``), in SmartMeter Mode.

    ``plug``, ``meter`` and ``tick`` are the controller's own bound methods: nothing in between.
    ``timeout_s`` is the controller's Disconnected / gap timeout: the device's 30 s, or (a simulator
    reading once a minute) the reading period; without data gaps both give the same decisions.
    """

    name = "plug"

    def __init__(self, settings: PlugSettings, relay: bool = False, timeout_s: int = 30) -> None:
        """Build a controller as after a reboot with the relay saved as ``relay``."""
        self.settings = settings
        fw = settings.firmware()
        self.controller = c = Controller(fw, saved_state={"v": 1, "relay": bool(relay), "failsafe": False,
                                                          "interval_min": fw.interval_min},
                                         timeout_s=timeout_s)
        self.plug = c.on_plug_energy  # type: ignore[method-assign]
        self.meter = c.on_meter  # type: ignore[method-assign]
        self.tick = c.tick  # type: ignore[method-assign]
        self.warnings = fw.warnings()

    @property
    def relay(self) -> bool:  # type: ignore[override]
        """Return the controller's relay state."""
        return self.controller.relay

    def counters(self) -> dict[str, Any]:
        """Return the controller's own counters."""
        return dict(self.controller.counters)


class NoControl(Decider):
    """Baseline: the relay stays on; the appliance follows only its own thermostat or timer."""

    name = "none"
    relay = True
    static = True

    def meter(self, t: int, import_wh: int, export_wh: int, mono: float) -> bool | None:
        """Ignore the reading."""
        return None


class NaiveThreshold(Decider):
    """Baseline: the plug's thresholds applied to instantaneous watts at every reading, no interval.

    ``P_off = Threshold OFF / interval`` and ``P_on = Threshold ON / interval`` (kWh per interval turned
    into an average power). Relay on: off when ``net_w > P_off``. Relay off: on when ``net_w + C < P_on``
    where, with equal thresholds, C is the plug's last measured power while on (the watt analogue of the
    firmware's C), else 0. No minimum on or off time: this is what the interval rules are measured
    against.
    """

    name = "naive"
    uses_power = True

    def __init__(self, settings: PlugSettings, relay: bool = False) -> None:
        """Build the watt thresholds from the plug's settings."""
        fw = settings.firmware()
        hours = fw.interval_min / 60.0
        self.p_on_w = fw.on_wh / hours
        self.p_off_w = fw.off_wh / hours
        self.equal = fw.on_wh == fw.off_wh
        self.relay = relay
        self._c_w = 0.0
        self._mono = 0.0
        self._last_plug: tuple[float, int] | None = None

    def plug(self, plug_mwh: int) -> None:
        """Estimate the appliance's power from the plug's energy while the relay is on."""
        last = self._last_plug
        if last is not None and self.relay and self._mono > last[0]:
            self._c_w = (plug_mwh - last[1]) * 3.6 / (self._mono - last[0])
        self._last_plug = (self._mono, plug_mwh)

    def meter(self, t: int, import_wh: int, export_wh: int, mono: float) -> bool | None:
        """Without the instantaneous power there is nothing to decide on."""
        self._mono = mono
        return None

    def meter_power(self, t: int, import_wh: int, export_wh: int, net_w: float, mono: float) -> bool | None:
        """Compare the instantaneous power with the watt thresholds."""
        self._mono = mono
        if self.relay:
            if net_w > self.p_off_w:
                self.relay = False
                return False
        elif net_w + (self._c_w if self.equal else 0.0) < self.p_on_w:
            self.relay = True
            return True
        return None
