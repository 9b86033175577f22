"""Peak Guard in the simulator: the firmware's guard as a decider, and the plugs' shared table.

The firmware's ``PeakGuard`` sits behind the decider interface; the SmartMeter's coordination table is
shared by the plugs of one home.

Each reading the decider hands the guard what a plug gets from its SmartMeter: the meter's timestamp, the
import register (Wh), the instantaneous import (``1-0:1.7.0``, from the step's net power) and the table of
guarded plugs (``firmware.control.peakguard.Table``, the SmartMeter's ``/api/peakguard/v1`` in the device),
then reports its own state back to the table. The relay is on unless the guard sheds (the appliance is
wanted on, as with no control). The SmartMeter answers with the table as it stood before the second of the
request, so plugs that ask in one second do not see each other's reports of that second. The plugs of one
home ask one second apart in their list order (``slot``), as real plugs poll at their own phases: each sees
the reports of the plugs before it in the same reading, and those after it from the reading before.
"""

from __future__ import annotations

from typing import Any

import attrs

from firmware.control.peakguard import GuardSettings, PeakGuard, Table
from hil.sim.deciders import Decider


@attrs.frozen
class GuardConfig:
    """Peak Guard settings of one plug, as the page and the API take them (cap in W, 0 = auto)."""

    cap_w: int = 0
    priority: int = 5
    min_on_s: int = 300
    min_off_s: int = 300
    max_sw_h: int = 6
    load_w: int = 0

    def firmware(self) -> GuardSettings:
        """Return firmware GuardSettings with Peak Guard on; ValueError with the firmware's reason."""
        s = GuardSettings()
        for key in ("cap_w", "priority", "min_on_s", "min_off_s", "max_sw_h", "load_w"):
            err = s.set(key, getattr(self, key))
            if err is not None:
                raise ValueError("peak guard settings: %s" % err)
        s.set("on", True)
        return s


def guard_config(data: dict[str, Any] | None) -> GuardConfig:
    """Build a GuardConfig from a plain dict (a scenario file), checked by the firmware's bounds."""
    data = dict(data or {})
    names = {f.name for f in attrs.fields(GuardConfig)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError("guard: unknown setting(s) %s; expected some of %s" % (", ".join(unknown),
                                                                               ", ".join(sorted(names))))
    cfg = GuardConfig(**data)
    cfg.firmware()
    return cfg


class PeakGuardDecider(Decider):
    """A plug in Peak Guard mode: the appliance is wanted on; the firmware guard sheds and restores it."""

    name = "peakguard"
    uses_power = True
    reads_now = True

    def __init__(self, cfg: GuardConfig, plug_id: str = "plug", table: Table | None = None,
                 period_s: int = 60, timeout_s: int = 30, failsafe_on: bool = False, slot: int = 0) -> None:
        """Build a guard reading every ``period_s``; ``table`` None = the SmartMeter is not reachable.

        slot: the second after each reading at which this plug asks the SmartMeter (its poll's phase).
        """
        self.cfg = cfg
        self.guard = PeakGuard(cfg.firmware(), plug_id=plug_id, period_s=period_s, timeout_s=timeout_s)
        self.table = table
        self.failsafe_on = failsafe_on
        self.slot = slot
        self._mwh = 0
        self._last: tuple[float, int] | None = None

    @property
    def relay(self) -> bool:  # type: ignore[override]
        """Return the relay: on unless shed."""
        return not self.guard.shed

    def plug(self, plug_mwh: int) -> None:
        """Take the plug's cumulative energy (its power follows at the next reading)."""
        self._mwh = plug_mwh

    def meter(self, t: int, import_wh: int, export_wh: int, mono: float) -> bool | None:
        """Without the instantaneous power, the guard derives it from the registers."""
        return self._decide(t, import_wh, None, mono)

    def meter_power(self, t: int, import_wh: int, export_wh: int, net_w: float, mono: float) -> bool | None:
        """Decide on a reading with the meter's instantaneous power (1-0:1.7.0 is its import part)."""
        return self._decide(t, import_wh, max(0, int(net_w)), mono)

    def _decide(self, t: int, import_wh: int, import_w: int | None, mono: float) -> bool | None:
        last = self._last
        if last is not None and mono > last[0]:
            self.guard.on_plug_power(int((self._mwh - last[1]) * 3.6 / (mono - last[0])))
        self._last = (mono, self._mwh)
        m = int(mono)
        peers = self.table.entries(m + self.slot) if self.table is not None else None
        before = self.guard.shed
        self.guard.on_meter(t, import_wh, m, True, import_w=import_w, peers=peers)
        if self.table is not None:
            self.table.update(self.guard.report(), m + self.slot)
        return None if self.guard.shed == before else (not self.guard.shed)

    def tick(self, mono: float) -> bool | None:
        """Time passes without a reading: after 30 s the plug's fail-safe state."""
        before = self.guard.shed
        self.guard.tick(int(mono), True, self.failsafe_on)
        return None if self.guard.shed == before else (not self.guard.shed)

    def counters(self) -> dict[str, Any]:
        """Return the guard's counters and its decision log's size."""
        return dict(self.guard.counters)
