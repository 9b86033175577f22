# The SmartPlug as the shared web layer sees it (firmware/apps/common/web.py's duck-typed device), plus
# its own routes: the HomeWizard Energy Socket API v1, the ESPHome button and number domains, a status
# JSON for diagnostics and the SmartMeter address setting. Portable (MicroPython + microdot, CPython).
#
#   dev = PlugDevice(plug, title, now_ms, changed, serial, version, wifi_info=None, meter=None)
#     plug      firmware.apps.smartplug.model.Plug
#     now_ms()  the app's monotonic milliseconds
#     changed() called after every accepted action: the app applies the relay, saves flash, publishes
#     meter     the MeterLink (for the status JSON and the address setting) or None
#
# Routes added to the common ones (docs/smartplug.md lists them all):
#   GET /api  GET /api/v1/data  GET|PUT /api/v1/state            HomeWizard Energy Socket (HWE-SKT) v1
#   GET|PUT /api/v1/system  PUT /api/v1/identify                 (identify() blinks the LED; None: 404)
#   GET|PUT /api/v1/local_api {"enabled": bool}                  "Local API v1" (common/hwv1.py)
#   POST /button/<id>/press                                      the +/- rows, as ESPHome buttons
#   GET /number/<id>  POST /number/<id>/set?value=V              threshold_on, threshold_off (kWh), interval
#   GET|PUT /api/smartplug/v1/settings {key: value, ...}        every setting (fail-safe too), all or nothing
#   GET /api/smartplug/v1/status                                 counters, last decision, meter link, log
#   GET|PUT /api/smartplug/v1/peakguard {key: value, ...}       Peak Guard settings, status, decision log
#   GET|PUT /api/smartplug/v1/meter {"address": "HOST[:PORT]" | null, "poll_s": s}   the SmartMeter link
from firmware.apps.common import hwv1
from firmware.apps.common.jsonw import dumps, loads_object, shown
from firmware.apps.common.web import JSON, error_response, json_response
from firmware.apps.smartplug import entities, hwapi
from firmware.fixed import Dec

_SCALE = {'voltage': (1, 3), 'current': (3, 3), 'power': (1, 3)}   # shown decimals, integer's decimals
_GETTER = {'voltage': 'voltage_mv', 'current': 'current_ma', 'power': 'power_mw'}


class PlugDevice:
    def __init__(self, plug, title, now_ms, changed, serial, version, wifi_info=None, meter=None,
                 set_meter=None, identify=None):
        self.plug = plug
        self.title = title
        self.entities = entities.ENTITIES
        self.now_ms = now_ms
        self.changed = changed
        self.serial = serial
        self.version = version
        self.wifi_info = wifi_info
        self.meter = meter
        self.set_meter = set_meter
        self.identify = identify
        self.local_api = None       # hwv1.LocalApi (the app sets it): GET|PUT /api/v1/local_api
        self.https = None           # common/https.Https (the app sets it): API v2 over HTTPS

    # ---- the common layer's interface --------------------------------------------------------------
    def state(self, e):
        p = self.plug
        now = self.now_ms()
        text = p.row_state(e, now)
        w = e.what
        if e.domain == entities.SENSOR:
            if w in _SCALE:
                raw = getattr(p, _GETTER[w])(now)
                if raw is None:
                    return 'NA', None
                d, e_in = _SCALE[w]
                return text, Dec(Dec(raw, e_in).scaled(d), d)
            if w == 'daily':
                return text, Dec(Dec(p.ctl.daily.mwh, 6).scaled(5), 5)
            if w == 'interval_min':
                return text, p.settings.interval_min
            return text, Dec(getattr(p.settings, w), 3)
        if e.domain == entities.SWITCH:
            return text, text == 'ON'
        return text, text

    def act(self, e, method, params):
        if e.domain != entities.SWITCH:
            return 405, '%s %s is read-only: expected a switch (toggle, turn_on, turn_off)' % (
                e.domain, e.oid)
        snap = self.plug.snapshot()
        st, msg = self.plug.switch(e.oid, method, 'rest')
        err = self.commit(snap)
        if err is not None:
            return err
        return None if st == 200 else (st, msg)

    def commit(self, snap):
        """Store a request's change in flash before it acts; None when stored, else the change is taken
        back (plug.restore: the relay never moved) and (507, why) fails the request."""
        if self.changed(True):
            return None
        self.plug.restore(snap)
        self.changed(True)
        return 507, ('could not store the change in flash: nothing changed (relay stays %s); see '
                     'storage_errors in the status' % entities.on_off(self.plug.ctl.relay))

    def warnings(self):
        return self.plug.warnings()

    # ---- device routes -------------------------------------------------------------------------------
    def number_json(self, oid):
        key, unit = entities.NUMBERS[oid]
        s = self.plug.settings
        if key == 'interval_min':
            v = s.interval_min
            text = '%d min' % v
            lo, hi, step = 1, 60, 1
        else:
            v = Dec(getattr(s, key), 3)
            text = v.text() + ' kWh'
            lo, hi, step = Dec(-10000, 3), Dec(10000, 3), Dec(1, 3)
        return dumps({'id': 'number-' + oid, 'state': text, 'value': v, 'min_value': lo, 'max_value': hi,
                      'step': step, 'uom': unit})

    def status(self):
        p = self.plug
        c = p.ctl
        now = self.now_ms()
        m = self.meter
        out = {
            'name': self.title, 'relay': c.relay, 'mode': p.settings.mode, 'connected': c.connected,
            'failsafe': c.failsafe, 'switch_lock': p.lock, 'settings': p.settings_dict(),
            'voltage_mv': p.voltage_mv(now), 'current_ma': p.current_ma(now), 'power_mw': p.power_mw(now),
            'energy_mwh': p.chip.energy_mwh, 'daily_mwh': c.daily.mwh, 'daily_day': c.daily.day,
            'c_mwh': c.c_mwh, 'meter_reading': c.meter(), 'last_decision': c.last,
            'controller': c.counters, 'chip': p.chip.counters, 'plug': p.counters, 'log': p.log_lines,
            'peakguard': {'settings': p.guard_dict(), 'shed': p.guard.shed, 'cap_w': p.guard.cap_w()},
        }
        if m is not None:
            out['meter'] = {'address': None if m.addr is None else '%s:%d' % m.addr, 'source': m.source,
                            'counters': m.counters, 'last_error': m.last_error}
        if self.wifi_info is not None:
            out['wifi'] = self.wifi_info()
        return out

    def add_routes(self, app, web):
        dev = self
        plug = self.plug

        def done(snap):
            err = dev.commit(snap)
            web.publish()
            return err

        def put_object(request, apply):
            # PUT request.path: a JSON object applied all or nothing by apply(obj, 'rest') -> (status, why),
            # then committed to flash; None when it was, else the error response
            obj, why = loads_object(request.body)
            if obj is None:
                plug.counters['refused'] += 1
                return error_response(400, 'PUT %s: %s' % (request.path, why))
            snap = plug.snapshot()
            st, msg = apply(obj, 'rest')
            err = done(snap)
            if err is not None:
                return error_response(err[0], 'PUT %s: %s' % (request.path, err[1]))
            if st != 200:
                return error_response(st, 'PUT %s: %s' % (request.path, msg))
            return None

        if dev.local_api is not None:
            web.local_api = dev.local_api
            hwv1.add_local_api_routes(app, dev.local_api, loads_object)
        if dev.https is not None:
            dev.https.add_http_refusals(app)   # v2 paths over plain HTTP: 403 naming https://

        @app.get('/api')
        async def hw_device(request):
            return hwapi.device_text(dev.serial, dev.version), 200, JSON

        @app.get('/api/v1/data')
        async def hw_data(request):
            # wifi_strength is left out: the plug would have to scan (seconds of blocked radio) to know it
            ssid = dev.wifi_info().get('ssid') if dev.wifi_info is not None else None
            return hwapi.data_text(plug, dev.now_ms(), ssid), 200, JSON

        @app.route('/api/v1/state', methods=['GET', 'PUT'])
        async def hw_state(request):
            if request.method == 'GET':
                return hwapi.state_text(plug), 200, JSON
            obj, why = loads_object(request.body)
            if obj is None:
                plug.counters['refused'] += 1
                return hwapi.error_text('PUT /api/v1/state: ' + why), 400, JSON
            snap = plug.snapshot()
            st, out = plug.put_state(obj)
            err = done(snap)
            if err is not None:
                return hwapi.error_text(err[1], err[0]), err[0], JSON
            if st != 200:
                return hwapi.error_text(out, st), st, JSON
            return json_response(out)

        @app.route('/api/v1/system', methods=['GET', 'PUT'])
        async def hw_system(request):
            if request.method == 'PUT':
                obj, why = loads_object(request.body)
                if obj is None:
                    plug.counters['refused'] += 1
                    return hwv1.error_text('PUT /api/v1/system: ' + why, hwv1.INVALID_JSON), 400, JSON
                why = hwv1.system_put(obj)
                if why is not None:
                    plug.counters['refused'] += 1
                    return hwv1.error_text('PUT /api/v1/system: ' + why), 400, JSON
            return hwv1.SYSTEM_TEXT, 200, JSON

        @app.put('/api/v1/identify')
        async def hw_identify(request):
            if dev.identify is None:
                return hwv1.error_text('this plug has no status LED to blink'), 404, JSON
            dev.identify()
            return hwv1.IDENTIFY_TEXT, 200, JSON

        @app.post('/button/<ident>/<method>')
        async def button(request, ident, method):
            snap = plug.snapshot()
            st, msg = plug.button(entities.url_ident(ident), method, 'rest')
            err = done(snap)
            if err is not None:
                return error_response(err[0], err[1])
            if st != 200:
                return error_response(st, msg)
            return json_response({'id': 'button-' + ident, 'state': 'OFF', 'value': False})

        @app.get('/number/<ident>')
        async def number_get(request, ident):
            oid = entities.url_ident(ident)
            if oid not in entities.NUMBERS:
                return error_response(404, 'no number %s: expected one of %s' % (
                    shown(oid), ', '.join(sorted(entities.NUMBERS))))
            return dev.number_json(oid), 200, JSON

        @app.post('/number/<ident>/<method>')
        async def number_set(request, ident, method):
            oid = entities.url_ident(ident)
            if oid in entities.NUMBERS and method != 'set':
                return error_response(404, 'number %s: no action %s: expected set' % (oid, shown(method)))
            value = request.args.get('value')
            if value is None and request.body:
                obj, why = loads_object(request.body)
                if obj is None:
                    return error_response(400, 'POST %s: %s' % (request.path, why))
                value = obj.get('value')
                if value is not None and not isinstance(value, str):
                    value = dumps(value)
            snap = plug.snapshot()
            st, msg = plug.set_number(oid, value, 'rest')
            err = done(snap)
            if err is not None:
                return error_response(err[0], err[1])
            if st != 200:
                return error_response(st, msg)
            return dev.number_json(oid), 200, JSON

        @app.route('/api/smartplug/v1/settings', methods=['GET', 'PUT'])
        async def settings(request):
            if request.method == 'PUT':
                refused = put_object(request, plug.put_settings)
                if refused is not None:
                    return refused
            return json_response(plug.settings_dict())

        @app.get('/api/smartplug/v1/status')
        async def status(request):
            d = dev.status()
            d['http'] = web.stats()
            if dev.https is not None:
                d['https'] = dev.https.stats()
            d['events'] = dict(web.hub.counters)
            if web.users is not None:
                d['auth'] = dict(web.users.counters)
            return json_response(d)

        @app.route('/api/smartplug/v1/peakguard', methods=['GET', 'PUT'])
        async def peakguard(request):
            # Peak Guard: settings (PUT any subset, all or nothing), status and the decision log
            if request.method == 'PUT':
                refused = put_object(request, plug.put_guard)
                if refused is not None:
                    return refused
            return json_response({'settings': plug.guard_dict(),
                                  'status': plug.guard.status(dev.now_ms() // 1000)})

        @app.route('/api/smartplug/v1/meter', methods=['GET', 'PUT'])
        async def meter_settings(request):
            if dev.set_meter is None or dev.meter is None:
                return error_response(404, 'this plug has no SmartMeter link')
            if request.method == 'PUT':
                obj, why = loads_object(request.body)
                if obj is None:
                    return error_response(400, 'PUT /api/smartplug/v1/meter: ' + why)
                err = dev.set_meter(obj)
                if err is not None:
                    plug.counters['refused'] += 1
                    return error_response(507 if err.startswith('could not store') else 400,
                                          'PUT /api/smartplug/v1/meter: ' + err)
            m = dev.meter
            return json_response({'address': None if m.addr is None else '%s:%d' % m.addr,
                                  'configured': None if m.config is None else '%s:%d' % m.config,
                                  'source': m.source, 'poll_s': m.poll_s})
