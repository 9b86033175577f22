"""Plot a scenario run: grid power, quarter-hour powers against the threshold, relay, monthly peaks."""

from __future__ import annotations

import datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from hil.sim.capacity import FLOOR_W  # noqa: E402
from hil.sim.engine import RunResult  # noqa: E402
from hil.sim.run import ScenarioRun  # noqa: E402

_COLORS = {"none": "tab:gray", "plug": "tab:blue", "naive": "tab:orange", "prescient": "tab:green"}


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


def _series(r: RunResult, a: int, b: int) -> tuple[list[int], list[float], list[int]]:
    """Return (times, net kW, relay) of a run's trace in [a, b), thinned to about 4,000 points."""
    tr = r.trace
    if tr is None:
        return [], [], []
    i0 = max(0, (a - tr.t0) // tr.step_s)
    i1 = min(len(tr.net_w), (b - tr.t0) // tr.step_s)
    stride = max(1, (i1 - i0) // 4000)
    idx = range(i0, i1, stride)
    return ([tr.t0 + i * tr.step_s for i in idx], [tr.net_w[i] / 1000.0 for i in idx],
            [tr.relay[i] for i in idx])


def figure(run: ScenarioRun, window_days: float = 2.0) -> Figure:
    """Build the four-panel figure of a scenario run."""
    sc = run.scenario
    a, b = plot_window(run, window_days)
    fig, axes = plt.subplots(4, 1, figsize=(12, 11), gridspec_kw={"height_ratios": [3, 3, 1, 3]})
    ax_p, ax_q, ax_r, ax_m = axes
    fig.suptitle("%s (seed %d, %d days from %s)\n%s"
                 % (sc.name, run.seed, run.days, sc.start, sc.description), fontsize=10)
    interval_h = sc.plug.interval_min / 60.0
    fw = sc.plug.firmware()
    off_kw = fw.off_wh / 1000.0 / interval_h
    on_kw = fw.on_wh / 1000.0 / interval_h
    for name, r in run.runs.items():
        ts, net, relay = _series(r, a, b)
        if not ts:
            continue
        x = _dt(ts)
        ax_p.plot(x, net, lw=0.7, color=_COLORS.get(name), label=name, drawstyle="steps-post")
        qs = [q for q in r.quarters if a <= q.start < b]
        if qs:
            ax_q.plot(_dt([q.start for q in qs] + [qs[-1].start + 900]),
                      [q.power_w / 1000.0 for q in qs] + [qs[-1].power_w / 1000.0],
                      drawstyle="steps-post", lw=1.0, color=_COLORS.get(name), label=name)
        if name != "none":
            ax_r.plot(x, relay, drawstyle="steps-post", lw=0.8, color=_COLORS.get(name), label=name)
    ax_p.axhline(0, color="black", lw=0.5)
    ax_p.set_ylabel("grid power (kW)\nimport > 0 > export")
    ax_p.legend(loc="upper right", fontsize=8)
    ax_q.axhline(off_kw, color="tab:red", ls="--", lw=1, label="Threshold OFF / interval (%.2f kW)" % off_kw)
    if on_kw != off_kw:
        ax_q.axhline(on_kw, color="tab:purple", ls=":", lw=1,
                     label="Threshold ON / interval (%.2f kW)" % on_kw)
    ax_q.axhline(FLOOR_W / 1000.0, color="black", ls=":", lw=0.8, label="2.5 kW billing floor")
    ax_q.set_ylabel("quarter-hour import\npower (kW)")
    ax_q.legend(loc="upper right", fontsize=8)
    ax_r.set_ylabel("relay")
    ax_r.set_yticks([0, 1], ["off", "on"])
    ax_r.legend(loc="upper right", fontsize=8)
    for ax in (ax_p, ax_q, ax_r):
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d %H:%M", tz=mdates.UTC))
        ax.grid(alpha=0.3)
    ax_r.set_xlabel("UTC")
    names = list(run.figures)
    months = [m["month"] for m in run.figures[names[0]]["months"]]
    width = 0.8 / max(1, len(names))
    for k, name in enumerate(names):
        peaks = {m["month"]: m["peak_kw"] for m in run.figures[name]["months"]}
        xs = [i + (k - (len(names) - 1) / 2) * width for i in range(len(months))]
        ax_m.bar(xs, [peaks.get(m, 0.0) for m in months], width, color=_COLORS.get(name),
                 label="%s (%.0f EUR/yr)" % (name, run.figures[name]["yearly_capacity_cost_eur"]))
    ax_m.axhline(FLOOR_W / 1000.0, color="black", ls=":", lw=0.8)
    ax_m.set_xticks(range(len(months)), months, rotation=45 if len(months) > 6 else 0)
    ax_m.set_ylabel("monthly peak (kW)")
    ax_m.legend(fontsize=8)
    ax_m.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def save_plot(run: ScenarioRun, path: str | Path, window_days: float = 2.0) -> Path:
    """Write the figure to ``path`` (PNG, SVG or PDF by suffix) and return the path."""
    p = Path(path)
    fig = figure(run, window_days)
    try:
        fig.savefig(p, dpi=110)
    finally:
        plt.close(fig)
    return p
