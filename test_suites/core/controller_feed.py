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
