"""Full fidelity: the same closed loop on the meter's 1 Hz telegrams.

Every second the emulated meter (``hil.emulators.p1.meter.MeterState``) advances with the world's net
power, the P1 encoder writes its telegram (CRC and all), and the SmartMeter's firmware stack
(``firmware.p1.stack.P1Stack``) frames and parses it; ``firmware.p1.readings.meter_reading`` gives the
plug's reading (meter time, import and export in Wh). The plug reads the newest parsed reading every
``read_every_s`` seconds (1 = every telegram). The world is stepped each second, so a relay change acts
from the next second on.

``encode_every_s`` > 1 is the intermediate fidelity the issue allows: only the telegrams the plug actually
reads are encoded and parsed (the meter still integrates every second).
"""

from __future__ import annotations

from collections.abc import Callable

from firmware.p1.readings import meter_reading
from firmware.p1.stack import P1Stack
from hil.emulators.p1.encoder import encode_telegram
from hil.emulators.p1.meter import MeterState
from hil.emulators.p1.profiles import PROFILES
from hil.emulators.world.appliance import Appliance
from hil.emulators.world.site import Site
from hil.p1_fastcrc import crc16_arc as fast_crc
from hil.sim.capacity import QuarterAccumulator
from hil.sim.deciders import Decider
from hil.sim.engine import START_EXPORT_WH, START_IMPORT_WH, Energy, RunResult, Trace

DEFAULT_PROFILE = "emucs2-3p"


def _net_w(telegram: object) -> float | None:
    """Return import minus export power (W) from a parsed telegram's 1-0:1.7.0 / 1-0:2.7.0, or None."""
    objs = telegram.objects  # type: ignore[attr-defined]
    a = objs.get("1-0:1.7.0")
    if a is None or a.value is None:
        return None
    b = objs.get("1-0:2.7.0")
    exp = b.value.scaled(3) if b is not None and b.value is not None else 0
    return float(a.value.scaled(3) - exp)


def simulate_telegrams(site: Site, appliance: Appliance, decider: Decider, t0: int, t1: int, *,
                       profile: str = DEFAULT_PROFILE, read_every_s: int = 1, encode_every_s: int = 1,
                       record: bool = True, start_import_wh: int = START_IMPORT_WH,
                       start_export_wh: int = START_EXPORT_WH,
                       on_day: Callable[[int], None] | None = None) -> RunResult:
    """Run [t0, t1) second by second through encoder and parser; return the result.

    ``read_every_s`` must be a multiple of ``encode_every_s`` (the plug reads an encoded telegram).
    """
    prof = PROFILES.get(profile)
    if prof is None:
        raise ValueError("profile: expected one of %s, got %r" % (", ".join(sorted(PROFILES)), profile))
    if prof.crc is False:
        raise ValueError("profile %s has no CRC and no timestamp the plug could use; pick a DSMR 4+ profile"
                         % profile)
    if encode_every_s < 1 or read_every_s < 1 or read_every_s % encode_every_s:
        raise ValueError("read_every_s (%r) must be a multiple of encode_every_s (%r), both >= 1"
                         % (read_every_s, encode_every_s))
    if t1 <= t0:
        raise ValueError("end: expected start < end, got [%d, %d)" % (t0, t1))
    imp_t1 = start_import_wh // 2
    exp_t1 = start_export_wh // 2
    meter = MeterState(t0, phases=prof.phases, import_wh=(imp_t1, start_import_wh - imp_t1),
                       export_wh=(exp_t1, start_export_wh - exp_t1))
    # same results as without reuse (a property test); the host's CRC (same result as the device's)
    stack = P1Stack(require_crc=True, reuse=True, crc=fast_crc)
    household = site.household
    pv_model = site.pv
    step = appliance.step
    static = decider.static
    uses_power = decider.uses_power
    acc = QuarterAccumulator()
    trace = Trace(t0, 1) if record else None
    relay = decider.relay
    switch_times: list[int] = []
    plug_j = 0.0
    pv_sum = base_sum = app_sum = solar_sum = 0.0
    e_imp = e_exp = 0.0
    reading: tuple[int, int, int] | None = None
    last_tg = None
    net_seen: float | None = None
    counters = {"telegrams": 0, "unreadable": 0}
    # The meter integrates in whole watts; seconds with the same (import W, export W) are batched into one
    # MeterState.advance, flushed before each telegram is written (same registers, far fewer calls).
    pend_dt = 0
    pend_imp = pend_exp = 0
    q_start = t0 - t0 % 900
    q_wh = 0.0
    t = t0
    while t < t1:
        day = t // 86400
        base_tab = household.day_table(day)
        pv_tab = pv_model.day_table(day)
        day_end = min((day + 1) * 86400, t1)
        while t < day_end:
            k = t - t0
            if k % encode_every_s == 0:
                if pend_dt:
                    meter.advance(pend_dt, pend_imp, pend_exp)
                    pend_dt = 0
                tg = stack.feed(encode_telegram(meter, prof))
                counters["telegrams"] += 1
                if tg:
                    last_tg = tg[-1]
                    reading = meter_reading(last_tg)
                    net_seen = _net_w(last_tg) if uses_power else None
                if not tg or reading is None:
                    counters["unreadable"] += 1
                    reading = None
            if not static:
                if k % read_every_s == 0 and reading is not None:
                    decider.plug(int(plug_j * 1000.0 // 3600.0))
                    if uses_power and net_seen is not None:
                        r = decider.meter_power(reading[0], reading[1], reading[2], net_seen, k)
                    else:
                        r = decider.meter(reading[0], reading[1], reading[2], k)
                    if r is not None and r != relay:
                        relay = r
                        switch_times.append(t)
                r = decider.tick(k)
                if r is not None and r != relay:
                    relay = r
                    switch_times.append(t)
            m = (t - day * 86400) // 60
            base = base_tab[m]
            pv = pv_tab[m]
            gw, pw = step(t, 1, relay)
            net = base + gw - pv
            # what the meter registers: whole watts (MeterState rounds the same way)
            iw = round(net) if net > 0 else 0
            xw = round(-net) if net < 0 else 0
            if pend_dt and (iw != pend_imp or xw != pend_exp):
                meter.advance(pend_dt, pend_imp, pend_exp)
                pend_dt = 0
            pend_imp, pend_exp = iw, xw
            pend_dt += 1
            e_imp += iw
            e_exp += xw
            if t - q_start >= 900:
                acc.add(q_start, q_start + 900, q_wh)
                q_start = t - t % 900
                q_wh = 0.0
            q_wh += iw / 3600.0
            plug_j += pw
            pv_sum += pv
            base_sum += base
            app_sum += gw
            if pv > base and gw > 0:
                solar_sum += gw if gw < pv - base else pv - base
            if trace is not None:
                trace.net_w.append(net)
                trace.app_w.append(gw)
                trace.base_net_w.append(base - pv)
                trace.relay.append(1 if relay else 0)
                trace.pv_w.append(pv)
            t += 1
        if on_day is not None:
            on_day(-(-(t - t0) // 86400))
    if pend_dt:
        meter.advance(pend_dt, pend_imp, pend_exp)
    acc.add(q_start, min(q_start + 900, t1), q_wh)
    counters["meter_import_wh"] = meter.import_wh[0] + meter.import_wh[1] - start_import_wh
    peak = last_tg.objects.get("1-0:1.6.0") if last_tg is not None else None
    if peak is not None and peak.value is not None:
        counters["meter_peak_w"] = peak.value.scaled(3)   # 1-0:1.6.0 as parsed, kW -> W
    c: dict[str, int] = dict(decider.counters())
    for key, v in counters.items():
        c["p1_" + key] = v
    for key, v in stack.counters.items():
        c["p1_" + key] = v
    return RunResult(
        name=decider.name, t0=t0, t1=t1, step_s=1, poll_s=read_every_s, quarters=acc.close(),
        energy=Energy(import_wh=e_imp / 3600.0, export_wh=e_exp / 3600.0, pv_wh=pv_sum / 3600.0,
                      base_wh=base_sum / 3600.0, appliance_wh=app_sum / 3600.0,
                      appliance_solar_wh=solar_sum / 3600.0, plug_wh=plug_j / 3600.0),
        appliance=appliance.stats.as_dict(), switch_times=switch_times, counters=c, trace=trace,
        warnings=list(getattr(decider, "warnings", [])))
