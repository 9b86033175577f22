"""`hil sim`: run a scenario in virtual time and report what the SmartPlug does to the bill."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import attrs
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from hil.sim.run import FIDELITIES, SIMULATED, ScenarioRun, run_scenario
from hil.sim.scenarios import BUILTIN, VARIANTS, Scenario, load_scenarios

sim_app = typer.Typer(help="Virtual-time simulator: household, PV, an appliance behind a SmartPlug, the "
                           "capacity tariff. `hil sim --scenario peak-shaving --days 31`; `hil sim list`.",
                      add_completion=False)


def _scenarios(scenario_file: Path | None) -> dict[str, Scenario]:
    out = dict(BUILTIN)
    if scenario_file is not None:
        out.update(load_scenarios(scenario_file))
    return out


def _fail(console: Console, text: str) -> None:
    console.print("[red]error:[/red] %s" % escape(text), highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def _num(v: Any, fmt: str) -> str:
    return "-" if v is None else fmt % v


_ROWS = (
    ("max monthly peak, kW", lambda v: _num(v.get("max_peak_kw"), "%.3f")),
    ("mean billed peak, kW", lambda v: _num(v.get("mean_billed_kw"), "%.3f")),
    ("capacity cost, EUR/year", lambda v: _num(v.get("yearly_capacity_cost_eur"), "%.2f")),
    ("appliance served, kWh", lambda v: _num(v.get("appliance", {}).get("served_kwh"), "%.1f")),
    ("served vs no control", lambda v: _num(v.get("appliance", {}).get("served_vs_no_control"), "%.3f")),
    ("deferred, kWh", lambda v: _num(v.get("appliance", {}).get("deferred_kwh"), "%.1f")),
    ("unmet, kWh", lambda v: _num(v.get("appliance", {}).get("unmet_kwh"), "%.1f")),
    ("comfort deficit, K·h", lambda v: _num(v.get("appliance", {}).get("comfort_deficit_kh"), "%.1f")),
    ("relay switches per day", lambda v: _num(v.get("switches_per_day"), "%.2f")),
    ("self-consumption", lambda v: _num(v.get("self_consumption"), "%.3f")),
    ("appliance solar share", lambda v: _num(v.get("appliance_solar_share"), "%.3f")),
    ("import, kWh", lambda v: _num(v.get("import_kwh"), "%.1f")),
    ("export, kWh", lambda v: _num(v.get("export_kwh"), "%.1f")),
)


def _tables(run: ScenarioRun, console: Console) -> None:
    """Print the figures: one column per variant, then the monthly peaks."""
    f = run.figures
    t = Table(title="%s: %d days from %s, seed %d (%s fidelity)" % (
        run.scenario.name, run.days, run.scenario.start, run.seed, run.fidelity))
    t.add_column("")
    for name in f:
        t.add_column(name, justify="right")
    for label, get in _ROWS:
        t.add_row(label, *[get(v) for v in f.values()])
    console.print(t)
    m = Table(title="monthly peaks, kW (billed at least 2.5 kW)")
    m.add_column("month")
    for name in f:
        m.add_column(name, justify="right")
    months = [row["month"] for row in next(iter(f.values()))["months"]]
    for i, month in enumerate(months):
        m.add_row(month, *["%.3f" % f[n]["months"][i]["peak_kw"] if i < len(f[n]["months"]) else "-"
                           for n in f])
    console.print(m)
    for name in f:
        for p in f[name].get("plugs", []):
            console.print("%s, %s: served %.1f kWh (%.3f of no control), deferred %.1f kWh, unmet %.1f kWh, "
                          "%.2f switches/day" % (name, p["name"], p["served_kwh"],
                                                 p["served_vs_no_control"] or 0, p["deferred_kwh"],
                                                 p["unmet_kwh"], p["switches_per_day"]), highlight=False)
    g = run.goal()
    if g is not None:
        console.print("Peak Guard %.2f EUR/yr vs prescient bound %.2f EUR/yr: %+.1f %% (goal: within 5 %%: "
                      "%s); served %.3f of no control, %.2f switches/day"
                      % (g["peakguard_eur"], g["prescient_eur"], 100 * (g["above_bound"] or 0),
                         "met" if g["within_5_percent"] else "NOT met", g["served_vs_no_control"] or 0,
                         g["switches_per_day"]), highlight=False)
        if g.get("bound_reached_under_constraints") is not None:
            console.print("prescient schedule (knows the household's future, keeps min run/off and on/off "
                          "times, the switch budget, comfort, departures): %.2f EUR/yr: the bound is %s"
                          % (g["schedule_eur"], "exact under those constraints"
                             if g["bound_reached_under_constraints"] else "not reached by it"),
                          highlight=False)
    for w in next((v.get("warnings") for v in f.values() if v.get("warnings")), []):
        console.print("[yellow]warning:[/yellow] %s" % escape(w), highlight=False, soft_wrap=True)


FileOpt = Annotated[Path | None, typer.Option("--scenario-file", "-f",
                                              help="YAML/JSON file with more scenarios (docs/simulator.md).")]


@sim_app.callback(invoke_without_command=True)
def sim(
    ctx: typer.Context,
    scenario: Annotated[str | None, typer.Option("--scenario", "-s",
                                                 help="Scenario name (see `hil sim list`).")] = None,
    days: Annotated[int | None, typer.Option("--days", "-d", min=1,
                                             help="Days to simulate (default: the scenario's).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the household, weather and appliance randomness.")] = 1,
    json_out: Annotated[bool, typer.Option("--json", help="Print the figures as JSON on stdout.")] = False,
    plot: Annotated[Path | None, typer.Option(help="Write a plot (PNG/SVG/PDF by suffix).")] = None,
    plot_days: Annotated[float, typer.Option(min=0.1, help="Days shown around the highest no-control "
                                                           "quarter.")] = 2.0,
    scenario_file: FileOpt = None,
    fidelity: Annotated[str, typer.Option(help="minute (60 s world steps), poll (1 s world, a telegram per "
                                               "plug read) or telegram (every 1 s telegram encoded and "
                                               "parsed).")] = "minute",
    poll: Annotated[int, typer.Option(min=1, help="Seconds between the plug's meter readings.")] = 60,
    variants: Annotated[str | None, typer.Option(help="Comma-separated subset of %s."
                                                      % ",".join(VARIANTS))] = None,
    eur: Annotated[float | None, typer.Option("--eur-per-kw-year", min=0,
                                              help="Capacity tariff, EUR/kW/year (default 55).")] = None,
) -> None:
    """Run a scenario (all variants: no control, the plug, naive watts, the prescient bound)."""
    if ctx.invoked_subcommand is not None:
        return
    err = Console(stderr=True)
    out = Console()
    try:
        known = _scenarios(scenario_file)
    except ValueError as e:
        _fail(err, str(e))
    if scenario is None:
        _fail(err, "--scenario: expected one of %s" % ", ".join(known))
    sc = known.get(scenario)
    if sc is None:
        _fail(err, "--scenario: expected one of %s, got %r" % (", ".join(known), scenario))
    if fidelity not in FIDELITIES:
        _fail(err, "--fidelity: expected one of %s, got %r" % (", ".join(FIDELITIES), fidelity))
    chosen = None
    if variants is not None:
        chosen = tuple(v.strip() for v in variants.split(",") if v.strip())
        bad = [v for v in chosen if v not in VARIANTS]
        if bad or not chosen:
            _fail(err, "--variants: expected some of %s, got %r" % (", ".join(VARIANTS), variants))
    if eur is not None:
        sc = attrs.evolve(sc, eur_per_kw_year=eur)
    n_days = days or sc.days
    wanted = chosen or sc.variants
    simulated = [v for v in SIMULATED if v in wanted or (v == "none" and "prescient" in wanted)]
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("days"),
                  TimeElapsedColumn(), console=err, transient=json_out) as progress:
        tasks = {v: progress.add_task("%s %-6s" % (sc.name, v), total=n_days) for v in simulated}
        try:
            run = run_scenario(sc, seed=seed, days=n_days, fidelity=fidelity, poll_s=poll, variants=chosen,
                               on_day=lambda v, d: progress.update(tasks[v], completed=d))
        except ValueError as e:
            _fail(err, str(e))
    if json_out:
        out.print_json(json.dumps(run.as_json()))
    else:
        _tables(run, out)
    if plot is not None:
        from hil.sim.plot import save_plot

        try:
            save_plot(run, plot, plot_days)
        except ValueError as e:
            _fail(err, "--plot %s: %s" % (plot, e))
        err.print("plot written to %s" % plot, highlight=False)


@sim_app.command("list")
def list_scenarios(scenario_file: FileOpt = None) -> None:
    """List the scenarios: name, appliance, plug settings, description."""
    err = Console(stderr=True)
    try:
        known = _scenarios(scenario_file)
    except ValueError as e:
        _fail(err, str(e))
    out = Console()
    for sc in known.values():
        if sc.loads:
            out.print("[bold]%s[/bold]  %d plugs: %s, PV %s kWp, from %s for %d days"
                      % (sc.name, len(sc.loads), "; ".join(
                          "%s (%s, ON %s / OFF %s kWh, Peak Guard priority %d)"
                          % (ld.name, ld.kind, ld.plug.on_kwh, ld.plug.off_kwh, ld.guard.priority)
                          for ld in sc.loads), sc.pv.get("kwp", 0), sc.start, sc.days), highlight=False)
        else:
            out.print("[bold]%s[/bold]  %s, ON %s kWh, OFF %s kWh, %d min, PV %s kWp, from %s for %d days"
                      % (sc.name, sc.appliance, sc.plug.on_kwh, sc.plug.off_kwh, sc.plug.interval_min,
                         sc.pv.get("kwp", 0), sc.start, sc.days), highlight=False)
        out.print("    %s" % sc.description, highlight=False)
