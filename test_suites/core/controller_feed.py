# Portable helper for the controller's tests (CPython and MicroPython): a household, its meter and one
# SmartPlug, stepped in whole seconds with integer energy (watt-seconds), driving a real Controller.
# The relay the controller returns is applied to the appliance: the loop is closed.
from firmware.control.controller import Controller
from firmware.control.settings import Settings
from firmware.timebase import local_to_utc


def utc(y, mo, d, h=0, mi=0, s=0, flag=None):
    """UTC epoch seconds of a Belgian wall-clock time."""
    return local_to_utc(y, mo, d, h, mi, s, flag)


def settings(**kw):
    s = Settings()
    for k in kw:
        err = s.set(k, kw[k])
        assert err is None, err
    return s


class Home:
    """Base load `base_w` (negative: PV export) plus the plug's appliance `appliance_w` while the relay is on.

    The meter reports (t, import Wh, export Wh) every `step` seconds (the plug's reading of the SmartMeter);
    the plug reports its own energy (mWh) every step. `decisions` lists (t, relay) for every change the
    controller returned (from on_meter, tick or manual_relay).
    """

    def __init__(self, t0, s=None, saved=None, base_w=0, appliance_w=0, step=1, mono=1000):
        self.t = t0
        self.mono = mono
        self.step = step
        self.base_w = base_w
        self.appliance_w = appliance_w
        self.imp_ws = 0
        self.exp_ws = 0
        self.plug_ws = 0
        self.c = Controller(s if s is not None else settings(), saved, now_mono=mono)
        self.decisions = []
        self.readings = 0

    def net_w(self):
        return self.base_w + (self.appliance_w if self.c.relay else 0)

    def reading(self):
        return self.t, self.imp_ws // 3600, self.exp_ws // 3600

    def run(self, seconds, meter=True, imp_offset=0):
        """Advance `seconds` (a multiple of step). meter=False: the SmartMeter is silent (no readings)."""
        c = self.c
        n = seconds // self.step
        for _ in range(n):
            st = self.step
            net = self.net_w()
            if net >= 0:
                self.imp_ws += net * st
            else:
                self.exp_ws -= net * st
            if c.relay:
                self.plug_ws += self.appliance_w * st
            self.t += st
            self.mono += st
            c.on_plug_energy(self.plug_ws * 10 // 36)
            if meter:
                self.readings += 1
                r = c.on_meter(self.t, self.imp_ws // 3600 + imp_offset, self.exp_ws // 3600, self.mono)
                if r is not None:
                    self.decisions.append((self.t, r))
            r = c.tick(self.mono)
            if r is not None:
                self.decisions.append((self.t, r))

    def until(self, t, meter=True):
        """Advance to meter time t."""
        self.run(t - self.t, meter)

    def manual(self, on):
        r = self.c.manual_relay(on)
        if r is not None:
            self.decisions.append((self.t, r))
        return r


def evaluations(c):
    """The kinds of boundary evaluations seen so far, by counter."""
    n = c.counters
    return n['decisions'], n['measured_only'], n['voided']


class Feed:
    """Direct meter readings every `step` seconds; go() moves the registers linearly by exact amounts."""

    def __init__(self, c, t, imp=0, exp=0, mono=1000, step=10):
        self.c = c
        self.t = t
        self.imp = imp
        self.exp = exp
        self.mono = mono
        self.step = step
        self.decisions = []

    def go(self, seconds, d_imp=0, d_exp=0, step=None):
        """`seconds` of readings during which import rises by d_imp Wh and export by d_exp Wh."""
        st = step or self.step
        n = seconds // st
        i0 = self.imp
        x0 = self.exp
        for i in range(1, n + 1):
            self.t += st
            self.mono += st
            self.imp = i0 + d_imp * i // n
            self.exp = x0 + d_exp * i // n
            self.read()
            r = self.c.tick(self.mono)
            if r is not None:
                self.decisions.append((self.t, r))

    def read(self):
        r = self.c.on_meter(self.t, self.imp, self.exp, self.mono)
        if r is not None:
            self.decisions.append((self.t, r))
        return r

    def silent(self, seconds, step=1):
        """Time passes (meter time and mono), no readings; tick every `step` s."""
        for _ in range(seconds // step):
            self.t += step
            self.mono += step
            r = self.c.tick(self.mono)
            if r is not None:
                self.decisions.append((self.t, r))


class Rng:
    """A tiny LCG: the same numbers on every Python (random's algorithms differ between ports)."""

    def __init__(self, seed):
        self.s = (seed * 2654435761 + 1) & 0x7fffffff

    def below(self, n):
        self.s = (self.s * 1103515245 + 12345) & 0x7fffffff
        return (self.s >> 8) % n


def fnv1a(h, text):
    for b in text.encode():
        h = ((h ^ b) * 16777619) & 0xffffffff
    return h


def _state_text(d):
    return ','.join(['%s=%r' % (k, d[k]) for k in sorted(d)])


def trace(seed=1, hours=24, step=10):
    """Replay a fixed, seeded day of everything that can happen to a plug; return (digest, hourly, stats).

    The input sequence depends only on `seed` (integer arithmetic only): base load changes, PV export, gaps
    in the meter data, counter glitches, stale readings, manual toggles, button presses, mode and interval
    changes, plug counter restarts and a reboot from the saved state. The digest is FNV-1a over one text
    line per decision and per boundary evaluation plus the final state: equal digests, equal decisions.
    `hourly` is the digest at the end of each hour (to find where two runs part).
    """
    rng = Rng(seed)
    s = settings(mode=True, interval_min=15, on_wh=-50, off_wh=150, failsafe_n=3)
    t = utc(2024, 3, 30, 12, 0)             # across the spring DST change
    mono = 500
    c = Controller(s, {'v': 1, 'relay': False}, now_mono=mono)
    imp_ws = 7000000 * 3600
    exp_ws = 0
    plug_ws = 0
    plug_base = 0
    base_w = 300
    app_w = 1800
    h = 0x811c9dc5
    hourly = []
    stats = {'decisions': 0, 'lines': 0}
    silent = 0
    glitch = 0
    last_seen = None
    total = {}
    n = hours * 3600 // step
    for i in range(n):
        if i % (900 // step) == 0:          # every quarter of an hour, something may happen
            base_w = rng.below(5000) - 2500
            ev = rng.below(20)
            if ev == 0:
                silent = 20 + rng.below(400)
            elif ev == 1:
                glitch = 1 + rng.below(2)
            elif ev == 2:
                r = c.manual_relay(rng.below(2) == 1)
                if r is not None:
                    h = fnv1a(h, 'manual %d %r\n' % (t, r))
            elif ev == 3:
                c.settings.press(('on+', 'on-', 'off+', 'off-', 'interval+', 'interval-')[rng.below(6)])
            elif ev == 4:
                c.set_mode(not c.settings.mode)
            elif ev == 5:
                c.settings.set('interval_min', (1, 5, 6, 7, 13, 15, 20, 60)[rng.below(8)])
            elif ev == 6:
                w = rng.below(400) - 200
                c.settings.set('on_wh', w)
                c.settings.set('off_wh', w if rng.below(2) else w + 150)
            elif ev == 7:
                plug_base = -(plug_ws * 10 // 36)   # the chip's counter restarts
            elif ev == 10:
                t += 40 + rng.below(60)             # the meter's clock steps ahead: a gap in meter time
            elif ev == 9:
                silent = 1800 + rng.below(5400)     # a long outage: fail-safe
            elif ev == 8:                           # reboot from flash
                for k in c.counters:
                    total[k] = total.get(k, 0) + c.counters[k]
                saved = c.state_for_flash()
                mono += 7
                c = Controller(s, saved, now_mono=mono)
                h = fnv1a(h, 'reboot %d %s\n' % (t, _state_text(saved)))
        net = base_w + (app_w if c.relay else 0)
        if net >= 0:
            imp_ws += net * step
        else:
            exp_ws -= net * step
        if c.relay:
            plug_ws += app_w * step
        t += step
        mono += step
        c.on_plug_energy(plug_ws * 10 // 36 + plug_base)
        r = None
        if silent > 0:
            silent -= step
        else:
            imp = imp_ws // 3600
            if glitch == 1:
                imp -= 3
            elif glitch == 2:
                imp += 5000
            glitch = 0
            r = c.on_meter(t, imp, exp_ws // 3600, mono)
            if rng.below(10) == 0:                  # the same reading again: stale
                c.on_meter(t, imp, exp_ws // 3600, mono)
        r2 = c.tick(mono)
        for x in (r, r2):
            if x is not None:
                stats['decisions'] += 1
                h = fnv1a(h, 'relay %d %r\n' % (t, x))
        last = c.last
        if last is not None and last is not last_seen:
            last_seen = last
            stats['lines'] += 1
            k = last['kind']
            stats[k] = stats.get(k, 0) + 1
            h = fnv1a(h, '%d %d %s %r %r %r %s\n' % (last['t'], last['boundary'], k, last['e_wh'],
                                                    last['c_mwh'], last['relay'], last['why']))
        if (i + 1) % (3600 // step) == 0:
            hourly.append(h)
    for k in sorted(c.counters):
        stats['c_' + k] = c.counters[k] + total.get(k, 0)
    h = fnv1a(h, _state_text(c.state_for_flash()) + _state_text(c.counters))
    return h, hourly, stats
