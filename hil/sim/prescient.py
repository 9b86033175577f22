"""The prescient bound: the lowest monthly peaks any relay policy could reach, knowing the future.

Input: the base load minus PV of every step (the household and the sun do not depend on the plug), the
appliance's energy in each of its flex windows as drawn without control (what it must still be served),
its rated power, and the windows themselves (``Appliance.flex_windows``: the local day for thermal loads,
the plugged-in time for a charger, the timer window for a pool pump).

Per quarter q, with ``base_import_q`` the energy imported without the appliance and ``net_q`` the base
net energy (import minus export), adding appliance energy ``x_q`` gives at best (drawing it first from
the quarter's own export) ``import_q = max(base_import_q, net_q + x_q)``. With a power cap X (W), quarter
q can take ``x_q <= min(P f_q / 4, X / 4 - net_q)`` where ``f_q`` is the share of the quarter inside the
window. For each window the lowest X that still fits the window's energy is found by bisection (to 1 W)
over this monotone capacity; a month's bound is the largest of its windows' X and of its base quarters.

Assumptions that make it a bound, not a schedule: the appliance may be modulated continuously at any power
up to rated (an on/off plug cannot), thermal comfort, minimum run times and hot-water timing are ignored
within the window, and energy that was served in one window is not moved to another. A window that
crosses a month boundary is split; each part must hold only what the other part cannot (``E - P x time
in the other part``), which keeps every month's figure a lower bound.
"""

from __future__ import annotations

from collections.abc import Sequence

from hil.sim.capacity import QUARTER_S, MonthPeak, month_of


def _quarter_series(t0: int, step_s: int,
                    base_net_w: Sequence[float]) -> tuple[dict[int, float], dict[int, float]]:
    """Per quarter start: (base import Wh, base net Wh)."""
    imp: dict[int, float] = {}
    net: dict[int, float] = {}
    h = step_s / 3600.0
    for i, w in enumerate(base_net_w):
        t = t0 + i * step_s
        q = t - t % QUARTER_S
        e = w * h
        net[q] = net.get(q, 0.0) + e
        if e > 0:
            imp[q] = imp.get(q, 0.0) + e
        elif q not in imp:
            imp[q] = 0.0
    return imp, net


def window_energy(t0: int, step_s: int, app_w: Sequence[float], a: int, b: int) -> float:
    """Return the appliance energy (Wh) drawn in [a, b) according to a per-step series."""
    i0 = max(0, (a - t0) // step_s)
    i1 = min(len(app_w), -(-(b - t0) // step_s))
    return sum(app_w[i0:i1]) * step_s / 3600.0


def min_cap_w(need_wh: float, rated_w: float, parts: list[tuple[float, float]]) -> float:
    """Return the lowest power cap X (W) under which ``need_wh`` fits, to 1 W.

    ``parts``: per quarter (net Wh, share of the quarter available). Raises ValueError when even an
    unlimited cap cannot fit the energy at rated power.
    """
    if need_wh <= 1e-9:
        return 0.0
    room = sum(rated_w * f / 4.0 for _, f in parts)
    if room + 1e-6 < need_wh:
        raise ValueError("prescient bound: %.1f Wh does not fit in a window that holds at most %.1f Wh at "
                         "%.0f W" % (need_wh, room, rated_w))

    def fits(x: float) -> bool:
        tot = 0.0
        cap = x / 4.0
        for n, f in parts:
            head = cap - n
            if head > 0:
                lim = rated_w * f / 4.0
                tot += head if head < lim else lim
        return tot >= need_wh

    lo = 0.0
    hi = max(4.0 * n + rated_w * f for n, f in parts) + 1.0
    while not fits(hi):
        hi *= 2
    while hi - lo > 1.0:
        mid = 0.5 * (lo + hi)
        if fits(mid):
            hi = mid
        else:
            lo = mid
    return hi


def _month_bounds(a: int, b: int) -> list[tuple[int, int]]:
    """Split [a, b) at local month boundaries (which are whole quarters)."""
    out = []
    start = a
    key = month_of(a)
    q = a - a % QUARTER_S + QUARTER_S
    while q < b:
        k = month_of(q)
        if k != key:
            out.append((start, q))
            start = q
            key = k
        q += QUARTER_S
    out.append((start, b))
    return out


def prescient_peaks(t0: int, step_s: int, base_net_w: Sequence[float], app_w: Sequence[float],
                    windows: list[tuple[int, int]], rated_w: float) -> list[MonthPeak]:
    """Return per local month the lowest achievable peak (see the module docstring)."""
    imp, net = _quarter_series(t0, step_s, base_net_w)
    best: dict[tuple[int, int], list] = {}
    for q, e in imp.items():
        k = month_of(q)
        cur = best.get(k)
        p = 4.0 * e
        if cur is None:
            best[k] = [p, q, 1]
        else:
            cur[2] += 1
            if p > cur[0]:
                cur[0], cur[1] = p, q
    for a, b in windows:
        need = window_energy(t0, step_s, app_w, a, b)
        pieces = _month_bounds(a, b)
        for pa, pb in pieces:
            other = (b - a) - (pb - pa)
            part_need = max(0.0, need - rated_w * other / 3600.0)
            if part_need <= 1e-9:
                continue
            parts = []
            q = pa - pa % QUARTER_S
            while q < pb:
                lo = max(q, pa)
                hi = min(q + QUARTER_S, pb)
                parts.append((net.get(q, 0.0), (hi - lo) / QUARTER_S))
                q += QUARTER_S
            x = min_cap_w(part_need, rated_w, parts)
            k = month_of(pa)
            cur = best.setdefault(k, [0.0, pa, 0])
            if x > cur[0]:
                cur[0], cur[1] = x, pa
    return [MonthPeak(k[0], k[1], v[0], v[1], v[2]) for k, v in sorted(best.items())]


def _fits(g: object, quarters: set[int], net: dict[int, float], need_units: int, scale: float,
          x: float) -> bool:
    """Whether every window part gets its energy under cap ``x`` (W): a max-flow on ``g``."""
    import networkx as nx

    for q in quarters:
        head = x / 4.0 - net.get(q, 0.0)
        g.add_edge(("q", q), "t", capacity=int(head * scale) if head > 0 else 0)  # type: ignore[attr-defined]
    return nx.maximum_flow_value(g, "s", "t") >= need_units


def prescient_peaks_multi(t0: int, step_s: int, base_net_w: Sequence[float],
                          loads: Sequence[tuple[Sequence[float], list[tuple[int, int]], float]],
                          resolution_w: float = 5.0) -> list[MonthPeak]:
    """Return per local month the lowest peak several appliances sharing each quarter's headroom reach.

    ``loads``: per appliance (its per-step draw without control, its flex windows, its rated power). Under a
    cap X quarter q holds at most ``X/4 - net_q`` of all appliances together and each appliance at most
    ``P_i f_iq / 4``; every window part must get its energy (split at month boundaries as in
    ``prescient_peaks``). Feasibility of X is a max-flow (source -> window part -> quarter -> sink,
    networkx), the least feasible X is found by bisection to ``resolution_w``. Same assumptions as the
    single-appliance bound: continuous modulation, no comfort or minimum run times, so a lower bound.
    """
    import networkx as nx

    imp, net = _quarter_series(t0, step_s, base_net_w)
    scale = 100.0                     # flow units: 0.01 Wh (integer capacities keep the max-flow exact)
    months: dict[tuple[int, int], list] = {}
    for q, e in imp.items():
        k = month_of(q)
        cur = months.setdefault(k, [0.0, q, 0, []])
        cur[2] += 1
        if 4.0 * e > cur[0]:
            cur[0], cur[1] = 4.0 * e, q
    for li, (app_w, windows, rated_w) in enumerate(loads):
        for a, b in windows:
            need = window_energy(t0, step_s, app_w, a, b)
            for pa, pb in _month_bounds(a, b):
                other = (b - a) - (pb - pa)
                part_need = max(0.0, need - rated_w * other / 3600.0)
                if part_need <= 1e-9:
                    continue
                qs = []
                q = pa - pa % QUARTER_S
                while q < pb:
                    lo = max(q, pa)
                    hi = min(q + QUARTER_S, pb)
                    qs.append((q, rated_w * (hi - lo) / QUARTER_S / 4.0))
                    q += QUARTER_S
                months.setdefault(month_of(pa), [0.0, pa, 0, []])[3].append((li, pa, part_need, qs))
    out = []
    for k in sorted(months):
        base_peak, at, nq, parts = months[k]
        best = base_peak
        if parts:
            g = nx.DiGraph()
            total = 0
            quarters: set[int] = set()
            for li, pa, need, qs in parts:
                node = ("w", li, pa)
                units = int(need * scale)
                total += units
                g.add_edge("s", node, capacity=units)
                for q, cap in qs:
                    g.add_edge(node, ("q", q), capacity=int(cap * scale) + 1)
                    quarters.add(q)
            lo = base_peak
            need_units = total - len(parts)
            if not _fits(g, quarters, net, need_units, scale, lo):
                hi = max(4.0 * net.get(q, 0.0) for q in quarters) + 4.0 * sum(r for _, _, r in loads) + 1.0
                while not _fits(g, quarters, net, need_units, scale, hi):
                    hi *= 2
                while hi - lo > resolution_w:
                    mid = 0.5 * (lo + hi)
                    if _fits(g, quarters, net, need_units, scale, mid):
                        hi = mid
                    else:
                        lo = mid
                best = hi
                at = min(pa for _, pa, _, _ in parts)
        out.append(MonthPeak(k[0], k[1], best, at, nq))
    return out
