"""Scenarios: a household, its PV, one appliance behind a SmartPlug and the plug's settings.

The built-in scenarios follow the manual (section 6) and SPEC.md; a scenario file (YAML or JSON) can
define more, or change any built-in one (``base: NAME`` then only the keys that differ). A file holds
either one scenario (a mapping with ``name``) or ``scenarios: [...]``.

    name: my-boiler
    base: peak-shaving          # optional: start from a built-in scenario
    description: boiler shaved at 2.5 kW
    start: 2025-01-01           # local date the run starts (00:00 local)
    days: 31
    appliance: {kind: boiler, params: {rated_w: 2400}}
    plug: {on_kwh: "0.625", off_kwh: "0.625", interval_min: 15}
    household: {annual_kwh: 4200}
    pv: {kwp: 0}
    climate: {}
    eur_per_kw_year: 55
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import yaml

from firmware.timebase import local_to_utc
from hil.emulators.world.site import APPLIANCE_KINDS, climate_params, household_params, pv_params
from hil.sim.capacity import DEFAULT_EUR_PER_KW_YEAR
from hil.sim.deciders import PlugSettings
from hil.sim.guard import GuardConfig, guard_config

VARIANTS = ("none", "plug", "naive", "peakguard", "prescient")


@attrs.frozen
class Load:
    """One appliance behind its own plug (multi-appliance scenarios): its manual settings and Peak Guard's."""

    name: str
    kind: str = attrs.field(validator=lambda i, a, v: _kind(i, a, v))
    params: dict[str, Any] = attrs.field(factory=dict)
    plug: PlugSettings = PlugSettings()
    guard: GuardConfig = GuardConfig()


def load_from_dict(data: Any) -> Load:
    """Build a Load from a mapping {name, kind, params, plug, guard} (a scenario file's ``loads`` entry)."""
    if not isinstance(data, dict) or "kind" not in data:
        raise ValueError("loads: expected {name, kind, params, plug, guard}, got %r" % (data,))
    unknown = sorted(set(data) - {"name", "kind", "params", "plug", "guard"})
    if unknown:
        raise ValueError("loads: unknown key(s) %s" % ", ".join(unknown))
    plug = data.get("plug") or {}
    return Load(name=str(data.get("name", data["kind"])), kind=data["kind"],
                params=dict(data.get("params") or {}),
                plug=PlugSettings(**{k: (str(v) if k.endswith("_kwh") else v) for k, v in plug.items()}),
                guard=guard_config(data.get("guard")))


def _date(v: Any) -> str:
    text = str(v)
    parts = text.split("-")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise ValueError("start: expected a date YYYY-MM-DD, got %r" % (v,))
    return "%04d-%02d-%02d" % tuple(int(p) for p in parts)


def _kind(_inst: object, _attr: object, v: str) -> None:
    if v not in APPLIANCE_KINDS:
        raise ValueError("appliance kind: expected one of %s, got %r" % (", ".join(APPLIANCE_KINDS), v))


def _variants(v: Any) -> tuple[str, ...]:
    out = tuple(str(x) for x in v)
    bad = [x for x in out if x not in VARIANTS]
    if bad or not out:
        raise ValueError("variants: expected some of %s, got %r" % (", ".join(VARIANTS), list(v)))
    return out


@attrs.frozen
class Scenario:
    """One scenario: everything a run needs except the seed and its length."""

    name: str
    description: str = ""
    appliance: str = attrs.field(default="heater", validator=_kind)
    appliance_params: dict[str, Any] = attrs.field(factory=dict)
    plug: PlugSettings = PlugSettings()
    household: dict[str, Any] = attrs.field(factory=dict)
    pv: dict[str, Any] = attrs.field(factory=dict)
    climate: dict[str, Any] = attrs.field(factory=dict)
    start: str = attrs.field(default="2025-01-01", converter=_date)
    days: int = attrs.field(default=31, validator=attrs.validators.gt(0))
    eur_per_kw_year: float = attrs.field(default=DEFAULT_EUR_PER_KW_YEAR, validator=attrs.validators.ge(0))
    variants: tuple[str, ...] = attrs.field(default=VARIANTS, converter=_variants)
    guard: GuardConfig = GuardConfig()
    loads: tuple[Load, ...] = ()

    def __attrs_post_init__(self) -> None:
        """Check every part now, so a bad file fails when it is loaded, with the part named."""
        self.plug.firmware()
        self.guard.firmware()
        for ld in self.loads:
            ld.plug.firmware()
        household_params(self.household)
        pv_params(self.pv)
        climate_params(self.climate)

    def start_utc(self) -> int:
        """Return the UTC second of local midnight on the start date."""
        y, m, d = (int(p) for p in self.start.split("-"))
        return local_to_utc(y, m, d, 0, 0, 0)


def _s(name: str, description: str, appliance: str, plug: PlugSettings, **kw: Any) -> Scenario:
    return Scenario(name=name, description=description, appliance=appliance, plug=plug, **kw)


HEATER_2KW = {"rated_w": 2000}
# Peak Guard on a heat pump: the plug measures only the PowerDetector's coil, so its power is given; the
# compressor's own minimum run (20 min) and off (10 min) times
HP_GUARD = GuardConfig(priority=1, min_on_s=1200, min_off_s=600, load_w=2200)
POOL_2KW = {"rated_w": 2000, "hours_per_day": 5, "window_from_h": 9, "window_to_h": 19}

BUILTIN: dict[str, Scenario] = {s.name: s for s in (
    _s("peak-shaving", "Manual 6a: 2 kW electric radiator, simplified configuration Threshold ON = OFF = "
       "0.625 kWh (2.5 kW x 1/4 h), 15 min, in January", "heater",
       PlugSettings("0.625", "0.625", 15), appliance_params=HEATER_2KW),
    _s("peak-shaving-2t", "Manual 6a with two thresholds: OFF 0.625 kWh, ON 0.125 kWh (margin 0.5 kWh = "
       "the radiator's 2 kW x 1/4 h, SPEC rule 4), 15 min, January", "heater",
       PlugSettings("0.125", "0.625", 15), appliance_params=HEATER_2KW),
    _s("self-consumption", "Manual 6b: 2 kW pool heat pump on 6 kWp PV, Threshold ON -0.200 kWh "
       "(2 kW x 1/10 h), OFF 0.000 kWh, 6 min, in June", "pool_pump",
       PlugSettings("-0.200", "0.000", 6), appliance_params=POOL_2KW, pv={"kwp": 6.0}, start="2025-06-01",
       days=30),
    _s("self-consumption-80", "Manual 6b at 80 %: ON -0.160 kWh (-2 kW x 0.8 x 1/10 h), OFF +0.040 kWh "
       "(the other 20 % may come from the grid), 6 min, June", "pool_pump",
       PlugSettings("-0.160", "0.040", 6), appliance_params=POOL_2KW, pv={"kwp": 6.0}, start="2025-06-01",
       days=30),
    _s("self-consumption-eq", "Manual 6b, simplified configuration: ON = OFF = 0.000 kWh, the plug's own "
       "measured energy (C) stands in for the 2 kW, 6 min, June", "pool_pump",
       PlugSettings("0.000", "0.000", 6), appliance_params=POOL_2KW, pv={"kwp": 6.0}, start="2025-06-01",
       days=30),
    _s("heat-pump", "Manual 7: 2.2 kW heat pump released through a PowerDetector, two thresholds "
       "ON 0.075 / OFF 0.625 kWh (margin 0.55 kWh = 2.2 kW x 1/4 h), 15 min, January", "heat_pump",
       PlugSettings("0.075", "0.625", 15), guard=HP_GUARD),
    _s("heat-pump-eq", "Why the manual warns: the same heat pump with equal thresholds 0.625 kWh; the plug "
       "only measures the detector's coil, so C is about 0 and does not stand in for the heat pump",
       "heat_pump", PlugSettings("0.625", "0.625", 15), guard=HP_GUARD),
    _s("boiler-lockout", "A pitfall of the simplified configuration: a 2.4 kW water heater with ON = OFF = "
       "0.625 kWh, 15 min. C = 0.6 kWh (its last full ON quarter) leaves 0.025 kWh (100 W) for the house, "
       "so once switched off it never comes back on", "boiler", PlugSettings("0.625", "0.625", 15)),
    _s("boiler-solar", "2.4 kW water heater on 6 kWp PV: ON -0.240 kWh (2.4 kW x 1/10 h), OFF 0.000 kWh, "
       "6 min, in May", "boiler", PlugSettings("-0.240", "0.000", 6), pv={"kwp": 6.0}, start="2025-05-01"),
    _s("ev-peak-shaving", "EV on a 2.3 kW cable, plugged in the evening: ON = OFF = 0.625 kWh, 15 min, "
       "moves charging out of the cooking peak", "ev", PlugSettings("0.625", "0.625", 15)),
    _s("multi-appliance", "Three plugs on one meter in January: an EV charger (2.3 kW, priority 9), a water "
       "heater (2.4 kW, priority 5) and a heat pump behind a PowerDetector (2.2 kW, priority 1, 20/10 min "
       "minimum run/off); manual thresholds per plug, or Peak Guard coordinated through the SmartMeter",
       "heater", PlugSettings("0.625", "0.625", 15),
       loads=(Load("EV charger", "ev", {}, PlugSettings("0.625", "0.625", 15),
                   GuardConfig(priority=9, min_on_s=300, min_off_s=300)),
              Load("water heater", "boiler", {}, PlugSettings("0.025", "0.625", 15),
                   GuardConfig(priority=5, min_on_s=300, min_off_s=300)),
              Load("heat pump", "heat_pump", {}, PlugSettings("0.075", "0.625", 15), HP_GUARD))),
)}


def _merge(base: Scenario, data: dict[str, Any]) -> Scenario:
    d = attrs.asdict(base, recurse=False)
    d["plug"] = attrs.asdict(base.plug)
    app = data.get("appliance")
    for key, value in data.items():
        if key in ("base", "appliance"):
            continue
        if key == "plug":
            d["plug"] = {**d["plug"], **(value or {})}
        elif key == "guard":
            d["guard"] = guard_config({**attrs.asdict(base.guard), **(value or {})})
        elif key == "loads":
            if not isinstance(value, list):
                raise ValueError("loads: expected a list of {name, kind, params, plug, guard}, got %r"
                                 % (value,))
            d["loads"] = tuple(load_from_dict(x) for x in value)
        elif key in ("household", "pv", "climate"):
            d[key] = {**d[key], **(value or {})}
        else:
            d[key] = value
    if app is not None:
        if isinstance(app, str):
            app = {"kind": app}
        if not isinstance(app, dict) or "kind" not in app:
            raise ValueError("appliance: expected {kind: ..., params: {...}} or a kind name, got %r" % (app,))
        if app["kind"] != base.appliance:
            d["appliance_params"] = {}
        d["appliance"] = app["kind"]
        d["appliance_params"] = {**d["appliance_params"], **(app.get("params") or {})}
    plug = d["plug"]
    if not isinstance(plug, dict):
        raise ValueError("plug: expected a mapping of on_kwh, off_kwh, interval_min, ..., got %r" % (plug,))
    unknown = sorted(set(plug) - {f.name for f in attrs.fields(PlugSettings)})
    if unknown:
        raise ValueError("plug: unknown setting(s) %s" % ", ".join(unknown))
    d["plug"] = PlugSettings(**{k: (str(v) if k.endswith("_kwh") else v) for k, v in plug.items()})
    return Scenario(**d)


def scenario_from_dict(data: dict[str, Any]) -> Scenario:
    """Build a scenario from a mapping (one entry of a scenario file)."""
    if not isinstance(data, dict):
        raise ValueError("scenario: expected a mapping, got %r" % (data,))
    known = {f.name for f in attrs.fields(Scenario)} | {"base"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError("scenario %r: unknown key(s) %s; expected some of %s"
                         % (data.get("name"), ", ".join(unknown), ", ".join(sorted(known))))
    if "name" not in data:
        raise ValueError("scenario: every scenario needs a name")
    base_name = data.get("base")
    if base_name is not None:
        if base_name not in BUILTIN:
            raise ValueError("scenario %r: base %r is not a built-in scenario (%s)"
                             % (data["name"], base_name, ", ".join(BUILTIN)))
        base = BUILTIN[base_name]
    else:
        base = Scenario(name=str(data["name"]))
    try:
        return _merge(base, data)
    except (TypeError, ValueError) as e:
        raise ValueError("scenario %r: %s" % (data["name"], e)) from e


def load_scenarios(path: str | Path) -> dict[str, Scenario]:
    """Read a YAML or JSON scenario file; return its scenarios by name."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as e:
        raise ValueError("scenario file %s: %s" % (p, e.strerror)) from e
    try:
        data = json.loads(text) if p.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as e:
        raise ValueError("scenario file %s: not valid %s: %s"
                         % (p, "JSON" if p.suffix.lower() == ".json" else "YAML", e)) from e
    if isinstance(data, dict) and "scenarios" in data:
        items = data["scenarios"]
    elif isinstance(data, dict):
        items = [data]
    elif isinstance(data, list):
        items = data
    else:
        raise ValueError("scenario file %s: expected a scenario mapping or a list of them, got %s"
                         % (p, type(data).__name__))
    out: dict[str, Scenario] = {}
    for i, item in enumerate(items):
        try:
            sc = scenario_from_dict(item)
        except ValueError as e:
            raise ValueError("scenario file %s, entry %d: %s" % (p, i + 1, e)) from e
        out[sc.name] = sc
    return out
