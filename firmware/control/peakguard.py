# Peak Guard: keep the running clock quarter's import under a kW cap by shedding the plug's appliance early
# enough, and restoring it when the projection leaves room (docs/peak-guard.md).
#
# Pure and MicroPython-valid: no I/O, no clock reads, integers only (W, Wh, W*s, s). Opt-in next to the
# manual's SmartMeter Mode, which is not changed: the guard only ever turns OFF an appliance that the plug
# would otherwise have ON (by hand or by SmartMeter Mode): relay = desired and not g.shed.
#
#   gs = GuardSettings()                      # defaults: off, cap auto (month's peak, >= 2.5 kW), ...
#   gs.set('cap_w', 4000) -> None | reason    # bounds as in control/settings.py; unchanged on error
#   g = PeakGuard(gs, plug_id='smartplug-a1b2c3', saved=None)
#   g.on_plug_power(w)                         # the plug's own measured power (W), to learn the load
#   ch = g.on_meter(t, import_wh, mono, desired, import_w=None, demand_w=None, peak_w=None, peers=None)
#       t: meter time (UTC s), import_wh: 1.8.1 + 1.8.2 (Wh), import_w: 1-0:1.7.0 (W), demand_w: 1-0:1.4.0
#       (W, either meaning), peak_w: 1-0:1.6.0 (W); peers: the SmartMeter's table of guarded plugs
#       (list of dicts from coordination) or None when it cannot be reached: decide alone.
#   ch = g.tick(mono, desired, failsafe_on)    # once a second: stale meter -> the plug's fail-safe state
#   ch is True/False when the guard's shed state changed (relay = desired and not g.shed), else None.
#   g.report()  -> dict the plug sends to the SmartMeter; g.status() -> dict for the page / API
#   g.log       -> the last LOG_MAX decisions, each a dict with a readable 'why'
#
# Rules (docs/peak-guard.md):
# - cap = the cap setting, or (0 = auto) the month's peak so far (the meter's 1-0:1.6.0 or the guard's own
#   closed quarters), never below FLOOR_W (2.5 kW, billed anyway).
# - E = import so far in this quarter: from the import registers (start estimated between the readings
#   around the boundary); when the start is not known (boot, gap) from 1-0:1.4.0 read as the meaning the
#   guard learned from the registers (ramp: energy so far x 4; average: mean power since the boundary),
#   the larger of both until learned; without 1.4.0 from the current power x elapsed time.
# - projection = E + P x rest of the quarter, P = the current import (1-0:1.7.0, else from the registers).
# - margin = every guarded enabled load x one reading period (an idle appliance can start between two
#   readings) + MARGIN_WH. Shed when the projection minus what shedding at the next reading would still
#   save (LATE_PCT of it) > cap - margin; with peers, counting the plugs less important than this one
#   (higher priority number; ties by id) that are running as shed now.
#   Alone: the threshold is lowered by ALONE_STEP_PPM per priority step, so the least important sheds first.
# - restore when projection + own load (+ the loads of more important shed plugs, with peers) fits under
#   cap - margin - RESTORE_HYST_WH.
# - back-loading (BACKLOAD): a plug that sees no other guarded plug and measures its appliance sheds as soon as
#   the quarter cannot take the appliance to its end, and restores only when it can run to the quarter's end
#   (while more than BACKLOAD_LEFT switches are left this hour): the appliance runs at the END of a quarter,
#   so a household jump during its run is met by shedding it, instead of adding to a quarter filled early.
# - never shed before min_on_s of running, never restore before min_off_s off; at most max_sw_h guard
#   switches in any hour, and a restore only with two switches left (a shed is always possible after it).
# - stale meter (no fresh reading for timeout_s = 30 s): the plug's fail-safe state (shed if the fail-safe
#   state is off), still after the minimum on/off times; the switch budget does not hold it back.
from firmware.apps.common.jsonw import shown
from firmware.control.peakguard_table import (CAP_MAX_W, FLOOR_W, PEER_MAX, QUARTER_S, STALE_S,  # noqa: F401
                                              Table, _is_int, check_peer, order_key)
from firmware.timebase import CET, local_fields

VERSION = 1
MARGIN_WH = 3           # register resolution (1 Wh) + interpolation
RESTORE_HYST_WH = 10    # restore only with this much room more than shedding needs
ALONE_STEP_PPM = 4000   # alone: 0.4 % of the cap lower threshold per priority step (up to 3.2 %)
UNKNOWN_LOAD_W = 3000   # an appliance not yet seen drawing is taken as 3 kW
LEARN_MIN_W = 20        # plug power above this counts as the appliance drawing
LOG_MAX = 12
LATE_PCT = 100          # how much of the appliance's remaining draw shedding later may count on (100: the
                        # last moment; less keeps a reserve for the household's own jumps: docs/peak-guard.md)
DELTA_S = 1             # a switch shows in the meter's power from the telegram after the next one
STEP_LO_PCT = 60        # an appliance the plug cannot see: a rise (fall) of the meter's import by 60 ... 140 %
STEP_HI_PCT = 140       # of its power while the contact is closed is its compressor starting (stopping)
BACKLOAD = True         # a plug alone on its meter runs an appliance it can see at the END of a quarter with
BACKLOAD_LEFT = 2       # room (docs/peak-guard.md), unless only this many switches are left this hour

# (key, default, label, lo, hi, unit). Order is the page's order.
FIELDS = (
    ('on', False, 'Peak Guard', None, None, ''),
    ('cap_w', 0, 'Peak Guard cap', FLOOR_W, CAP_MAX_W, 'W'),
    ('priority', 5, 'Peak Guard priority', 1, 9, ''),
    ('min_on_s', 300, 'Minimum on time', 0, 7200, 's'),
    ('min_off_s', 300, 'Minimum off time', 0, 7200, 's'),
    ('max_sw_h', 6, 'Max switches per hour', 2, 60, ''),
    ('load_w', 0, 'Appliance power', 0, 25000, 'W'),
)


def _field(key):
    for f in FIELDS:
        if f[0] == key:
            return f
    return None


def kw_text(w):
    """'4.600' for 4600 W (no floats)."""
    s = '-' if w < 0 else ''
    w = -w if w < 0 else w
    return '%s%d.%03d' % (s, w // 1000, w % 1000)


def check(key, value):
    """None if value is valid for guard setting key, else the reason (expected, got)."""
    f = _field(key)
    if f is None:
        return 'unknown Peak Guard setting %s: expected one of %s' % (shown(key), ', '.join([x[0] for x in FIELDS]))
    label = f[2]
    if key == 'on':
        if not isinstance(value, bool):
            return '%s: expected true or false, got %s' % (label, shown(value))
        return None
    if not _is_int(value):
        return '%s: expected an integer (%s), got %s' % (label, f[5] or 'number', shown(value))
    if key == 'cap_w':
        if value != 0 and (value < f[3] or value > f[4]):
            return '%s: expected 0 (auto: the month\'s peak so far, at least 2.5 kW) or %s ... %s kW ' \
                   'in W, got %d W; unchanged' % (label, kw_text(f[3]), kw_text(f[4]), value)
        return None
    if value < f[3] or value > f[4]:
        return '%s: expected %d ... %d%s, got %d; unchanged' % (label, f[3], f[4],
                                                                ' ' + f[5] if f[5] else '', value)
    return None


class GuardSettings:
    """Peak Guard's settings, always within bounds (change them through set)."""

    def __init__(self):
        for f in FIELDS:
            setattr(self, f[0], f[1])

    def set(self, key, value):
        err = check(key, value)
        if err is not None:
            return err
        setattr(self, key, value)
        return None

    def to_dict(self):
        d = {'v': VERSION}
        for f in FIELDS:
            d[f[0]] = getattr(self, f[0])
        return d

    def __eq__(self, other):
        if not isinstance(other, GuardSettings):
            return NotImplemented
        for f in FIELDS:
            if getattr(self, f[0]) != getattr(other, f[0]):
                return False
        return True


def from_dict(d):
    """(GuardSettings, errors) from a flash dict; bad or missing keys get defaults and an error line."""
    s = GuardSettings()
    errors = []
    if d is None:
        return s, errors
    if not isinstance(d, dict):
        return s, ['peak guard settings: expected a dict, got %s; defaults used' % (shown(d),)]
    for f in FIELDS:
        k = f[0]
        if k in d:
            err = s.set(k, d[k])
            if err is not None:
                errors.append('%s; default %s used' % (err, shown(f[1])))
    for k in d:
        if k != 'v' and _field(k) is None:
            errors.append('peak guard: unknown key %s ignored' % (shown(k),))
    return s, errors


def check_patch(obj):
    """None when every key of obj is a valid guard setting, else the first reason."""
    for k in obj:
        err = check(k, obj[k])
        if err is not None:
            return err
    return None


def cover_before(me_prio, me_id, peers):
    """W that running, not-shed peers shed before this plug can take off (they come first in the order)."""
    mine = order_key(me_prio, me_id)
    w = 0
    for p in peers:
        if p.get('id') == me_id or p.get('shed') or not p.get('on'):
            continue
        if order_key(p.get('priority', 5), p.get('id', '')) < mine:
            w += p.get('draw_w', 0)
    return w


def restore_before(me_prio, me_id, peers):
    """W of shed peers that come back before this plug (more important: later in the shedding order)."""
    mine = order_key(me_prio, me_id)
    w = 0
    for p in peers:
        if p.get('id') == me_id or not p.get('shed'):
            continue
        if order_key(p.get('priority', 5), p.get('id', '')) > mine:
            w += p.get('load_w', 0)
    return w


class PeakGuard:

    def __init__(self, settings, plug_id='plug', saved=None, now_mono=0, std=CET, timeout_s=STALE_S,
                 period_s=5):
        self.settings = settings
        self.plug_id = plug_id
        self.std = std
        self.timeout_s = timeout_s
        self.period_s = period_s      # expected time between readings (the margin for idle loads)
        self.shed = False
        self.failsafe = False
        self.log = []
        self.counters = {'readings': 0, 'refused': 0, 'sheds': 0, 'restores': 0, 'held_min_on': 0,
                         'held_min_off': 0, 'held_budget': 0, 'failsafe': 0, 'alone': 0, 'peers_bad': 0,
                         'quarters': 0}
        self.learned_w = 0            # the appliance's power while it drew, from the plug's chip
        self.draw_w = 0               # what the plug measures now
        self.month = None             # (y, m) of the month peak below
        self.month_peak_w = 0         # highest closed quarter of the month (own count or 1-0:1.6.0)
        self.source = None            # where E came from at the last reading
        self.d140 = None              # learned meaning of 1-0:1.4.0: 'ramp' or 'average'
        self._d140_err = [0, 0, 0]    # |ramp - registers|, |average - registers|, samples (W*s)
        self.last = None              # the last projection (dict) for the page
        self._prev = None             # (t, import_wh, mono) of the last fresh reading
        self._fresh_mono = now_mono
        self._q = None                # start of the running quarter
        self._q_wh = None             # import register at the quarter start, None = not known yet
        self._q_known = False         # _q_wh interpolated between readings around the boundary
        self._q_est_el = None         # else: seconds into the quarter when it was estimated
        self._power_w = 0
        self._out = None              # the output (desired and not shed) at the last call
        self._out_mono = now_mono - 100000   # when the output last changed (boot: long ago)
        self._switches = []           # mono times of guard switches in the last hour
        self._delta_w = 0             # power change of this plug's last switch, at meter time _delta_t:
        self._delta_t = None          # readings up to DELTA_S later do not show it yet
        self._want = False            # the plug would have the appliance on (by hand or SmartMeter Mode)
        self.running = False          # an appliance the plug cannot see: its run, inferred from the meter
        self._run_t = 0               # meter time that run started
        self._p_prev = None
        if saved is not None:
            self._restore(saved)

    # ---- inputs ----------------------------------------------------------------------------------
    def on_plug_power(self, w):
        """The plug's measured power (W): learns the appliance's load while it draws."""
        if not _is_int(w) or w < 0:
            self.counters['refused'] += 1
            return
        self.draw_w = w
        if w > LEARN_MIN_W:
            # follow the appliance's draw: up at once, down slowly (a thermostat's partial step)
            self.learned_w = w if w > self.learned_w else (self.learned_w * 7 + w) // 8

    def load_w(self):
        """The appliance's power for planning: the setting, else learned, else UNKNOWN_LOAD_W."""
        s = self.settings.load_w
        if s:
            return s
        return self.learned_w if self.learned_w else UNKNOWN_LOAD_W

    def unobservable(self):
        """True when the plug cannot see its appliance draw (a heat pump behind a PowerDetector: the power
        is given, the plug measures only the detector's coil)."""
        return self.settings.load_w > 0 and self.draw_w <= LEARN_MIN_W

    def cap_w(self):
        c = self.settings.cap_w
        if c:
            return c
        return self.month_peak_w if self.month_peak_w > FLOOR_W else FLOOR_W

    def on_meter(self, t, import_wh, mono, desired, import_w=None, demand_w=None, peak_w=None, peers=None):
        """A fresh SmartMeter reading; returns True/False when the shed state changed, else None."""
        if not (_is_int(t) and _is_int(import_wh)) or import_wh < 0:
            self.counters['refused'] += 1
            return None
        for v in (import_w, demand_w, peak_w):
            if v is not None and (not _is_int(v) or v < 0):
                self.counters['refused'] += 1
                return None
        prev = self._prev
        if prev is not None and t <= prev[0]:
            return None               # not fresh
        self.counters['readings'] += 1
        self._fresh_mono = mono
        self._want = bool(desired)
        self._track_output(self._want and not self.shed, mono)
        if self.failsafe:
            self.failsafe = False
            self._note(t, 'failsafe', 'meter readings back: Peak Guard decides again')
        gap = prev is None or t - prev[0] > self.timeout_s
        # current import power
        if import_w is not None:
            p = import_w
        elif not gap and t > prev[0]:
            p = (import_wh - prev[1]) * 3600 // (t - prev[0])
        else:
            p = self._power_w
        self._power_w = p
        self._infer_run(t, p, gap)
        if peers is not None:
            # switches other plugs made since their last reading are not in the meter's power yet
            for pe in peers:
                if not isinstance(pe, dict) or pe.get('id') == self.plug_id:
                    continue
                dw = pe.get('delta_w', 0)
                dt = pe.get('delta_t')
                if dw and _is_int(dw) and _is_int(dt) and 0 <= t - dt <= DELTA_S:
                    p += dw
            if p < 0:
                p = 0
        q = t - t % QUARTER_S
        if q != self._q:
            self._new_quarter(q, t, import_wh, prev, gap)
        self._month(t, peak_w)
        self._prev = (t, import_wh, mono)
        if not self.settings.on:
            self.last = None
            if self.shed:
                return self._set_shed(False, t, mono, 'Peak Guard switched off: appliance released', 0, 0)
            return None
        e_ws = self._energy_ws(t, import_wh, demand_w)
        if demand_w is not None and self._q_known:
            self._learn_140(t, import_wh, demand_w)
        rest = q + QUARTER_S - t
        proj_ws = e_ws + p * rest
        cap = self.cap_w()
        cap_ws = cap * QUARTER_S
        me_load = self.load_w()
        enabled = desired and not self.shed
        margin_ws = MARGIN_WH * 3600
        running = self.running
        if running and peers is not None:
            for pe in peers:
                if isinstance(pe, dict) and pe.get('id') != self.plug_id and pe.get('on'):
                    running = False         # guarded peers: its shed state tells them to leave it room
                    break
        committed = running and t - self._run_t < self.settings.min_on_s
        if enabled:
            if self.unobservable() and not running:
                # a compressor behind a PowerDetector may start any moment and then runs its minimum time
                run = self.settings.min_on_s if self.settings.min_on_s < rest else rest
                margin_ws += me_load * (run if run > self.period_s else self.period_s)
            else:
                margin_ws += me_load * self.period_s
        alone = peers is None
        if not alone:
            for pe in peers:
                if check_peer(pe) is not None:
                    self.counters['peers_bad'] += 1
                    alone = True
                    break
        if alone:
            self.counters['alone'] += 1
            shed_at = cap_ws - margin_ws - cap_ws * ALONE_STEP_PPM * (self.settings.priority - 1) // 1000000
        else:
            for pe in peers:
                if pe.get('id') != self.plug_id and pe.get('on') and not pe.get('shed'):
                    margin_ws += pe.get('load_w', 0) * self.period_s
            shed_at = cap_ws - margin_ws
        # back-loading: a plug that sees no other guarded plug, with an appliance it can measure
        backload = BACKLOAD and not self.unobservable()
        if backload and peers is not None:
            for pe in peers:
                if isinstance(pe, dict) and pe.get('id') != self.plug_id:
                    backload = False
                    break
        rec = {'t': t, 'quarter': q, 'e_wh': e_ws // 3600, 'projected_w': proj_ws // QUARTER_S, 'cap_w': cap,
               'source': self.source, 'power_w': p, 'alone': alone, 'priority': self.settings.priority}
        self.last = rec
        if not desired:
            return None               # nothing to guard: the appliance is off anyway
        d = self.period_s
        later = rest - d if rest > d else 0
        prio = self.settings.priority
        if not self.shed:
            # the last moment: shed now when running one more reading period (while the less important
            # plugs shed now) would leave no way to stay under the threshold
            me_draw = self.draw_w
            if committed:
                rec['why'] = ('its compressor started %d s ago (seen in the meter) and runs its minimum %d s '
                              'whatever the contact does: shedding would not help' % (
                                  t - self._run_t, self.settings.min_on_s))
                return None
            before = 0 if alone else cover_before(prio, self.plug_id, peers)
            late = LATE_PCT
            if backload and self._budget_left(mono) > BACKLOAD_LEFT:
                late = 0              # shed as soon as the quarter cannot take the appliance to its end
            after_ws = proj_ws - before * rest - me_draw * later * late // 100
            if after_ws <= shed_at:
                if before and proj_ws > shed_at:
                    rec['why'] = 'projected %s kW > %s kW: less important plugs shed first (%d W)' % (
                        kw_text(proj_ws // QUARTER_S), kw_text(shed_at // QUARTER_S), before)
                return None
            if late == 0:
                why = ('projected %s kW with this appliance to the quarter\'s end > %s kW (cap %s kW - '
                       'margin): shed now, back when it can run to a quarter\'s end; priority %d%s' % (
                           kw_text(proj_ws // QUARTER_S), kw_text(shed_at // QUARTER_S), kw_text(cap), prio,
                           ', SmartMeter not reachable: deciding alone' if alone else ''))
            elif alone:
                why = ('projected %s kW > %s kW (cap %s kW - margin) unless shed now; priority %d, '
                       'SmartMeter not reachable: deciding alone' % (kw_text(proj_ws // QUARTER_S),
                                                          kw_text(shed_at // QUARTER_S), kw_text(cap), prio))
            else:
                why = ('projected %s kW > %s kW (cap %s kW - margin) unless shed now; priority %d: less '
                       'important plugs running cover %d W' % (kw_text(proj_ws // QUARTER_S),
                                                              kw_text(shed_at // QUARTER_S), kw_text(cap),
                                                              prio, before))
            return self._try(True, t, mono, why, proj_ws // QUARTER_S, cap)
        # shed: restore when the appliance (after the more important shed ones) can run its minimum on time
        # (at least three reading periods) and still be shed in time
        chunk = self.settings.min_on_s
        if chunk < 3 * d:
            chunk = 3 * d
        if backload and chunk < rest:
            chunk = rest              # back-loading: only when it can run to the quarter's end

        over = chunk - rest if chunk > rest else 0   # the minimum on time reaching into the next quarter
        add = me_load
        if not alone:
            add += restore_before(prio, self.plug_id, peers)
        room_ws = shed_at - me_load * d - RESTORE_HYST_WH * 3600
        with_ws = proj_ws + add * (chunk - over)
        if with_ws > room_ws:
            return None
        if over and p * QUARTER_S + add * over > room_ws:
            if self.last is not None:
                self.last['why'] = ('room in this quarter, but the minimum on time runs %d s into the next '
                                    'one, where %d W now would leave none' % (over, p))
            return None
        why = ('room: projected %s kW with this %d W appliance for %d s%s <= %s kW (cap %s kW - margin); '
               'priority %d' % (kw_text(with_ws // QUARTER_S), me_load, chunk,
                                (' after %d W of more important plugs' % (add - me_load)) if add > me_load
                                else '', kw_text(room_ws // QUARTER_S), kw_text(cap), prio))
        return self._try(False, t, mono, why, with_ws // QUARTER_S, cap)

    def tick(self, mono, desired, failsafe_on=False):
        """Once a second: after timeout_s without a fresh reading, the plug's fail-safe state."""
        self._want = bool(desired)
        self._track_output(self._want and not self.shed, mono)
        if not self.settings.on or mono - self._fresh_mono < self.timeout_s:
            return None
        if not self.failsafe:
            self.failsafe = True
            self.counters['failsafe'] += 1
            self._note(None, 'failsafe', 'no meter reading for %d s: fail-safe rule, relay %s' % (
                self.timeout_s, 'on' if failsafe_on else 'off'))
        want_shed = not failsafe_on
        if want_shed == self.shed:
            return None
        if not desired:
            # nothing runs: take the fail-safe state without a switch
            self.shed = want_shed
            self._note(None, 'shed' if want_shed else 'restore', 'fail-safe while the appliance is off')
            return want_shed
        return self._try(want_shed, self._prev[0] if self._prev else None, mono,
                         'fail-safe: no meter reading for %d s' % self.timeout_s, None, self.cap_w(),
                         budget=False)

    # ---- outputs ---------------------------------------------------------------------------------
    def report(self):
        """What this plug tells the SmartMeter (one entry of its coordination table)."""
        return {'id': self.plug_id, 'priority': self.settings.priority, 'shed': self.shed,
                'on': self._want, 'load_w': self.load_w(),
                'draw_w': self._draw_report(), 'delta_w': self._delta_w, 'delta_t': self._delta_t}

    def _draw_report(self):
        if not self._want or self.shed:
            return 0
        if self._delta_w > self.draw_w:
            return self._delta_w      # just restored: not measured yet
        return self.draw_w

    def status(self, mono=None):
        s = self.settings
        d = {'on': s.on, 'shed': self.shed, 'failsafe': self.failsafe, 'cap_w': self.cap_w(),
             'cap_auto': s.cap_w == 0, 'month_peak_w': self.month_peak_w, 'priority': s.priority,
             'load_w': self.load_w(), 'learned_w': self.learned_w, 'source': self.source,
             'd140_meaning': self.d140, 'last': self.last, 'counters': self.counters, 'log': self.log,
             'running': self.running}
        if mono is not None:
            d['switches_last_hour'] = len([x for x in self._switches if mono - x < 3600])
        return d

    def state_for_flash(self):
        return {'v': VERSION, 'shed': self.shed, 'month': list(self.month) if self.month else None,
                'month_peak_w': self.month_peak_w, 'learned_w': self.learned_w, 'd140': self.d140}

    # ---- internals -------------------------------------------------------------------------------
    def _infer_run(self, t, p, gap):
        """An appliance the plug cannot see (load_w set, only a detector's coil measured): its compressor
        started when the meter's import rose by STEP_LO_PCT ... STEP_HI_PCT % of load_w while the contact
        was closed, and stopped at such a fall after its minimum run, or when the contact has been open
        longer than that run. A household step of the same size reads as a start too (docs/peak-guard.md)."""
        pp = self._p_prev
        self._p_prev = p
        if not self.unobservable() and not self.running:
            return
        load = self.load_w()
        lo = load * STEP_LO_PCT // 100
        hi = load * STEP_HI_PCT // 100
        out = self._want and not self.shed
        if gap or pp is None or (self.running and p < lo):   # the meter imports less than it would draw
            self.running = False
        elif not self.running:
            if out and lo <= p - pp <= hi:
                self.running = True
                self._run_t = t
        elif t - self._run_t >= self.settings.min_on_s - 2 * self.period_s and lo <= pp - p <= hi:
            self.running = False
        elif not out and t - self._run_t >= self.settings.min_on_s + 2 * self.period_s:
            self.running = False

    def _budget_left(self, mono):
        """Guard switches still allowed in the rolling hour."""
        n = 0
        for x in self._switches:
            if mono - x < 3600:
                n += 1
        return self.settings.max_sw_h - n

    def _note(self, t, kind, text, proj=None, cap=None):
        lg = self.log
        lg.append({'t': t, 'kind': kind, 'projected_w': proj, 'cap_w': cap,
                   'priority': self.settings.priority, 'why': text})
        if len(lg) > LOG_MAX:
            lg.pop(0)

    def _track_output(self, out, mono):
        if out != self._out:
            if self._out is not None:
                self._out_mono = mono
            self._out = out

    def _try(self, shed, t, mono, why, proj, cap, budget=True):
        s = self.settings
        since = mono - self._out_mono
        if shed and since < s.min_on_s:
            self.counters['held_min_on'] += 1
            if self.last is not None:
                self.last['why'] = 'wants to shed; held: on for %d s of minimum %d s' % (since, s.min_on_s)
            return None
        if not shed and since < s.min_off_s:
            self.counters['held_min_off'] += 1
            if self.last is not None:
                self.last['why'] = 'room to restore; held: off for %d s of minimum %d s' % (
                    since, s.min_off_s)
            return None
        sw = [x for x in self._switches if mono - x < 3600]
        self._switches = sw
        left = s.max_sw_h - len(sw)
        if budget and (left < 1 or (not shed and left < 2)):
            self.counters['held_budget'] += 1
            if self.last is not None:
                self.last['why'] = ('wants to %s; held: %d of %d switches used this hour%s' % (
                    'shed' if shed else 'restore', len(sw), s.max_sw_h,
                    ' (one kept for shedding)' if not shed else ''))
            return None
        return self._set_shed(shed, t, mono, why, proj, cap)

    def _set_shed(self, shed, t, mono, why, proj, cap):
        self.shed = shed
        if self._want:
            self._delta_w = -self.draw_w if shed else self.load_w()
            self._delta_t = t
        self._switches.append(mono)
        self.counters['sheds' if shed else 'restores'] += 1
        self._note(t, 'shed' if shed else 'restore', why, proj, cap)
        if self.last is not None:
            self.last['why'] = why
        self._track_output(self._want and not shed, mono)
        return shed

    def _new_quarter(self, q, t, imp, prev, gap):
        old_q, old_wh, old_known = self._q, self._q_wh, self._q_known
        self._q = q
        if not gap and prev[0] < q:
            # interpolate the register at the boundary between the two readings around it
            self._q_wh = prev[1] + (imp - prev[1]) * (q - prev[0]) // (t - prev[0])
            self._q_known = True
            if old_q is not None and old_wh is not None and old_known and old_q + QUARTER_S == q:
                self._close_quarter(old_q, (self._q_wh - old_wh) * 4)
        else:
            self._q_wh = None
            self._q_known = False
        self._q_est_el = None

    def _close_quarter(self, q, w):
        self.counters['quarters'] += 1
        f = local_fields(q, self.std)
        m = (f[0], f[1])
        if m != self.month:
            self.month = m
            self.month_peak_w = 0
        if w > self.month_peak_w:
            self.month_peak_w = w

    def _month(self, t, peak_w):
        f = local_fields(t - t % QUARTER_S, self.std)
        m = (f[0], f[1])
        if m != self.month:
            self.month = m
            self.month_peak_w = 0
        if peak_w is not None and peak_w > self.month_peak_w:
            self.month_peak_w = peak_w

    def _energy_ws(self, t, imp, demand_w):
        el = t - self._q
        if self._q_known:
            self.source = 'registers'
            return (imp - self._q_wh) * 3600
        if demand_w is not None:
            ramp = demand_w * QUARTER_S
            avg = demand_w * el
            if self.d140 == 'ramp':
                self.source = '1-0:1.4.0 (ramp)'
                return ramp
            if self.d140 == 'average':
                self.source = '1-0:1.4.0 (average)'
                return avg
            self.source = '1-0:1.4.0 (meaning not yet learned: the larger)'
            return ramp if ramp > avg else avg
        if self._q_wh is None:
            # the first reading of a quarter whose start was not seen: assume the power held since then
            self._q_wh = imp - self._power_w * el // 3600
        self.source = 'registers since %s s into the quarter (start estimated from the power)' % (
            self._q_est_el if self._q_est_el is not None else el)
        if self._q_est_el is None:
            self._q_est_el = el
        return (imp - self._q_wh) * 3600

    def _learn_140(self, t, imp, demand_w):
        el = t - self._q
        if el < 120:
            return
        e = (imp - self._q_wh) * 3600
        r = demand_w * QUARTER_S - e
        a = demand_w * el - e
        er = self._d140_err
        er[0] += r if r > 0 else -r
        er[1] += a if a > 0 else -a
        er[2] += 1
        if er[2] >= 3:
            self.d140 = 'ramp' if er[0] <= er[1] else 'average'

    def _restore(self, d):
        if not isinstance(d, dict):
            return
        if isinstance(d.get('shed'), bool):
            self.shed = d['shed']
        m = d.get('month')
        pk = d.get('month_peak_w')
        if (isinstance(m, list) and len(m) == 2 and _is_int(m[0]) and _is_int(m[1]) and _is_int(pk)
                and pk >= 0):
            self.month = (m[0], m[1])
            self.month_peak_w = pk
        lw = d.get('learned_w')
        if _is_int(lw) and 0 <= lw <= CAP_MAX_W:
            self.learned_w = lw
        if d.get('d140') in ('ramp', 'average'):
            self.d140 = d['d140']
