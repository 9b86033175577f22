# The SmartPlug's switching controller (SPEC.md "The switching controller", rules 1-8).
#
# Pure and MicroPython-valid: no I/O, no clock reads. Time comes in as arguments: the meter's timestamp
# (int UTC epoch seconds, from 0-0:1.0.0) and a monotonic clock of the plug (seconds, int or float).
# Energies are integers: meter registers in Wh, the plug's own energy in mWh.
#
#   c = Controller(settings, saved_state=None, now_mono=0)    # settings: firmware.control.settings.Settings
#   (timeout_s=30: Disconnected/gap timeout; a simulator feeding one reading a minute passes 60)
#   c.on_plug_energy(plug_mwh_total)    # the plug's cumulative energy (mWh), whenever the chip reports
#   c.on_meter(t_meter, import_wh, export_wh, now_mono)   # a reading from the SmartMeter -> decision
#   c.tick(now_mono)                    # at least once a second: Disconnected after 30 s, the fail-safe
#   c.set_mode(on)                      # SmartMeter Mode (or change c.settings with Settings.set)
#   c.manual_relay(on)                  # the page's Relay switch; always allowed
#   c.relay, c.connected, c.failsafe, c.daily.mwh, c.last, c.events, c.counters
#   c.state_for_flash() -> dict; Controller(settings, saved_state=that_dict) restores it
#
# on_meter, tick and manual_relay return the relay state to apply (True/False) when it changes, else None.
#
# Rules as implemented (docs/controller.md says the same for users):
# - Interval k is [b_k, b_{k+1}). For an interval that divides 60 min, b_k = k * I on the local clock
#   (15 min: :00 :15 :30 :45); local offsets are whole hours, so boundaries stay on clock quarters across
#   DST. Other intervals count from the anchor: the meter time of the first reading after SmartMeter Mode
#   went on (or the interval was changed): b_k = anchor + k * I.
# - A boundary is crossed by the first reading at or after it. E = (import delta - export delta) between
#   the readings that crossed the interval's two boundaries. At the crossing: relay off -> on when
#   E + C < ON; relay on -> off when E > OFF; else unchanged. C = the plug's own energy over its last
#   full ON interval (on at the crossing that started it, no switch inside) when ON == OFF, else 0;
#   C = 0 until the plug has had one full ON interval.
# - An interval is decided on only when it was measured whole: its start reading came at most timeout_s
#   (30 s) after its boundary and was the first at or after it, no two readings inside are more than
#   timeout_s apart (meter time and plug time), and the plug stayed Connected. So the first interval
#   after boot, a mode or interval change, or a data gap is only measured. Counters that run
#   backwards, or move more than MAX_W over the time between two readings plus SLACK_S (or over the
#   interval), void the interval: no decision at its end.
# - Disconnected when no fresh reading (a meter time later than the last one) came for timeout_s (tick).
#   In SmartMeter Mode, failsafe_n * interval without a fresh reading (since the last one, or boot) puts
#   the relay in the fail-safe state once; manual switching stays possible; it ends with the next fresh
#   reading, after which the first interval is only measured.
# - Reboot: the relay comes back as saved, unless the saved state was in fail-safe (then the fail-safe
#   state); with no saved state at all, the fail-safe state. Daily Energy, C and the anchor come back too.
from firmware.apps.common.jsonw import shown
from firmware.control.daily import DailyEnergy
from firmware.control.settings import kwh_text
from firmware.timebase import CET, iso_utc

DISCONNECT_S = 30   # SmartMeter Status turns Disconnected after this long without a fresh reading, and
                    # readings further apart than this are a gap in the data (the timeout_s default)
MAX_W = 60000       # more than 60 kW average import + export is implausible for a household connection
SLACK_S = 10        # per-reading allowance at MAX_W for register quantisation (0.1 kWh steps pass)
EVENTS_MAX = 16     # the controller keeps its last few events for the page/log
STATE_VERSION = 1

COUNTERS = ('readings', 'stale', 'refused', 'gaps', 'backwards', 'jumps', 'boundaries', 'decisions',
            'switches', 'voided', 'measured_only', 'failsafe', 'manual', 'plug_back', 'plug_refused')


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def decide(relay, e_wh, c_mwh, on_wh, off_wh):
    """Rule 2, pure: the new relay state (True/False) or None to keep it. e in Wh, c in mWh."""
    if relay:
        return False if e_wh > off_wh else None
    return True if e_wh * 1000 + c_mwh < on_wh * 1000 else None


def _mwh_text(mwh):
    s = '-' if mwh < 0 else ''
    mwh = -mwh if mwh < 0 else mwh
    return s + kwh_text((mwh + 500) // 1000)


class Controller:

    def __init__(self, settings, saved_state=None, now_mono=0, std=CET, timeout_s=DISCONNECT_S):
        self.settings = settings
        self.timeout_s = timeout_s
        self.std = std
        self._off = std * 60
        self.relay = settings.failsafe_on
        self.connected = False
        self.failsafe = False
        self.events = []
        self.last = None            # the last boundary evaluation (dict), for the page and the log
        self.counters = {}
        for k in COUNTERS:
            self.counters[k] = 0
        self.restore_errors = []
        self.c_mwh = None           # the plug's energy over its last full ON interval
        self.daily = DailyEnergy(std=std)
        self._prev = None           # last fresh reading: (t, import_wh, export_wh, mono)
        self._fresh_mono = now_mono  # mono time of the last fresh reading (boot counts as one)
        self._mode = settings.mode
        self._interval = settings.interval_min
        self._anchor = None         # meter time of b_0 for intervals that do not divide 60 min
        self._k = None              # index of the interval the last reading fell in; None = (re)start
        self._start = None          # (t, import, export) that started interval _k, None = not measured whole
        self._void = None           # why interval _k is void, or None
        self._plug_last = None      # the plug's last reported cumulative energy (mWh)
        self._plug = 0              # the plug's energy since boot (mWh), immune to its counter restarting
        self._plug_start = None     # _plug at the start of interval _k, None = not a full interval
        self._on_whole = False      # relay on since the start of interval _k, without a switch
        if saved_state is not None:
            self._restore(saved_state)

    # ---- inputs ----------------------------------------------------------------------------------
    def on_plug_energy(self, plug_mwh):
        """The plug's cumulative measured energy in mWh (from the metering chip)."""
        if not _is_int(plug_mwh) or plug_mwh < 0:
            self.counters['plug_refused'] += 1
            self._event(None, 'refused', 'plug energy refused: expected an integer mWh >= 0, got %s'
                        % (shown(plug_mwh),))
            return
        last = self._plug_last
        self._plug_last = plug_mwh
        if last is None:
            return
        d = plug_mwh - last
        if d < 0:
            # the chip's counter restarted: count from the new value on, lose nothing already counted
            self.counters['plug_back'] += 1
            self._event(None, 'plug', 'plug energy counter went back from %d to %d mWh: counting on '
                        'from the new value' % (last, plug_mwh))
            return
        self._plug += d
        self.daily.add(d)

    def on_meter(self, t, import_wh, export_wh, now_mono):
        """A reading from the SmartMeter: its timestamp and cumulative registers (all tariffs, Wh)."""
        cn = self.counters
        if not (_is_int(t) and _is_int(import_wh) and _is_int(export_wh)) or import_wh < 0 or export_wh < 0:
            cn['refused'] += 1
            self._event(None, 'refused', 'meter reading refused: expected integers t, import_wh >= 0, '
                        'export_wh >= 0, got %s, %s, %s' % (shown(t), shown(import_wh), shown(export_wh)))
            return None
        self._check_settings()
        prev = self._prev
        timeout = self.timeout_s
        lost = now_mono - self._fresh_mono > timeout
        if prev is not None and t <= prev[0]:
            if t == prev[0] or not lost:
                cn['stale'] += 1        # not fresh: the same or an older meter time
                return None
            # Disconnected, and the meter's clock now stands earlier: start over from this reading.
            self._event(t, 'clock', "meter clock went back from %s to %s: starting over" % (
                iso_utc(prev[0]), iso_utc(t)))
            prev = None
        gap = prev is None or lost or t - prev[0] > timeout
        anomaly = None
        if not gap:
            di = import_wh - prev[1]
            dx = export_wh - prev[2]
            if di < 0 or dx < 0:
                cn['backwards'] += 1
                anomaly = ('counters ran backwards between %s and %s: import %d -> %d Wh, '
                           'export %d -> %d Wh') % (
                    iso_utc(prev[0]), iso_utc(t), prev[1], import_wh, prev[2], export_wh)
            elif (di + dx) * 3600 > MAX_W * (t - prev[0] + SLACK_S):
                cn['jumps'] += 1
                anomaly = 'counters jumped %d Wh in %d s between %s and %s: expected at most %d W average' % (
                    di + dx, t - prev[0], iso_utc(prev[0]), iso_utc(t), MAX_W)
        cn['readings'] += 1
        self._prev = (t, import_wh, export_wh, now_mono)
        self._fresh_mono = now_mono
        if not self.connected:
            self.connected = True
            self._event(t, 'connected', 'SmartMeter Connected')
        if self.failsafe:
            self.failsafe = False
            self._event(t, 'failsafe', 'meter data back: fail-safe ended, the next whole interval is only '
                        'measured')
        self.daily.clock(t)
        if not self._mode:
            return None
        if gap and self._k is not None:
            cn['gaps'] += 1
            self._event(t, 'gap', 'no meter data before %s: interval void, the next whole interval is only '
                        'measured' % iso_utc(t))
            self._k = None
        if self._k is None:
            self._begin(t, import_wh, export_wh, prev)
            return None
        if anomaly is not None:
            self._event(t, 'void', anomaly)
            if self._void is None:
                self._void = anomaly
        k = self._index(t)
        if k == self._k:
            return None
        return self._boundary_crossed(k, t, import_wh, export_wh)

    def tick(self, now_mono):
        """Call at least once a second: SmartMeter Status, the fail-safe, Daily Energy at midnight."""
        self._check_settings()
        if now_mono - self._fresh_mono < self.timeout_s:
            return None
        if self.connected:
            self.connected = False
            self._k = None
            self._event(None, 'disconnected', 'SmartMeter Disconnected: no fresh reading for %d s'
                        % self.timeout_s)
        prev = self._prev
        if prev is not None:    # keep Daily Energy on the meter's clock, extrapolated from the last reading
            self.daily.clock(prev[0] + int(now_mono - prev[3]))
        s = self.settings
        silent = now_mono - self._fresh_mono
        if self._mode and not self.failsafe and silent >= s.failsafe_n * s.interval_min * 60:
            self.failsafe = True
            self.counters['failsafe'] += 1
            self._event(None, 'failsafe', 'no meter data for %d intervals of %d min: fail-safe, relay %s' % (
                s.failsafe_n, s.interval_min, 'on' if s.failsafe_on else 'off'))
            if self.relay != s.failsafe_on:
                self.relay = s.failsafe_on
                self._on_whole = False
                self.counters['switches'] += 1
                return self.relay
        return None

    def set_mode(self, on):
        """SmartMeter Mode on/off (same as settings.set('mode', on)); None or the reason it was refused."""
        err = self.settings.set('mode', on)
        if err is None:
            self._check_settings()
        return err

    def manual_relay(self, on):
        """The page's Relay switch. Always obeyed; in SmartMeter Mode the next boundary may override it."""
        on = bool(on)
        self.counters['manual'] += 1
        changed = on != self.relay
        self.relay = on
        if changed:
            self._on_whole = False
        self._event(self._prev[0] if self._prev else None, 'manual', 'relay %s by hand%s' % (
            'on' if on else 'off', '; the next boundary may override it' if self._mode else ''))
        return on if changed else None

    # ---- outputs ---------------------------------------------------------------------------------
    def meter(self):
        """The last reading (t, import_wh, export_wh) while Connected; None when it would be stale."""
        if not self.connected or self._prev is None:
            return None
        return self._prev[0], self._prev[1], self._prev[2]

    def state_for_flash(self):
        """What must survive a reboot, as a small JSON-able dict (write it when relay or day changes,
        and every few minutes for Daily Energy)."""
        return {'v': STATE_VERSION, 'relay': self.relay, 'failsafe': self.failsafe, 'day': self.daily.day,
                'daily_mwh': self.daily.mwh, 'c_mwh': self.c_mwh, 'anchor': self._anchor,
                'interval_min': self._interval}

    # ---- internals -------------------------------------------------------------------------------
    def _event(self, t, kind, text):
        ev = self.events
        ev.append((t, kind, text))
        if len(ev) > EVENTS_MAX:
            ev.pop(0)

    def _check_settings(self):
        s = self.settings
        if s.mode == self._mode and s.interval_min == self._interval:
            return
        if s.interval_min != self._interval:
            self.c_mwh = None       # measured over another interval length
            self._interval = s.interval_min
            self._event(None, 'settings', 'interval %d min: the next whole interval is only measured'
                        % s.interval_min)
        if s.mode != self._mode:
            self._mode = s.mode
            self._event(None, 'mode', 'SmartMeter Mode %s' % (
                'on: the next whole interval is only measured' if s.mode else 'off: no automatic switching'))
            if not s.mode:
                self.failsafe = False
        self._anchor = None
        self._k = None

    def _index(self, t):
        size = self._interval * 60
        if self._anchor is None:
            return (t + self._off) // size
        return (t - self._anchor) // size

    def _bound(self, k):
        size = self._interval * 60
        if self._anchor is None:
            return k * size - self._off
        return self._anchor + k * size

    def _begin(self, t, imp, exp, prev):
        # (Re)start interval tracking at this reading: boot, mode or interval change, gap, disconnection.
        if self._anchor is None and 60 % self._interval != 0:
            self._anchor = t
        k = self._index(t)
        b = self._bound(k)
        self._k = k
        self._void = None
        if t - b <= self.timeout_s and (prev is None or prev[0] < b):
            self._start = (t, imp, exp)
            self._plug_start = self._plug if self._plug_last is not None else None
            self._on_whole = self.relay
        else:
            self._start = None
            self._plug_start = None
            self._on_whole = False

    def _boundary_crossed(self, k, t, imp, exp):
        cn = self.counters
        cn['boundaries'] += 1
        s = self.settings
        ended = self._k
        b_end = self._bound(ended + 1)
        void = self._void
        if k != ended + 1:
            void = 'boundaries after %s crossed without a reading' % iso_utc(b_end)
        rec = {'t': t, 'boundary': b_end, 'on_wh': s.on_wh, 'off_wh': s.off_wh, 'e_wh': None, 'c_mwh': None,
               'before': self.relay, 'relay': self.relay}
        new = None
        st = self._start
        if st is None:
            cn['measured_only'] += 1
            rec['kind'] = 'measured'
            rec['why'] = 'first interval after boot, mode change or gap: only measured'
        elif void is not None:
            cn['voided'] += 1
            rec['kind'] = 'void'
            rec['why'] = void
        else:
            di = imp - st[1]
            dx = exp - st[2]
            e = di - dx
            rec['e_wh'] = e
            if (di + dx) * 3600 > MAX_W * (t - st[0]):
                cn['voided'] += 1
                cn['jumps'] += 1
                rec['kind'] = 'void'
                rec['why'] = 'counters moved %d Wh in %d s: expected at most %d W average' % (
                    di + dx, t - st[0], MAX_W)
            else:
                cn['decisions'] += 1
                c = self.c_mwh if (s.on_wh == s.off_wh and self.c_mwh is not None) else 0
                rec['c_mwh'] = c
                new = decide(self.relay, e, c, s.on_wh, s.off_wh)
                rec['kind'] = 'switch' if new is not None else 'keep'
                rec['why'] = self._why(e, c, s, new)
        if rec['kind'] == 'void':
            self._event(t, 'void', rec['why'])
        # C: the plug's energy over this interval if it was a full ON interval
        if self._plug_start is not None and self._on_whole and k == ended + 1:
            self.c_mwh = self._plug - self._plug_start
        if new is not None:
            self.relay = new
            cn['switches'] += 1
            self._event(t, 'switch', rec['why'])
        rec['relay'] = self.relay
        self.last = rec
        # the crossing reading starts interval k
        self._k = k
        self._void = None
        self._start = (t, imp, exp)
        self._plug_start = self._plug if self._plug_last is not None else None
        self._on_whole = self.relay
        return new

    def _why(self, e, c, s, new):
        if self.relay:
            if new is None:
                return 'E %s kWh <= OFF %s kWh: stays on' % (kwh_text(e), kwh_text(s.off_wh))
            return 'E %s kWh > OFF %s kWh: relay off' % (kwh_text(e), kwh_text(s.off_wh))
        if c:
            lhs = 'E + C = %s + %s = %s kWh' % (kwh_text(e), _mwh_text(c), _mwh_text(e * 1000 + c))
        else:
            lhs = 'E %s kWh' % kwh_text(e)
        if new is None:
            return '%s >= ON %s kWh: stays off' % (lhs, kwh_text(s.on_wh))
        return '%s < ON %s kWh: relay on' % (lhs, kwh_text(s.on_wh))

    def _restore(self, d):
        err = self.restore_errors
        if not isinstance(d, dict):
            err.append('saved state: expected a dict, got %s; relay in its fail-safe state' % (shown(d),))
            return
        if d.get('v') != STATE_VERSION:
            err.append('saved state v: expected %d, got %s; keys read as version %d' % (
                STATE_VERSION, shown(d.get('v')), STATE_VERSION))
        s = self.settings
        relay = d.get('relay')
        if isinstance(relay, bool):
            self.relay = relay
        else:
            err.append('saved relay: expected true or false, got %s; fail-safe state used' % (shown(relay),))
        fs = d.get('failsafe', False)
        if not isinstance(fs, bool):
            err.append('saved failsafe: expected true or false, got %s; false used' % (shown(fs),))
            fs = False
        if fs and s.mode:
            self.failsafe = True
            self.relay = s.failsafe_on
        day = d.get('day')
        mwh = d.get('daily_mwh', 0)
        if day is not None and not _is_int(day):
            err.append('saved day: expected a day number or null, got %s; Daily Energy restarts' % (shown(day),))
        elif not _is_int(mwh) or mwh < 0:
            err.append('saved daily_mwh: expected an integer >= 0, got %s; Daily Energy restarts' % (shown(mwh),))
        elif day is not None:
            self.daily = DailyEnergy(day, mwh, self.std)
        same_interval = d.get('interval_min') == s.interval_min
        c = d.get('c_mwh')
        if c is not None and (not _is_int(c) or c < 0):
            err.append('saved c_mwh: expected an integer >= 0 or null, got %s; C unknown' % (shown(c),))
        elif same_interval:
            self.c_mwh = c
        a = d.get('anchor')
        if a is not None and not _is_int(a):
            err.append('saved anchor: expected meter seconds or null, got %s; boundaries restart' % (shown(a),))
        elif same_interval and 60 % s.interval_min != 0:
            self._anchor = a
