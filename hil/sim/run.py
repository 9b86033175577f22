"""Run a scenario: every variant (none, plug, naive, prescient) on the same seeded world."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import attrs

from firmware.control.peakguard import Table
from hil.emulators.world.appliance import Appliance
from hil.emulators.world.site import Site, climate_params, household_params, make_appliance, pv_params
from hil.sim.deciders import Decider, FirmwareDecider, NaiveThreshold, NoControl, PlugSettings
from hil.sim.engine import RunResult, simulate
from hil.sim.fidelity import DEFAULT_PROFILE, simulate_telegrams
from hil.sim.guard import GuardConfig, PeakGuardDecider
from hil.sim.multi import PlugRun, simulate_multi
from hil.sim.prescient import prescient_peaks, prescient_peaks_multi
from hil.sim.report import capacity_figures, plug_figures, run_figures
from hil.sim.scenarios import Scenario
from hil.sim.schedule import Plan, ScheduledPlug

FIDELITIES = ("minute", "poll", "telegram")


@attrs.define
class ScenarioRun:
    """The runs and figures of one scenario."""

    scenario: Scenario
    seed: int
    days: int
    fidelity: str
    runs: dict[str, RunResult]
    figures: dict[str, dict[str, Any]]
    seconds: dict[str, float]
    plugs: dict[str, list[PlugRun]] = attrs.field(factory=dict)

    def goal(self) -> dict[str, Any] | None:
        """Return Peak Guard's yearly capacity cost against the prescient bound's (goal: within 5 %)."""
        f = self.figures
        if "peakguard" not in f or "prescient" not in f:
            return None
        pg = f["peakguard"]["yearly_capacity_cost_eur"]
        bound = f["prescient"]["yearly_capacity_cost_eur"]
        ratio = pg / bound if bound else None
        return {"peakguard_eur": pg, "prescient_eur": bound, "none_eur": f.get("none", {}).get(
            "yearly_capacity_cost_eur"), "above_bound": None if ratio is None else round(ratio - 1.0, 4),
            "within_5_percent": ratio is not None and ratio <= 1.05,
            "served_vs_no_control": f["peakguard"]["appliance"]["served_vs_no_control"],
            "deferred_kwh": f["peakguard"]["appliance"]["deferred_kwh"],
            "unmet_kwh": f["peakguard"]["appliance"]["unmet_kwh"],
            "switches_per_day": f["peakguard"]["switches_per_day"],
            "comfort_deficit_kh": f["peakguard"]["appliance"].get("comfort_deficit_kh"),
            "schedule_eur": f.get("schedule", {}).get("yearly_capacity_cost_eur"),
            "bound_reached_under_constraints": _reached(f)}

    def as_json(self) -> dict[str, Any]:
        """Return everything a user needs, JSON-able."""
        sc = self.scenario
        return {
            "scenario": sc.name, "description": sc.description, "seed": self.seed, "start": sc.start,
            "days": self.days, "fidelity": self.fidelity, "appliance": sc.appliance,
            "plug": attrs.asdict(sc.plug), "pv_kwp": sc.pv.get("kwp", 0.0),
            "eur_per_kw_year": sc.eur_per_kw_year, "guard": attrs.asdict(sc.guard),
            "loads": [{"name": ld.name, "kind": ld.kind, "plug": attrs.asdict(ld.plug),
                       "guard": attrs.asdict(ld.guard)} for ld in sc.loads],
            "variants": self.figures, "goal": self.goal(),
            "runtime_s": {k: round(v, 3) for k, v in self.seconds.items()},
        }


def _reached(f: dict[str, dict[str, Any]]) -> bool | None:
    """Return whether the prescient schedule reaches the prescient bound (None: not run).

    The schedule keeps every physical constraint with nothing unmet and no comfort deficit; reaching the
    bound makes the bound exact under those constraints (hil.sim.schedule).

    "Nothing unmet, no comfort deficit" is measured against the runs it is compared with: no more unmet
    energy than no control, and no more comfort deficit than no control or Peak Guard (an undersized radiator
    leaves the room cold at times with no control at all).
    """
    sch = f.get("schedule")
    if sch is None:
        return None
    a = sch["appliance"]
    others = [f[v]["appliance"] for v in ("none", "peakguard") if v in f]
    unmet = min((o.get("unmet_kwh") or 0.0 for o in others), default=0.0)
    comfort = max((o.get("comfort_deficit_kh") or 0.0 for o in others), default=0.0)
    return (sch["yearly_capacity_cost_eur"] <= f["prescient"]["yearly_capacity_cost_eur"] + 0.005
            and a["unmet_kwh"] <= unmet + 0.0005 and (a.get("comfort_deficit_kh") or 0.0) <= comfort + 0.005)


def build(sc: Scenario, seed: int) -> tuple[Site, Appliance]:
    """Return a fresh site and appliance for a scenario (every variant gets its own, identical world)."""
    site = Site(seed, household_params(sc.household), pv_params(sc.pv), climate_params(sc.climate))
    return site, make_appliance(sc.appliance, sc.appliance_params, site)


def decider_for(variant: str, sc: Scenario, poll_s: int = 20, plug: PlugSettings | None = None,
                guard: GuardConfig | None = None, table: Table | None = None,
                plug_id: str = "plug", slot: int = 0) -> Decider:
    """Return the relay policy of a variant (the controller's timeout: 30 s, or the poll period if longer).

    ``plug``/``guard`` default to the scenario's; Peak Guard plugs share ``table`` (the SmartMeter's) and
    ask it ``slot`` seconds after each reading.
    """
    if variant == "none":
        return NoControl()
    if variant == "plug":
        return FirmwareDecider(plug or sc.plug, timeout_s=max(30, poll_s))
    if variant == "naive":
        return NaiveThreshold(plug or sc.plug)
    if variant == "peakguard":
        return PeakGuardDecider(guard or sc.guard, plug_id=plug_id,
                                table=table if table is not None else Table(), period_s=poll_s,
                                timeout_s=max(30, poll_s), slot=slot)
    raise ValueError("variant %r is not simulated (expected none, plug, naive or peakguard)" % variant)


SIMULATED = ("none", "plug", "naive", "peakguard")


def _run_multi(sc: Scenario, seed: int, n_days: int, poll_s: int, wanted: tuple[str, ...],
               on_day: Callable[[str, int], None] | None) -> ScenarioRun:
    """Run a multi-appliance scenario: every plug of a variant reads the same meter (minute fidelity)."""
    simulated = [v for v in SIMULATED if v in wanted or (v == "none" and "prescient" in wanted)]
    t0 = sc.start_utc()
    t1 = t0 + n_days * 86400
    runs: dict[str, RunResult] = {}
    plugs: dict[str, list[PlugRun]] = {}
    seconds: dict[str, float] = {}
    apps_none = None
    for v in simulated:
        site, _ = build(sc, seed)
        apps = [make_appliance(ld.kind, ld.params, site) for ld in sc.loads]
        for a, ld in zip(apps, sc.loads, strict=True):
            a.name = ld.name
        table = Table(timeout_s=max(30, 2 * poll_s))
        deciders = [decider_for(v, sc, poll_s, ld.plug, ld.guard, table, plug_id="plug-%d" % i, slot=i)
                    for i, ld in enumerate(sc.loads)]
        cb = (lambda d, v=v: on_day(v, d)) if on_day is not None else None
        start = time.perf_counter()
        runs[v], plugs[v] = simulate_multi(site, apps, deciders, t0, t1, poll_s=poll_s, on_day=cb, name=v)
        seconds[v] = time.perf_counter() - start
        if v == "none":
            apps_none = apps
    figures: dict[str, dict[str, Any]] = {}
    served_none = runs["none"].appliance["served_wh"] if "none" in runs else None
    for v in SIMULATED:
        if v in runs and v in wanted:
            figures[v] = run_figures(runs[v], sc.eur_per_kw_year, served_none)
            none_plugs = plugs.get("none")
            figures[v]["plugs"] = [
                plug_figures(p, runs[v].days, none_plugs[i].appliance["served_wh"] if none_plugs else None)
                for i, p in enumerate(plugs[v])]
    if "prescient" in wanted:
        none = runs["none"]
        assert none.trace is not None and apps_none is not None
        start = time.perf_counter()
        loads = [(p.app_w, a.flex_windows(none.t0, none.t1), a.rated_w)
                 for p, a in zip(plugs["none"], apps_none, strict=True)]
        peaks = prescient_peaks_multi(none.t0, none.step_s, none.trace.base_net_w, loads)
        fig = capacity_figures(peaks, sc.eur_per_kw_year)
        fig["appliance"] = {"served_kwh": round(none.appliance["served_wh"] / 1000.0, 3),
                            "served_vs_no_control": 1.0, "deferred_kwh": 0.0, "unmet_kwh": 0.0}
        figures["prescient"] = fig
        seconds["prescient"] = time.perf_counter() - start
        start = time.perf_counter()
        site, _ = build(sc, seed)
        apps = [make_appliance(ld.kind, ld.params, site) for ld in sc.loads]
        plan = Plan(site, peaks)
        sched = [ScheduledPlug(plan, a, ld.guard) for a, ld in zip(apps, sc.loads, strict=True)]
        runs["schedule"], plugs["schedule"] = simulate_multi(site, apps, sched, t0, t1, poll_s=60,
                                                             name="schedule")
        figures["schedule"] = run_figures(runs["schedule"], sc.eur_per_kw_year, served_none)
        figures["schedule"]["plugs"] = [plug_figures(p, runs["schedule"].days, plugs["none"][i].appliance[
            "served_wh"]) for i, p in enumerate(plugs["schedule"])]
        seconds["schedule"] = time.perf_counter() - start
    return ScenarioRun(sc, seed, n_days, "minute", runs, figures, seconds, plugs)


def run_scenario(sc: Scenario, seed: int = 1, days: int | None = None, fidelity: str = "minute",
                 poll_s: int = 60, variants: tuple[str, ...] | None = None, profile: str = DEFAULT_PROFILE,
                 on_day: Callable[[str, int], None] | None = None) -> ScenarioRun:
    """Simulate the scenario's variants and return their runs and figures.

    ``fidelity``: "minute" (world in 60 s steps, the plug reads the registers every ``poll_s``: 60 s with
    the controller's timeout at 60 s, or 20 s with the device's 30 s; same decisions), "poll"
    (world and meter every second, a telegram encoded and parsed whenever the plug reads, every
    ``poll_s``) or "telegram" (every 1 s telegram encoded, CRC'd and parsed; the plug reads each one).
    ``on_day(variant, days_done)`` reports progress.
    """
    if fidelity not in FIDELITIES:
        raise ValueError("fidelity: expected one of %s, got %r" % (", ".join(FIDELITIES), fidelity))
    n_days = sc.days if days is None else days
    if n_days <= 0:
        raise ValueError("days: expected at least 1, got %r" % n_days)
    wanted = tuple(variants or sc.variants)
    if sc.loads:
        if fidelity != "minute":
            raise ValueError("fidelity: a multi-appliance scenario runs at minute fidelity, got %r"
                             % fidelity)
        return _run_multi(sc, seed, n_days, poll_s, wanted, on_day)
    simulated = [v for v in SIMULATED if v in wanted or (v == "none" and "prescient" in wanted)]
    t0 = sc.start_utc()
    t1 = t0 + n_days * 86400
    runs: dict[str, RunResult] = {}
    seconds: dict[str, float] = {}
    none_app: Appliance | None = None
    for v in simulated:
        site, app = build(sc, seed)
        decider = decider_for(v, sc, poll_s if fidelity != "telegram" else 1)
        cb = (lambda d, v=v: on_day(v, d)) if on_day is not None else None
        start = time.perf_counter()
        if fidelity == "minute":
            runs[v] = simulate(site, app, decider, t0, t1, poll_s=poll_s, on_day=cb)
        elif fidelity == "poll":
            runs[v] = simulate_telegrams(site, app, decider, t0, t1, profile=profile, read_every_s=poll_s,
                                         encode_every_s=poll_s, on_day=cb)
        else:
            runs[v] = simulate_telegrams(site, app, decider, t0, t1, profile=profile, on_day=cb)
        seconds[v] = time.perf_counter() - start
        if v == "none":
            none_app = app
    figures: dict[str, dict[str, Any]] = {}
    served_none = runs["none"].appliance["served_wh"] if "none" in runs else None
    for v in SIMULATED:
        if v in runs and v in wanted:
            figures[v] = run_figures(runs[v], sc.eur_per_kw_year, served_none)
    if "prescient" in wanted:
        none = runs["none"]
        assert none.trace is not None and none_app is not None
        start = time.perf_counter()
        peaks = prescient_peaks(none.t0, none.step_s, none.trace.base_net_w, none.trace.app_w,
                                none_app.flex_windows(none.t0, none.t1), none_app.rated_w)
        fig = capacity_figures(peaks, sc.eur_per_kw_year)
        fig["appliance"] = {"served_kwh": round(none.appliance["served_wh"] / 1000.0, 3),
                            "served_vs_no_control": 1.0, "deferred_kwh": 0.0, "unmet_kwh": 0.0}
        figures["prescient"] = fig
        seconds["prescient"] = time.perf_counter() - start
        if fidelity == "minute":
            start = time.perf_counter()
            site, app = build(sc, seed)
            runs["schedule"] = simulate(site, app, ScheduledPlug(Plan(site, peaks), app, sc.guard), t0, t1,
                                        poll_s=60)
            figures["schedule"] = run_figures(runs["schedule"], sc.eur_per_kw_year, served_none)
            seconds["schedule"] = time.perf_counter() - start
    return ScenarioRun(sc, seed, n_days, fidelity, runs, figures, seconds)
