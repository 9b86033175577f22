"""A site: one household's climate, base load and PV, plus the factory for switched appliances.

Everything is built from one seed, so a site is reproducible; every quantity draws from its own salted
stream, so changing the PV size does not change the household's load, and so on.
"""

from __future__ import annotations

from typing import Any

import attrs

from hil.emulators.world.appliance import Appliance
from hil.emulators.world.boiler import Boiler, BoilerParams, DrawKind
from hil.emulators.world.charger import Charger, ChargerParams
from hil.emulators.world.climate import ClimateParams, Clouds, Temperature
from hil.emulators.world.clock import LocalClock
from hil.emulators.world.household import EventKind, Household, HouseholdParams
from hil.emulators.world.noise import salt
from hil.emulators.world.pool import PoolPump, PoolPumpParams
from hil.emulators.world.pv import PVArray, PVParams
from hil.emulators.world.thermal import HeaterParams, HeatPump, HeatPumpParams, RoomHeater


class Site:
    """Climate, household base load and PV of one home, all seeded from ``seed``."""

    def __init__(self, seed: int, household: HouseholdParams | None = None, pv: PVParams | None = None,
                 climate: ClimateParams | None = None) -> None:
        """Build the site's models (nothing is computed until asked)."""
        self.seed = seed
        self.clock = LocalClock()
        self.climate_params = climate or ClimateParams()
        self.temperature = Temperature(seed, self.climate_params)
        self.clouds = Clouds(seed, self.climate_params)
        self.household = Household(seed, household or HouseholdParams(), self.clock)
        self.pv = PVArray(pv or PVParams(kwp=0.0), self.clouds, self.temperature)

    def base_w(self, t: int) -> float:
        """Return the household's base load (W) at UTC second ``t``."""
        return self.household.value(t)

    def pv_w(self, t: int) -> float:
        """Return the PV production (W) at UTC second ``t``."""
        return self.pv.value(t)

    def outdoor_c(self, t: int) -> float:
        """Return the outdoor temperature at UTC second ``t``."""
        return self.temperature.value(t)


def _tuples(v: Any) -> Any:
    """Turn JSON/YAML lists into the tuples the frozen parameter classes expect (recursively)."""
    if isinstance(v, list):
        return tuple(_tuples(x) for x in v)
    return v


def _build(cls: type, data: dict[str, Any] | None, what: str) -> Any:
    data = dict(data or {})
    names = {f.name for f in attrs.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError("%s: unknown parameter(s) %s; expected some of %s"
                         % (what, ", ".join(unknown), ", ".join(sorted(names))))
    try:
        return cls(**{k: _tuples(v) for k, v in data.items()})
    except (TypeError, ValueError) as e:
        raise ValueError("%s: %s" % (what, e)) from e


def household_params(data: dict[str, Any] | None) -> HouseholdParams:
    """Build household parameters from a plain dict (a scenario file); events may be given as dicts."""
    data = dict(data or {})
    if "events" in data:
        data["events"] = tuple(_build(EventKind, e, "household event %d" % i)
                               for i, e in enumerate(data["events"]))
    return _build(HouseholdParams, data, "household")


def pv_params(data: dict[str, Any] | None) -> PVParams:
    """Build PV parameters from a plain dict."""
    return _build(PVParams, data, "pv")


def climate_params(data: dict[str, Any] | None) -> ClimateParams:
    """Build climate parameters from a plain dict."""
    return _build(ClimateParams, data, "climate")


APPLIANCE_KINDS = ("heater", "boiler", "heat_pump", "ev", "ebike", "pool_pump")


def make_appliance(kind: str, params: dict[str, Any] | None, site: Site) -> Appliance:
    """Build a switched appliance of ``kind`` (one of APPLIANCE_KINDS) for a site.

    Its own randomness (hot-water draws, charging sessions) is seeded from the site's seed and the kind.
    """
    seed = site.seed ^ salt(kind)
    if kind == "heater":
        return RoomHeater(_build(HeaterParams, params, "heater"), site.temperature, site.clock)
    if kind == "heat_pump":
        return HeatPump(_build(HeatPumpParams, params, "heat_pump"), site.temperature, site.clock)
    if kind == "boiler":
        data = dict(params or {})
        if "draws" in data:
            data["draws"] = tuple(_build(DrawKind, d, "boiler draw %d" % i)
                                  for i, d in enumerate(data["draws"]))
        return Boiler(_build(BoilerParams, data, "boiler"), seed, site.clock)
    if kind == "ev":
        return Charger(_build(ChargerParams, params, "ev"), seed, site.clock, name="EV charger")
    if kind == "ebike":
        base = attrs.asdict(ChargerParams.ebike())
        base.update(params or {})
        return Charger(_build(ChargerParams, base, "ebike"), seed, site.clock, name="e-bike charger")
    if kind == "pool_pump":
        return PoolPump(_build(PoolPumpParams, params, "pool_pump"), site.clock)
    raise ValueError("appliance kind %r: expected one of %s" % (kind, ", ".join(APPLIANCE_KINDS)))
