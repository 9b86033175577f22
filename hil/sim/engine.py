"""The virtual-time simulator: world, meter and relay policy stepped together, loop closed.

Each world step (``step_s``, 60 s by default) does, in order:

1. the plug reads the meter at the step's start: the meter's timestamp, its cumulative import and export
   registers (integer Wh, summed over tariffs), its instantaneous power, and the plug's own cumulative
   energy (integer mWh); the decider returns the relay state for the step;
   A decider with ``reads_now`` (Peak Guard, which reads 1-0:1.7.0 from a telegram every few seconds) gets
   the power of the telegram just after the step starts: the household's new minute with the appliance
   still as it was, instead of the last step's average;
2. the world moves: base load and PV at ``t``, the appliance stepped with the relay's state; the net power
   (base + appliance - PV) is constant over the step;
3. the plug reads again every ``poll_s`` inside the step (registers advance linearly), as a real plug
   polling its SmartMeter does: the device needs a fresh reading at least every 30 s or it turns
   Disconnected and treats the interval as a gap. With ``poll_s = step_s = 60`` the plug reads once a
   step and the controller is built with a 60 s timeout instead: without data gaps the decisions are
   the same (every decision uses the readings at interval boundaries), at a third of the cost;
4. the meter integrates: positive net power into the import register, negative into export; the import
   energy goes into clock quarters (capacity accounting).

Relay changes decided at a step's first reading apply to that whole step. The controller's boundaries are
whole minutes, so with 60 s steps every decision lands at a step start; a change at an in-step reading
(only the naive baseline makes those) applies from the next step, at most ``step_s - poll_s`` late.
This is the low-fidelity path; ``hil.sim.fidelity`` runs the same loop on 1 Hz telegrams.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Sequence

import attrs

from hil.emulators.world.appliance import Appliance
from hil.emulators.world.site import Site
from hil.sim.capacity import Quarter
from hil.sim.deciders import Decider

# The manual's screenshot: Energy Consumed Tariff 1 + 2 and Energy Produced Tariff 1 + 2, in Wh.
START_IMPORT_WH = 4592767 + 6664174
START_EXPORT_WH = 1269851 + 439646


@attrs.define
class Trace:
    """Per-step series of a run: one float32 value per world step, relay as 0/1 bytes."""

    t0: int
    step_s: int
    net_w: array = attrs.field(factory=lambda: array("f"))
    app_w: array = attrs.field(factory=lambda: array("f"))
    base_net_w: array = attrs.field(factory=lambda: array("f"))
    relay: bytearray = attrs.field(factory=bytearray)
    pv_w: array = attrs.field(factory=lambda: array("f"))

    def times(self) -> range:
        """Return the UTC start of every step."""
        return range(self.t0, self.t0 + self.step_s * len(self.net_w), self.step_s)


@attrs.define
class Energy:
    """Energy totals of a run in Wh."""

    import_wh: float = 0.0
    export_wh: float = 0.0
    pv_wh: float = 0.0
    base_wh: float = 0.0
    appliance_wh: float = 0.0
    appliance_solar_wh: float = 0.0
    plug_wh: float = 0.0

    def appliance_solar_share(self) -> float | None:
        """Return the share of the appliance's energy covered by PV surplus (PV minus base load)."""
        if self.appliance_wh <= 0:
            return None
        return self.appliance_solar_wh / self.appliance_wh

    def self_consumption(self) -> float | None:
        """Return the share of PV energy used on site (1 - export / PV), or None without PV."""
        if self.pv_wh <= 0:
            return None
        return max(0.0, 1.0 - self.export_wh / self.pv_wh)


@attrs.define
class RunResult:
    """What one simulated run produced."""

    name: str
    t0: int
    t1: int
    step_s: int
    poll_s: int
    quarters: list[Quarter]
    energy: Energy
    appliance: dict[str, float]
    switch_times: list[int]
    counters: dict[str, int]
    trace: Trace | None
    warnings: list[str] = attrs.field(factory=list)

    @property
    def days(self) -> float:
        """Return the simulated time in days."""
        return (self.t1 - self.t0) / 86400.0

    @property
    def switches(self) -> int:
        """Return how often the relay changed state."""
        return len(self.switch_times)


def check_steps(t0: int, t1: int, step_s: int, poll_s: int) -> None:
    """Raise ValueError unless the time grid is one the simulator supports."""
    if step_s <= 0 or 900 % step_s != 0:
        raise ValueError("step_s: expected a divisor of 900 s (quarter-hours hold whole steps), got %r"
                         % step_s)
    if poll_s <= 0 or step_s % poll_s != 0:
        raise ValueError("poll_s: expected a divisor of step_s=%d, got %r" % (step_s, poll_s))
    if t0 % step_s != 0:
        raise ValueError("start: expected a multiple of step_s=%d (UTC s), got %d" % (step_s, t0))
    if t1 <= t0 or (t1 - t0) % step_s != 0:
        raise ValueError("end: expected start < end and a whole number of steps, got [%d, %d)" % (t0, t1))


def simulate(site: Site, appliance: Appliance, decider: Decider, t0: int, t1: int, *, step_s: int = 60,
             poll_s: int = 20, record: bool = True, start_import_wh: float = START_IMPORT_WH,
             start_export_wh: float = START_EXPORT_WH, outages: Sequence[tuple[int, int]] = (),
             on_day: Callable[[int], None] | None = None) -> RunResult:
    """Run [t0, t1) in virtual time and return the result (see the module docstring for the loop).

    ``outages``: (start, end) UTC spans, whole steps, in which the plug gets no meter reading (WiFi down,
    SmartMeter unplugged): the controller only ticks, so Disconnected and the fail-safe play out.
    """
    check_steps(t0, t1, step_s, poll_s)
    gaps = sorted((int(a), int(b)) for a, b in outages)
    for a, b in gaps:
        if b <= a or a % step_s or b % step_s:
            raise ValueError("outage [%d, %d): expected start < end, both multiples of step_s=%d"
                             % (a, b, step_s))
    gi = 0
    silent = False
    household = site.household
    pv_model = site.pv
    step = appliance.step
    static = decider.static
    uses_power = decider.uses_power
    plug_report = decider.plug
    meter = decider.meter
    meter_power = decider.meter_power
    reads_now = decider.reads_now
    gw = 0.0
    tick = decider.tick
    trace = Trace(t0, step_s) if record else None
    if trace is not None:
        tr_net, tr_app, tr_base, tr_relay = (trace.net_w.append, trace.app_w.append, trace.base_net_w.append,
                                             trace.relay.append)
        tr_pv = trace.pv_w.append
    # registers and the plug's count integrate joules (W x s): exact for whole watts, so Wh and mWh come out
    # exactly (a float sum of 36.666 Wh steps would floor 550 Wh to 549)
    imp_j = float(start_import_wh) * 3600.0
    exp_j = float(start_export_wh) * 3600.0
    plug_j = 0.0
    plug_told = -1
    pv_sum = base_sum = app_sum = solar_sum = 0.0
    relay = decider.relay
    switch_times: list[int] = []
    net = 0.0
    in_step = [k * poll_s for k in range(1, step_s // poll_s)]
    hours = step_s / 3600.0
    quarters: list[Quarter] = []
    q_start = t0 - t0 % 900
    q_j = 0.0
    t = t0
    while t < t1:
        day = t // 86400
        base_tab = household.day_table(day)
        pv_tab = pv_model.day_table(day)
        day_end = min((day + 1) * 86400, t1)
        while t < day_end:
            mono = t - t0
            if t % 900 == 0 and t != q_start:  # steps divide 900: a quarter closes exactly here
                quarters.append(Quarter(q_start, q_j / 3600.0))
                q_start = t
                q_j = 0.0
            if gaps:
                while gi < len(gaps) and gaps[gi][1] <= t:
                    gi += 1
                silent = gi < len(gaps) and gaps[gi][0] <= t
            if not static:
                p = int(plug_j * 1000.0 // 3600.0)
                if p != plug_told:  # report when the count moves: an unchanged count changes nothing
                    plug_report(p)
                    plug_told = p
            if not static and not silent:
                imp = int(imp_j // 3600.0)
                exp = int(exp_j // 3600.0)
                if reads_now:   # the telegram just after the minute: the household's new minute, the
                    m = (t - day * 86400) // 60   # appliance as it was (the device polls every 5 s)
                    net = base_tab[m] - pv_tab[m] + gw
                r = (meter_power(t, imp, exp, net, mono) if uses_power else meter(t, imp, exp, mono))
                if r is not None and r != relay:
                    relay = r
                    switch_times.append(t)
            m = (t - day * 86400) // 60
            base = base_tab[m]
            pv = pv_tab[m]
            gw, pw = step(t, step_s, relay)
            net = base + gw - pv
            ej = net * step_s
            if not static:
                for s in in_step if not silent else ():
                    ei = net * s
                    if ei > 0:
                        ii, xi = int((imp_j + ei) // 3600.0), int(exp_j // 3600.0)
                    else:
                        ii, xi = int(imp_j // 3600.0), int((exp_j - ei) // 3600.0)
                    r = (meter_power(t + s, ii, xi, net, mono + s) if uses_power
                         else meter(t + s, ii, xi, mono + s))
                    if r is not None and r != relay:
                        relay = r
                        switch_times.append(t + s)
                r = tick(mono + step_s - 1)
                if r is not None and r != relay:
                    relay = r
                    switch_times.append(t + step_s - 1)
            if ej > 0:
                imp_j += ej
                q_j += ej
            else:
                exp_j -= ej
            plug_j += pw * step_s
            pv_sum += pv
            base_sum += base
            app_sum += gw
            if pv > base and gw > 0:
                solar_sum += gw if gw < pv - base else pv - base
            if trace is not None:
                tr_net(net)
                tr_app(gw)
                tr_base(base - pv)
                tr_relay(1 if relay else 0)
                tr_pv(pv)
            t += step_s
        if on_day is not None:
            on_day(-(-(t - t0) // 86400))
    quarters.append(Quarter(q_start, q_j / 3600.0))
    return RunResult(
        name=decider.name, t0=t0, t1=t1, step_s=step_s, poll_s=poll_s, quarters=quarters,
        energy=Energy(import_wh=imp_j / 3600.0 - start_import_wh, export_wh=exp_j / 3600.0 - start_export_wh,
                      pv_wh=pv_sum * hours,
                      base_wh=base_sum * hours, appliance_wh=app_sum * hours,
                      appliance_solar_wh=solar_sum * hours, plug_wh=plug_j / 3600.0),
        appliance=appliance.stats.as_dict(), switch_times=switch_times, counters=decider.counters(),
        trace=trace, warnings=list(getattr(decider, "warnings", [])))
