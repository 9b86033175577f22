"""Plot a scenario run so the picture tells the story.

Two layouts, chosen by the scenario:

- **peak shaving** (no PV): the quarter-hour demand of every variant around the highest no-control quarter,
  with the cap Peak Guard worked to, the plug's own monthly peak, the no-control peak and the prescient
  bound as lines; the relays below; the monthly peaks and the yearly capacity cost of every variant last.
- **self-consumption** (PV): on the sunniest day, PV, the household and the appliance's power under each
  variant; the relays; the grid power; the monthly peaks.

The legend says what each variant is (``LEGEND``).
"""

from __future__ import annotations

import datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from hil.sim.capacity import FLOOR_W  # noqa: E402
from hil.sim.engine import RunResult  # noqa: E402
from hil.sim.run import ScenarioRun  # noqa: E402

_COLORS = {"none": "tab:gray", "plug": "tab:blue", "naive": "tab:orange", "peakguard": "tab:red",
           "prescient": "tab:green"}
_LW = {"none": 0.8, "plug": 0.9, "naive": 0.7, "peakguard": 1.5}
_LS = {"none": "-", "plug": "-", "naive": ":", "peakguard": "--"}
LEGEND = {
    "none": "none: no control, relay always on",
    "plug": "plug: the manual's thresholds, decided once per interval",
    "naive": "naive: the same thresholds on instantaneous watts",
    "peakguard": "peak guard: projects the running quarter, sheds in time",
    "prescient": "prescient: lowest peak knowing the future (a bound)",
}


def _dt(ts: list[int]) -> list[datetime.datetime]:
    """Return UTC datetimes for matplotlib's date axis."""
    return [datetime.datetime.fromtimestamp(t, datetime.timezone.utc) for t in ts]


def plot_window(run: ScenarioRun, window_days: float = 2.0) -> tuple[int, int]:
    """Return the (UTC start, end) to draw: ``window_days`` around the no-control run's highest quarter."""
    ref = run.runs.get("none") or next(iter(run.runs.values()))
    span = int(window_days * 86400)
    if ref.t1 - ref.t0 <= span:
        return ref.t0, ref.t1
    top = max(ref.quarters, key=lambda q: q.import_wh).start if ref.quarters else ref.t0
    a = max(ref.t0, top - span // 2)
    a -= a % 3600
    b = min(ref.t1, a + span)
    return b - span, b


def sunny_day(run: ScenarioRun) -> tuple[int, int]:
    """Return the (UTC start, end) of the day with the most PV energy in the no-control run."""
    ref = run.runs.get("none") or next(iter(run.runs.values()))
    tr = ref.trace
    if tr is None or not len(tr.pv_w):
        return plot_window(run, 1.0)
    per_day = max(1, 86400 // tr.step_s)
    best, best_e = 0, -1.0
    for d in range(0, len(tr.pv_w), per_day):
        e = sum(tr.pv_w[d:d + per_day])
        if e > best_e:
            best, best_e = d, e
    a = tr.t0 + best * tr.step_s
    return a, min(ref.t1, a + 86400)


def _idx(r: RunResult, a: int, b: int) -> range:
    tr = r.trace
    assert tr is not None
    i0 = max(0, (a - tr.t0) // tr.step_s)
    i1 = min(len(tr.net_w), (b - tr.t0) // tr.step_s)
    return range(i0, i1, max(1, (i1 - i0) // 4000))


def _times(r: RunResult, idx: range) -> list[datetime.datetime]:
    tr = r.trace
    assert tr is not None
    return _dt([tr.t0 + i * tr.step_s for i in idx])


def _relays(ax: Axes, run: ScenarioRun, a: int, b: int) -> None:
    """Relay states, one lane per controlled variant (and per plug in a multi-plug run)."""
    lanes: list[tuple[str, str, list[datetime.datetime], list[float]]] = []
    for name, r in run.runs.items():
        if name == "none" or r.trace is None:
            continue
        idx = _idx(r, a, b)
        x = _times(r, idx)
        plugs = run.plugs.get(name)
        if plugs:
            for p in plugs:
                lanes.append((name, "%s: %s" % (name, p.name), x, [p.relay[i] for i in idx]))
        else:
            lanes.append((name, name, x, [r.trace.relay[i] for i in idx]))
    for k, (name, _label, x, y) in enumerate(lanes):
        ax.fill_between(x, [k + 0.1] * len(y), [k + 0.1 + 0.8 * v for v in y], step="post",
                        color=_COLORS.get(name), alpha=0.7, lw=0)
    ax.set_yticks([k + 0.5 for k in range(len(lanes))], [lane[1] for lane in lanes], fontsize=7)
    ax.set_ylim(0, max(1, len(lanes)))
    ax.set_ylabel("relay on")


def _month_bars(ax: Axes, run: ScenarioRun) -> None:
    names = list(run.figures)
    months = [m["month"] for m in run.figures[names[0]]["months"]]
    width = 0.8 / max(1, len(names))
    for k, name in enumerate(names):
        f = run.figures[name]
        peaks = {m["month"]: m["peak_kw"] for m in f["months"]}
        xs = [i + (k - (len(names) - 1) / 2) * width for i in range(len(months))]
        extra = ""
        if "switches_per_day" in f:
            extra = ", served %.3f, %.1f switches/day" % (f["appliance"]["served_vs_no_control"] or 0,
                                                          f["switches_per_day"])
        ax.bar(xs, [peaks.get(m, 0.0) for m in months], width, color=_COLORS.get(name),
               label="%s: %.0f EUR/yr%s" % (name, f["yearly_capacity_cost_eur"], extra))
    ax.axhline(FLOOR_W / 1000.0, color="black", ls=":", lw=0.8)
    ax.set_xticks(range(len(months)), months, rotation=45 if len(months) > 6 else 0)
    ax.set_ylabel("monthly peak (kW)")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(0.0, -0.12 if len(months) > 6 else -0.06),
              ncol=2, frameon=False)
    ax.grid(axis="y", alpha=0.3)


def _dates(axes: list[Axes]) -> None:
    for ax in axes:
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d %H:%M", tz=mdates.UTC))
        ax.grid(alpha=0.3)


def _peak_of(run: ScenarioRun, name: str) -> float | None:
    f = run.figures.get(name)
    return None if f is None else f["max_peak_kw"]


def peak_figure(run: ScenarioRun, window_days: float = 2.0) -> Figure:
    """Quarter-hour demand against the cap and the peaks; relays; monthly peaks."""
    sc = run.scenario
    a, b = plot_window(run, window_days)
    fig, (ax_q, ax_r, ax_m) = plt.subplots(3, 1, figsize=(12, 13),
                                           gridspec_kw={"height_ratios": [4, 2.2, 3]})
    fig.suptitle("%s (seed %d, %d days from %s)\n%s" % (sc.name, run.seed, run.days, sc.start,
                                                        sc.description), fontsize=9, wrap=True)
    for name, r in run.runs.items():
        qs = [q for q in r.quarters if a <= q.start < b]
        if qs:
            ax_q.plot(_dt([q.start for q in qs] + [qs[-1].start + 900]),
                      [q.power_w / 1000.0 for q in qs] + [qs[-1].power_w / 1000.0],
                      drawstyle="steps-post", lw=_LW.get(name, 0.9), color=_COLORS.get(name),
                      alpha=1.0 if name in ("peakguard", "none") else 0.75, label=LEGEND.get(name, name))
    lines = [("none", "--", "no-control highest monthly peak %.2f kW"),
             ("plug", "-.", "plug's own highest monthly peak %.2f kW"),
             ("peakguard", "-", "Peak Guard's highest monthly peak %.2f kW (its auto cap then)"),
             ("prescient", ":", "prescient bound %.2f kW")]
    for name, ls, text in lines:
        v = _peak_of(run, name)
        if v is not None:
            ax_q.axhline(v, color=_COLORS[name], ls=ls, lw=1.0, alpha=0.8, label=text % v)
    cap = sc.guard.cap_w if not sc.loads else 0
    if cap:
        ax_q.axhline(cap / 1000.0, color="black", ls="-", lw=1.2,
                     label="Peak Guard cap %.2f kW" % (cap / 1000.0))
    ax_q.axhline(FLOOR_W / 1000.0, color="black", ls=":", lw=0.8, label="2.5 kW billed at least")
    ax_q.set_ylabel("quarter-hour import (kW)\n= imported kWh in the quarter x 4")
    ax_q.legend(loc="upper left", bbox_to_anchor=(0.0, -0.08), fontsize=7, ncol=2, frameon=False)
    _relays(ax_r, run, a, b)
    _dates([ax_q, ax_r])
    ax_r.set_xlabel("UTC")
    _month_bars(ax_m, run)
    fig.tight_layout()
    return fig


def solar_figure(run: ScenarioRun) -> Figure:
    """On the sunniest day: PV, household, the appliance under each variant; relays; grid; monthly peaks."""
    sc = run.scenario
    a, b = sunny_day(run)
    fig, (ax_p, ax_r, ax_g, ax_m) = plt.subplots(4, 1, figsize=(12, 12),
                                                 gridspec_kw={"height_ratios": [4, 2, 3, 3]})
    fig.suptitle("%s (seed %d, %d days from %s): the sunniest day\n%s"
                 % (sc.name, run.seed, run.days, sc.start, sc.description), fontsize=9, wrap=True)
    ref = run.runs.get("none") or next(iter(run.runs.values()))
    tr = ref.trace
    assert tr is not None
    idx = _idx(ref, a, b)
    x = _times(ref, idx)
    pv = [tr.pv_w[i] / 1000.0 for i in idx]
    house = [(tr.base_net_w[i] + tr.pv_w[i]) / 1000.0 for i in idx]
    ax_p.fill_between(x, 0, pv, step="post", color="gold", alpha=0.5, label="PV production")
    ax_p.plot(x, house, drawstyle="steps-post", color="black", lw=0.7,
              label="household (without the appliance)")
    for name, r in run.runs.items():
        if r.trace is None:
            continue
        ri = _idx(r, a, b)
        ax_p.plot(_times(r, ri), [r.trace.app_w[i] / 1000.0 for i in ri], drawstyle="steps-post",
                  lw=_LW.get(name, 1.0) + 0.3, ls=_LS.get(name, "-"), color=_COLORS.get(name),
                  label="appliance, %s" % LEGEND.get(name, name))
        ax_g.plot(_times(r, ri), [r.trace.net_w[i] / 1000.0 for i in ri], drawstyle="steps-post", lw=0.7,
                  color=_COLORS.get(name), label=name)
    ax_p.set_ylabel("power (kW)")
    ax_p.legend(loc="upper left", fontsize=7)
    _relays(ax_r, run, a, b)
    ax_g.axhline(0, color="black", lw=0.5)
    ax_g.set_ylabel("grid power (kW)\nimport > 0 > export")
    ax_g.legend(loc="upper right", fontsize=7)
    _dates([ax_p, ax_r, ax_g])
    ax_g.set_xlabel("UTC")
    _month_bars(ax_m, run)
    fig.tight_layout()
    return fig


def figure(run: ScenarioRun, window_days: float = 2.0) -> Figure:
    """Build the figure that fits the scenario: self-consumption with PV, peak shaving without."""
    if run.scenario.pv.get("kwp", 0) and not run.scenario.loads:
        return solar_figure(run)
    return peak_figure(run, window_days)


def save_plot(run: ScenarioRun, path: str | Path, window_days: float = 2.0) -> Path:
    """Write the figure to ``path`` (PNG, SVG or PDF by suffix) and return the path."""
    p = Path(path)
    fig = figure(run, window_days)
    try:
        fig.savefig(p, dpi=100)
    finally:
        plt.close(fig)
    return p
