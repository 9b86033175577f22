# The SmartPlug as a pure state machine: its settings, the switching controller, the metering chip's
# decoder, the relay and the HomeWizard switch lock. No I/O, no clock reads: the app feeds it UART bytes,
# meter readings and the time, applies `relay_out()` to the relay GPIO and saves `settings_dict()` /
# `state_dict()` to flash when they change.
#
#   p = Plug(saved_settings, saved_state, now_ms)      # dicts from flash, or None on a first boot
#   p.feed_chip(uart_bytes, now_ms)                     # CSE7766 bytes -> V, I, P, plug energy
#   p.on_meter(t, import_wh, export_wh, now_ms)         # a fresh SmartMeter reading -> controller
#   p.tick(now_ms)                                      # once a second: Disconnected, fail-safe, midnight
#   p.switch('relay', 'toggle') / p.press('on+') / p.set_number('threshold_on', '0.630') / p.put_state(obj)
#       -> (status, message): 200 and '' when done; 400/404 and what was expected, what came; nothing changed
#
# Rules this module adds to the controller's (docs/smartplug.md):
# - Voltage, Current and Power are shown only while the chip is talking: no accepted frame for CHIP_STALE_MS
#   blanks them (a stale value is never shown as current).
# - switch_lock (HomeWizard API) freezes the relay: every manual request to change it is refused (400), and
#   a SmartMeter Mode decision or the fail-safe that would change it is held back (counted, logged).
# - At boot the relay is what the controller restores (the saved state): a reboot never switches by itself.
from firmware.apps.common.jsonw import shown
from firmware.apps.smartplug import entities
from firmware.control import peakguard
from firmware.control.controller import Controller
from firmware.control.settings import FIELDS, Settings, check, from_dict
from firmware.fixed import is_digits
from firmware.metering.cse7766 import Cse7766
from firmware.timebase import CET

CHIP_STALE_MS = 5000
LOG_MAX = 20
STATE_VERSION = 1
HW_KEYS = ('power_on', 'switch_lock', 'brightness')


class Plug:

    def __init__(self, saved_settings=None, saved_state=None, now_ms=0, std=CET, log=None, saved_guard=None,
                 plug_id='smartplug'):
        self.log_lines = []
        self._log_fn = log
        self.counters = {'refused': 0, 'lock_held': 0, 'relay_switches': 0, 'presses': 0,
                         'settings_errors': 0, 'state_errors': 0}
        if saved_settings is None:
            s = Settings()
        else:
            s, errors = from_dict(saved_settings)
            for e in errors:
                self.counters['settings_errors'] += 1
                self.log('settings: ' + e)
        st = saved_state if isinstance(saved_state, dict) else None
        if saved_state is not None and st is None:
            self.counters['state_errors'] += 1
            self.log('state: expected a dict, got %s; relay in its fail-safe state' % (shown(saved_state),))
        self.lock = False
        self.brightness = 255
        total = 0
        if st is not None:
            lk = st.get('switch_lock', False)
            if isinstance(lk, bool):
                self.lock = lk
            else:
                self._state_error('switch_lock: expected true or false, got %s; false used' % (shown(lk),))
            br = st.get('brightness', 255)
            if isinstance(br, int) and not isinstance(br, bool) and 0 <= br <= 255:
                self.brightness = br
            else:
                self._state_error('brightness: expected 0 ... 255, got %s; 255 used' % (shown(br),))
            tot = st.get('total_mwh', 0)
            if isinstance(tot, int) and not isinstance(tot, bool) and tot >= 0:
                total = tot
            else:
                self._state_error('total_mwh: expected an integer >= 0, got %s; 0 used' % (shown(tot),))
        self.ctl = Controller(s, st.get('ctl') if st is not None else None, now_mono=now_ms // 1000, std=std)
        for e in self.ctl.restore_errors:
            self._state_error(e)
        self.settings = s
        gs, gerr = peakguard.from_dict(saved_guard)
        for e in gerr:
            self.counters['settings_errors'] += 1
            self.log('peak guard settings: ' + e)
        self.guard = peakguard.PeakGuard(gs, plug_id=plug_id, now_mono=now_ms // 1000, std=std,
                                         saved=st.get('guard') if st is not None else None)
        self._guard_logged = 0
        self.chip = Cse7766(energy_mwh=total)
        self._chip_ms = None
        self._locked_relay = self.ctl.relay
        self._last_ev = None
        self._drain_events()

    # ---- log -------------------------------------------------------------------------------------
    def log(self, text):
        ll = self.log_lines
        ll.append(text)
        if len(ll) > LOG_MAX:
            ll.pop(0)
        if self._log_fn is not None:
            self._log_fn(text)

    def _state_error(self, text):
        self.counters['state_errors'] += 1
        self.log('state: ' + text)

    # ---- inputs ----------------------------------------------------------------------------------
    def feed_chip(self, data, now_ms):
        """UART bytes from the CSE7766; returns how many frames updated the readings."""
        n = self.chip.feed(data, now_ms)
        if n:
            self._chip_ms = now_ms
            self.ctl.on_plug_energy(self.chip.energy_mwh)
            self.guard.on_plug_power(self.chip.power_mw // 1000)
        return n

    def on_meter(self, t, import_wh, export_wh, now_ms, extra=None):
        """A SmartMeter reading (meter time t, cumulative registers in Wh); extra: Peak Guard's part of the
        SmartMeter's answer (import_w, demand_w, peak_w, peers) or None (a SmartMeter without coordination:
        Peak Guard decides alone)."""
        self.ctl.on_meter(t, import_wh, export_wh, now_ms // 1000)
        e = extra or {}
        self.guard.on_meter(t, import_wh, now_ms // 1000, self.ctl.relay, import_w=e.get('import_w'),
                            demand_w=e.get('demand_w'), peak_w=e.get('peak_w'), peers=e.get('peers'))
        self._after_controller()

    def tick(self, now_ms):
        self.ctl.tick(now_ms // 1000)
        self.guard.tick(now_ms // 1000, self.ctl.relay, self.settings.failsafe_on)
        self._after_controller()

    def _after_controller(self):
        if self.lock and self.ctl.relay != self._locked_relay:
            self.counters['lock_held'] += 1
            want = self.ctl.relay
            self.log('switch_lock: the controller wanted the relay %s; held %s' % (
                entities.on_off(want), entities.on_off(self._locked_relay)))
            self.ctl.manual_relay(self._locked_relay)
        self._drain_events()

    def _drain_events(self):
        # copy the controller's new events to the log (its list keeps the last few; tuples are unique)
        ev = self.ctl.events
        i = len(ev)
        while i > 0 and ev[i - 1] is not self._last_ev:
            i -= 1
        for j in range(i, len(ev)):
            self.log('controller: ' + ev[j][2])
        if ev:
            self._last_ev = ev[-1]
        n = self.guard.counters['sheds'] + self.guard.counters['restores'] + self.guard.counters['failsafe']
        if n != self._guard_logged and self.guard.log:
            self._guard_logged = n
            self.log('peak guard: %s: %s' % (self.guard.log[-1]['kind'], self.guard.log[-1]['why']))

    # ---- what the page and the APIs show ----------------------------------------------------------
    def chip_fresh(self, now_ms):
        return self._chip_ms is not None and now_ms - self._chip_ms < CHIP_STALE_MS

    def voltage_mv(self, now_ms):
        return self.chip.voltage_mv if self.chip_fresh(now_ms) else None

    def current_ma(self, now_ms):
        return self.chip.current_ma if self.chip_fresh(now_ms) else None

    def power_mw(self, now_ms):
        return self.chip.power_mw if self.chip_fresh(now_ms) else None

    def relay_out(self):
        """The state the relay GPIO must have now: the controller's (or the hand's), unless Peak Guard sheds
        (switch_lock holds Peak Guard too)."""
        if self.lock:
            return self.ctl.relay
        return self.ctl.relay and not self.guard.shed

    def row_state(self, e, now_ms):
        """The State column's text for entity e (entities.Entity)."""
        w = e.what
        s = self.settings
        if w == 'voltage':
            return entities.volts_text(self.voltage_mv(now_ms))
        if w == 'current':
            return entities.amps_text(self.current_ma(now_ms))
        if w == 'power':
            return entities.watts_text(self.power_mw(now_ms))
        if w == 'daily':
            return entities.daily_text(self.ctl.daily.mwh)
        if w == 'on_wh' or w == 'off_wh':
            return entities.kwh3_text(getattr(s, w))
        if w == 'interval_min':
            return '%d min' % s.interval_min
        if w == 'mode':
            return entities.on_off(s.mode)
        if w == 'relay':
            return entities.on_off(self.ctl.relay)
        if w == 'status':
            return 'Connected' if self.ctl.connected else 'Disconnected'
        if w[:3] == 'pg_':
            return self.guard_row(w)
        return 'OFF'  # the +/- switches act once and stay OFF

    def guard_row(self, w):
        g = self.guard
        gs = g.settings
        if w == 'pg_on':
            return entities.on_off(gs.on)
        if w == 'pg_cap':
            return '%s kW%s' % (peakguard.kw_text(g.cap_w()), ' (auto: month peak, at least 2.5 kW)'
                                if gs.cap_w == 0 else '')
        if w == 'pg_priority':
            return '%d (1 = shed last, 9 = shed first)' % gs.priority
        if w == 'pg_status':
            if not gs.on:
                return 'off'
            if g.failsafe:
                return 'fail-safe: no meter reading'
            last = g.last
            q = '' if last is None else ', quarter projected %s kW of %s kW (%s)' % (
                peakguard.kw_text(last['projected_w']), peakguard.kw_text(last['cap_w']), last['source'])
            return ('shed' if g.shed else 'running') + q
        if w == 'pg_last':
            return g.log[-1]['why'] if g.log else 'no switch yet'
        return ''

    def warnings(self):
        w = self.settings.warnings()
        if self.lock:
            w.append('switch_lock is on: the relay stays %s until the lock is released' % entities.on_off(
                self.ctl.relay))
        return w

    # ---- actions: (status, message) --------------------------------------------------------------
    def _refuse(self, status, msg):
        self.counters['refused'] += 1
        self.log('refused: ' + msg)
        return status, msg

    def set_relay(self, on, source):
        """Manual relay change (page, ESPHome REST, HomeWizard API)."""
        if on == self.ctl.relay:
            return 200, ''
        if self.lock:
            return self._refuse(400, '%s: relay %s refused: switch_lock is on (expected switch_lock false '
                                'before a relay change; relay stays %s)' % (
                                    source, entities.on_off(on), entities.on_off(self.ctl.relay)))
        self.ctl.manual_relay(on)
        self.counters['relay_switches'] += 1
        self.log('%s: relay %s' % (source, entities.on_off(on)))
        self._drain_events()
        return 200, ''

    def press(self, button, source='page'):
        err = self.settings.press(button)
        if err is not None:
            return self._refuse(400, '%s: %s' % (source, err))
        self.counters['presses'] += 1
        self.log('%s: %s' % (source, button))
        return 200, ''

    def switch(self, oid, action, source='rest'):
        """ESPHome switch action ('toggle', 'turn_on', 'turn_off') on entity object id oid."""
        e = entities.find(entities.SWITCH, oid)
        if e is None:
            return self._refuse(404, 'no switch %s: expected one of %s' % (shown(oid), ', '.join(
                [x.oid for x in entities.ENTITIES if x.domain == entities.SWITCH])))
        if action not in ('toggle', 'turn_on', 'turn_off'):
            return self._refuse(404, 'switch %s: no action %s: expected toggle, turn_on or turn_off' % (
                oid, shown(action)))
        if e.is_button():
            if action == 'turn_off':
                return 200, ''   # it is always OFF
            return self.press(e.what, source)
        if e.what == 'pg_on':
            on = (not self.guard.settings.on) if action == 'toggle' else action == 'turn_on'
            return self.put_guard({'on': on}, source)
        if e.what == 'mode':
            on = (not self.settings.mode) if action == 'toggle' else action == 'turn_on'
            err = self.ctl.set_mode(on)
            if err is not None:
                return self._refuse(400, err)
            self.log('%s: SmartMeter Mode %s' % (source, entities.on_off(on)))
            return 200, ''
        on = (not self.ctl.relay) if action == 'toggle' else action == 'turn_on'
        return self.set_relay(on, source)

    def button(self, oid, action, source='rest'):
        e = entities.find('button', oid)
        if e is None:
            return self._refuse(404, 'no button %s: expected one of %s' % (shown(oid), ', '.join(
                [x.oid for x in entities.ENTITIES if x.is_button()])))
        if action != 'press':
            return self._refuse(404, 'button %s: no action %s: expected press' % (oid, shown(action)))
        return self.press(e.what, source)

    def set_number(self, oid, text, source='rest'):
        """ESPHome number set: thresholds in kWh text ('-0.160'), interval in whole minutes."""
        n = entities.NUMBERS.get(oid)
        if n is None:
            return self._refuse(404, 'no number %s: expected one of %s' % (
                shown(oid), ', '.join(sorted(entities.NUMBERS))))
        key = n[0]
        if text is None:
            return self._refuse(400, 'number %s: expected a value parameter, got none' % oid)
        if key == 'interval_min':
            t = text.strip()
            if t.endswith('.0'):
                t = t[:-2]
            if not (is_digits(t) or (t[:1] == '-' and is_digits(t[1:]))) or len(t) > 6:
                return self._refuse(400, 'number %s: expected whole minutes 1 ... 60, got %s' % (oid, shown(text)))
            err = self.settings.set(key, int(t))
        else:
            err = self.settings.set_kwh(key, text.strip())
        if err is not None:
            return self._refuse(400, 'number %s: %s' % (oid, err))
        self.log('%s: %s = %s' % (source, oid, text))
        return 200, ''

    def put_settings(self, obj, source='rest'):
        """Several settings at once ({key: value}, keys of control.settings.FIELDS): all or nothing."""
        if not isinstance(obj, dict) or not obj:
            return self._refuse(400, 'expected a JSON object of settings (%s), got %s' % (
                ', '.join([f[0] for f in FIELDS]), shown(obj)))
        for k in sorted(obj):   # the same first error on both interpreters (dict order differs)
            err = check(k, obj[k])
            if err is not None:
                return self._refuse(400, err)
        mode = obj.get('mode')
        for k in obj:
            if k != 'mode':
                self.settings.set(k, obj[k])
        if mode is not None:
            self.ctl.set_mode(mode)
        self.log('%s: settings %s' % (source, ', '.join(['%s=%s' % (k, shown(obj[k])) for k in obj])))
        return 200, ''

    def put_guard(self, obj, source='rest'):
        """Peak Guard settings ({key: value}, keys of control.peakguard.FIELDS): all or nothing."""
        if not isinstance(obj, dict) or not obj:
            return self._refuse(400, 'expected a JSON object of Peak Guard settings (%s), got %s' % (
                ', '.join([f[0] for f in peakguard.FIELDS]), shown(obj)))
        err = peakguard.check_patch(obj)
        if err is not None:
            return self._refuse(400, err)
        for k in obj:
            self.guard.settings.set(k, obj[k])
        self.log('%s: peak guard %s' % (source, ', '.join(['%s=%s' % (k, shown(obj[k])) for k in obj])))
        return 200, ''

    def guard_dict(self):
        return self.guard.settings.to_dict()

    def hw_state(self):
        return {'power_on': self.ctl.relay, 'switch_lock': self.lock, 'brightness': self.brightness}

    def put_state(self, obj):
        """HomeWizard PUT /api/v1/state. (200, {changed keys: new values}) or (400, message), atomically."""
        if not isinstance(obj, dict) or not obj:
            return self._refuse(400, 'PUT /api/v1/state: expected a JSON object with one or more of %s, '
                                'got %s' % (', '.join(HW_KEYS), shown(obj)))
        for k in sorted(obj):
            if k not in HW_KEYS:
                return self._refuse(400, 'PUT /api/v1/state: unknown key %s: expected %s' % (
                    shown(k), ', '.join(HW_KEYS)))
        for k in ('power_on', 'switch_lock'):
            if k in obj and not isinstance(obj[k], bool):
                return self._refuse(400, 'PUT /api/v1/state: %s: expected true or false, got %s' % (
                    k, shown(obj[k])))
        bright = None
        if 'brightness' in obj:
            # a number 0 ... 255; a fraction is rounded (python-homewizard-energy sends percent * 2.55)
            b = obj['brightness']
            if not isinstance(b, (int, float)) or isinstance(b, bool) or not 0 <= b <= 255:
                return self._refuse(400, 'PUT /api/v1/state: brightness: expected a number 0 ... 255, '
                                    'got %s' % (shown(b),))
            bright = int(b + 0.5)
        lock = obj.get('switch_lock', self.lock)
        if 'power_on' in obj and obj['power_on'] != self.ctl.relay and lock and self.lock:
            return self._refuse(400, 'PUT /api/v1/state: power_on %s refused: switch_lock is on (expected '
                                'switch_lock false before a relay change; relay stays %s)' % (
                                    'true' if obj['power_on'] else 'false', entities.on_off(self.ctl.relay)))
        # all checked: apply. Unlock first, switch, then lock (a request may do both in either sense).
        if 'switch_lock' in obj and not obj['switch_lock']:
            self._set_lock(False)
        if 'power_on' in obj:
            st, msg = self.set_relay(obj['power_on'], 'homewizard')
            if st != 200:
                return st, msg
        if 'switch_lock' in obj and obj['switch_lock']:
            self._set_lock(True)
        if bright is not None:
            self.brightness = bright
        out = {}
        cur = self.hw_state()
        for k in obj:
            out[k] = cur[k]
        return 200, out

    def _set_lock(self, on):
        if on != self.lock:
            self.lock = on
            self._locked_relay = self.ctl.relay
            held = 'on: relay held ' + entities.on_off(self.ctl.relay)
            self.log('switch_lock ' + (held if on else 'off'))

    # ---- undo (a change that did not reach flash is taken back) ------------------------------------
    def snapshot(self):
        return (self.settings_dict(), self.ctl.relay, self.lock, self._locked_relay, self.brightness,
                self.guard_dict())

    def restore(self, snap):
        """Back to snapshot(): settings, Peak Guard's settings, relay, switch lock and brightness (not the
        measurements)."""
        s, relay, lock, locked, br, g = snap
        for k in s:
            setattr(self.settings, k, s[k])
        for f in peakguard.FIELDS:
            self.guard.settings.set(f[0], g[f[0]])
        self.ctl.set_mode(s['mode'])
        self.ctl.relay = relay
        self.lock = lock
        self._locked_relay = locked
        self.brightness = br
        self.log('flash write failed: the change was taken back')

    # ---- flash -----------------------------------------------------------------------------------
    def settings_dict(self):
        return self.settings.to_dict()

    def state_dict(self):
        return {'v': STATE_VERSION, 'ctl': self.ctl.state_for_flash(), 'switch_lock': self.lock,
                'brightness': self.brightness, 'total_mwh': self.chip.energy_mwh,
                'guard': self.guard.state_for_flash()}

    def state_key(self):
        """The part of state_dict() whose change must be saved at once (not the energy counters)."""
        c = self.ctl
        return (c.relay, c.failsafe, c.daily.day, c.c_mwh, self.lock, self.brightness,
                c.state_for_flash().get('anchor'), self.settings.interval_min, self.guard.shed,
                self.guard.month_peak_w)
