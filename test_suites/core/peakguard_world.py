# Portable helper for Peak Guard's tests (CPython and MicroPython): a household meter and several guarded
# plugs in whole seconds, integer energy (W*s), closed loop. Each plug's appliance draws `load_w` while its
# relay is on and its own `wants(t)` says so; the coordination table is the SmartMeter's (peakguard.Table).
from firmware.control.peakguard import QUARTER_S, GuardSettings, PeakGuard, Table


def guard_settings(**kw):
    s = GuardSettings()
    s.set('on', True)
    for k in kw:
        err = s.set(k, kw[k])
        assert err is None, err
    return s


class Plug:
    def __init__(self, name, load_w, settings, wants=None, period_s=5, desired=True):
        self.name = name
        self.load_w = load_w
        self.wants = wants
        self.desired = desired
        self.g = PeakGuard(settings, plug_id=name, period_s=period_s, now_mono=0)
        self.switch_times = []     # (t, relay) of every change of the relay

    def relay(self):
        return self.desired and not self.g.shed

    def draw(self, t):
        if not self.relay():
            return 0
        if self.wants is not None and not self.wants(t):
            return 0
        return self.load_w


class World:
    """base(t) -> W of the household (import > 0); readings every `period` s on multiples of it."""

    def __init__(self, t0, base, plugs, period=5, coordinated=True, silent=None):
        self.t = t0
        self.t0 = t0
        self.base = base
        self.plugs = plugs
        self.period = period
        self.table = Table() if coordinated else None
        self.silent = silent          # silent(t) -> True: no meter reading at t (stale meter)
        self.failsafe_on = False      # the plug's fail-safe relay state
        self.imp_ws = 5000 * 3600 * 1000
        self.quarters = {}            # quarter start -> imported W*s
        self.base_q = {}              # quarter start -> base-only W*s
        self.load_q = {}              # quarter start -> sum of loads enabled at any reading x period (W*s)
        self.power = 0
        self.power = self._power(t0)

    def _power(self, t):
        w = self.base(t)
        for p in self.plugs:
            w += p.draw(t)
        return w if w > 0 else 0

    def run_until(self, t1):
        while self.t < t1:
            self.step()

    def step(self):
        t = self.t
        mono = t - self.t0
        if t % self.period == 0:
            self.power = self._power(t)   # the telegram at t reports the power at t
            for p in self.plugs:
                before = p.relay()
                p.g.on_plug_power(p.draw(t))
                if self.silent is not None and self.silent(t):
                    p.g.tick(mono, p.desired, self.failsafe_on)
                else:
                    peers = self.table.entries(mono) if self.table is not None else None
                    p.g.on_meter(t, self.imp_ws // 3600000, mono, p.desired, import_w=self.power, peers=peers)
                    if self.table is not None:
                        self.table.update(p.g.report(), mono)
                if p.relay() != before:
                    p.switch_times.append((t, p.relay()))
        b = self.base(t)
        w = b
        for p in self.plugs:
            w += p.draw(t)
        self.power = w if w > 0 else 0
        q = t - t % QUARTER_S
        if w > 0:
            self.imp_ws += w * 1000
            self.quarters[q] = self.quarters.get(q, 0) + w
        else:
            self.quarters[q] = self.quarters.get(q, 0)
        self.base_q[q] = self.base_q.get(q, 0) + (b if b > 0 else 0)
        self.t = t + 1

    def quarter_w(self, q):
        return self.quarters[q] // QUARTER_S
