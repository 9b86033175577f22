"""Several plugs on one meter: the simulator's loop with a list of appliances, each behind its own plug.

The same loop as ``hil.sim.engine.simulate`` (read at the step's start, world moves, meter integrates),
with every plug reading the same meter at the same moments in list order: a plug's relay change takes
effect for the step it was decided at. Deciders with ``reads_now`` see the power of the telegram just
after the step starts (the household's new minute, the appliances as they were), as in ``simulate``.
With one appliance it gives exactly ``simulate``'s result (tested).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Sequence

import attrs

from hil.emulators.world.appliance import Appliance, ApplianceStats
from hil.emulators.world.site import Site
from hil.sim.capacity import Quarter
from hil.sim.deciders import Decider
from hil.sim.engine import START_EXPORT_WH, START_IMPORT_WH, Energy, RunResult, Trace, check_steps


@attrs.define
class PlugRun:
    """One plug of a multi-plug run: its appliance's statistics, its switches and its counters."""

    name: str
    kind: str
    appliance: dict[str, float]
    switch_times: list[int]
    counters: dict[str, int]
    app_w: array
    relay: bytearray


def simulate_multi(site: Site, appliances: Sequence[Appliance], deciders: Sequence[Decider], t0: int, t1: int,
                   *, step_s: int = 60, poll_s: int = 60, start_import_wh: float = START_IMPORT_WH,
                   start_export_wh: float = START_EXPORT_WH, outages: Sequence[tuple[int, int]] = (),
                   on_day: Callable[[int], None] | None = None, name: str | None = None,
                   ) -> tuple[RunResult, list[PlugRun]]:
    """Run [t0, t1) with one decider per appliance; return the whole home's result and each plug's."""
    check_steps(t0, t1, step_s, poll_s)
    if len(appliances) != len(deciders) or not appliances:
        raise ValueError("simulate_multi: expected one decider per appliance, got %d appliances and %d "
                         "deciders" % (len(appliances), len(deciders)))
    gaps = sorted((int(a), int(b)) for a, b in outages)
    n = len(appliances)
    household = site.household
    pv_model = site.pv
    relays = [d.relay for d in deciders]
    switches: list[list[int]] = [[] for _ in range(n)]
    app_tr = [array("f") for _ in range(n)]
    rel_tr = [bytearray() for _ in range(n)]
    trace = Trace(t0, step_s)
    imp_j = float(start_import_wh) * 3600.0
    exp_j = float(start_export_wh) * 3600.0
    plug_j = [0.0] * n
    plug_told = [-1] * n
    pv_sum = base_sum = app_sum = solar_sum = plug_sum = 0.0
    net = 0.0
    in_step = [k * poll_s for k in range(1, step_s // poll_s)]
    hours = step_s / 3600.0
    quarters: list[Quarter] = []
    q_start = t0 - t0 % 900
    q_j = 0.0
    gi = 0
    silent = False
    t = t0

    last_gw = [0.0] * n

    def read(tr: int, imp: int, exp: int, mono: float, when: int, now_w: float | None = None) -> None:
        for i, d in enumerate(deciders):
            if d.static:
                continue
            w = now_w if (now_w is not None and d.reads_now) else net
            r = d.meter_power(tr, imp, exp, w, mono) if d.uses_power else d.meter(tr, imp, exp, mono)
            if r is not None and r != relays[i]:
                relays[i] = r
                switches[i].append(when)

    while t < t1:
        day = t // 86400
        base_tab = household.day_table(day)
        pv_tab = pv_model.day_table(day)
        day_end = min((day + 1) * 86400, t1)
        while t < day_end:
            mono = t - t0
            if t % 900 == 0 and t != q_start:
                quarters.append(Quarter(q_start, q_j / 3600.0))
                q_start = t
                q_j = 0.0
            if gaps:
                while gi < len(gaps) and gaps[gi][1] <= t:
                    gi += 1
                silent = gi < len(gaps) and gaps[gi][0] <= t
            for i, d in enumerate(deciders):
                if d.static:
                    continue
                p = int(plug_j[i] * 1000.0 // 3600.0)
                if p != plug_told[i]:
                    d.plug(p)
                    plug_told[i] = p
            m = (t - day * 86400) // 60
            base = base_tab[m]
            pv = pv_tab[m]
            if not silent:
                read(t, int(imp_j // 3600.0), int(exp_j // 3600.0), mono, t, base - pv + sum(last_gw))
            gw_sum = 0.0
            for i, a in enumerate(appliances):
                gw, pw = a.step(t, step_s, relays[i])
                last_gw[i] = gw
                gw_sum += gw
                plug_j[i] += pw * step_s
                plug_sum += pw * step_s
                app_tr[i].append(gw)
                rel_tr[i].append(1 if relays[i] else 0)
            net = base + gw_sum - pv
            ej = net * step_s
            for s in in_step if not silent else ():
                ei = net * s
                if ei > 0:
                    ii, xi = int((imp_j + ei) // 3600.0), int(exp_j // 3600.0)
                else:
                    ii, xi = int(imp_j // 3600.0), int((exp_j - ei) // 3600.0)
                read(t + s, ii, xi, mono + s, t + s)
            for i, d in enumerate(deciders):
                if d.static:
                    continue
                r = d.tick(mono + step_s - 1)
                if r is not None and r != relays[i]:
                    relays[i] = r
                    switches[i].append(t + step_s - 1)
            if ej > 0:
                imp_j += ej
                q_j += ej
            else:
                exp_j -= ej
            pv_sum += pv
            base_sum += base
            app_sum += gw_sum
            if pv > base and gw_sum > 0:
                solar_sum += gw_sum if gw_sum < pv - base else pv - base
            trace.net_w.append(net)
            trace.app_w.append(gw_sum)
            trace.base_net_w.append(base - pv)
            trace.relay.append(1 if any(relays) else 0)
            trace.pv_w.append(pv)
            t += step_s
        if on_day is not None:
            on_day(-(-(t - t0) // 86400))
    quarters.append(Quarter(q_start, q_j / 3600.0))
    total = ApplianceStats()
    for a in appliances:
        for k, v in a.stats.as_dict().items():
            setattr(total, k, getattr(total, k) + v)
    all_switches = sorted(x for s in switches for x in s)
    counters: dict[str, int] = {}
    for d in deciders:
        for k, v in d.counters().items():
            if isinstance(v, int):
                counters[k] = counters.get(k, 0) + v
    run = RunResult(
        name=name or deciders[0].name, t0=t0, t1=t1, step_s=step_s, poll_s=poll_s, quarters=quarters,
        energy=Energy(import_wh=imp_j / 3600.0 - start_import_wh, export_wh=exp_j / 3600.0 - start_export_wh,
                      pv_wh=pv_sum * hours, base_wh=base_sum * hours, appliance_wh=app_sum * hours,
                      appliance_solar_wh=solar_sum * hours, plug_wh=plug_sum / 3600.0),
        appliance=total.as_dict(), switch_times=all_switches, counters=counters, trace=trace,
        warnings=[w for d in deciders for w in getattr(d, "warnings", [])])
    plugs = [PlugRun(getattr(a, "name", a.kind), a.kind, a.stats.as_dict(), switches[i],
                     deciders[i].counters(), app_tr[i], rel_tr[i]) for i, a in enumerate(appliances)]
    return run, plugs
