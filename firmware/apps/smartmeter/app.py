# The SmartMeter program: P1 in, web out. Portable (MicroPython asyncio + microdot, CPython + microdot).
#
#   run(hal, config=None)        boot and serve forever (main.py on the ESP32, `hil board run smartmeter`)
#   SmartMeter(hal, store, log)  the device object of firmware/apps/common/web.py
#
# Tasks: p1 (reads hal.uart('p1') into a firmware.p1.stack.P1Stack: framing, CRC, its CRC policy set by
# the line format, parsing; keeps the last good telegram; its counters are the stack's), tick (once a
# second: pushes changed states to /events, so a reading that turns stale empties the page and a warning
# says since when no telegram came; logs that once), wifi
# (provisioning), events (ESPHome pings), web (microdot). HTTP handlers only read the last telegram: no
# request waits on the P1 line and the P1 task never waits on a request.
#
# config (optional dict): stale_s (overrides the stored setting for this boot), max_event_clients.
import asyncio

from firmware.apps.common import auth, boot, hwv1
from firmware.apps.common.events import EventHub
from firmware.apps.common.jsonw import loads_object
from firmware.apps.common.web import JSON, TEXT, Web, error_response, json_response
from firmware.apps.common.wifi import Provisioner
from firmware.apps.smartmeter import model, plausible
from firmware.control import peakguard_coord
from firmware.control.peakguard_table import Table
from firmware.fixed import Dec
from firmware.hal import mac_text
from firmware.p1.crc16 import crc16_arc
from firmware.p1.line_hunt import LineHunt
from firmware.p1.readings import meter_reading
from firmware.p1.stack import P1Stack
from firmware.storage import Store
from firmware.timebase import CET

VERSION = '1.0.0'
P1_MAX_TELEGRAM = 4096
READ_CHUNK = 512
LINE_FORMATS = {'115200 8N1': (115200, 8, None, 1), '9600 7E1': (9600, 7, 0, 1)}


class SmartMeter:
    title = 'smartmeter'

    def __init__(self, hal, store, log=print, config=None):
        config = config or {}
        self.hal = hal
        self.store = store
        self.log = log
        self.settings = store.load(model.SETTINGS_FILE, model.DEFAULT_SETTINGS, model.check_settings)
        stale_s = config.get('stale_s') or self.settings['stale_s']
        self.meter = model.Meter(stale_s * 1000)
        # the 115200 8N1 line until set; telegrams keep their bytes for /api/v1/telegram
        self.stack = P1Stack(P1_MAX_TELEGRAM, CET, require_crc=True, keep_frame=True)
        self.counters = self.stack.counters
        self.p1 = {'bytes': 0, 'reads': 0, 'line': '115200 8N1', 'line_switches': 0, 'last_errors': []}
        self.hunt = LineHunt('115200 8N1', hal.ticks_ms())   # the 'auto' line format (firmware/p1/line_hunt.py)
        self.entities = model.ENTITIES
        self.web = None
        self.uart = None
        self.serial = mac_text(hal.unique_id())
        self._boot_ms = hal.ticks_ms()
        self._silent = False            # logged that no telegram arrives (once, until one does)
        self.gate = plausible.Gate()
        self._last_refusal = None
        self.quarter = peakguard_coord.QuarterTracker()   # Peak Guard: the running quarter, the plugs' table
        self.guard_table = Table()
        self.local_api = hwv1.LocalApi(store, log)       # "Local API v1": off until a user enables it
        self.https = None                                # API v2 over HTTPS (common/https.py), if provisioned

    # ---- the device object of web.py ---------------------------------------------------------------------
    def now(self):
        return self.hal.ticks_ms()

    def state(self, e):
        return model.entity_state(e, self.meter.current(self.now()))

    def silence(self):
        return model.silence(self.meter, self.now(), self._boot_ms, CET)

    def warnings(self):
        """Texts under the States table: why the rows are empty when the P1 line is silent."""
        s = self.silence()
        return [] if s is None else [s['message']]

    def check_silence(self):
        """Log once when telegrams stop arriving, and once when they come back."""
        s = self.silence()
        if s is not None and not self._silent:
            self._silent = True
            self.log('p1: %s (%s s without a telegram)' % (s['message'], s['silent_s'].text()))
        elif s is None and self._silent:
            self._silent = False
            self.log('p1: telegrams arrive again (%d taken since boot)' % self.meter.seq)

    def services(self):
        port = self.web.port if self.web is not None and self.web.port else self.hal.http_bind()[1]
        txt = {'api_enabled': '1', 'path': '/api/v1', 'serial': self.serial, 'product_name': 'P1 meter',
               'product_type': 'HWE-P1'}
        return [('_hwenergy._tcp', port, txt), ('_http._tcp', port, {'path': '/'})]

    def announce(self):
        if self.web is None or self.web.port is None:
            return  # not listening yet: announced once the port is known
        self.hal.mdns_start(self.title, self.services())

    def status(self, wifi=None):
        age = self.meter.age_ms(self.now())
        d = {'p1': dict(self.counters), 'telegrams': self.meter.seq,
             'age_s': None if age is None else Dec(age, 3),
             'fresh': self.meter.current(self.now()) is not None, 'stale_s': self.meter.stale_ms // 1000,
             'line': self.p1['line'], 'line_switches': self.p1['line_switches'], 'p1_bytes': self.p1['bytes'],
             'line_good': self.hunt.good, 'line_probing': self.hunt.probing,
             'uart_overruns': getattr(self.uart, 'overruns', None), 'storage_errors': self.store.errors,
             'task_failures': boot.task_failures, 'silence': self.silence(),
             'refused': {'telegrams': self.gate.counters['refused'], 'resyncs': self.gate.counters['resyncs'],
                         'last': self.gate.last_refused}}
        if self.web is not None and self.web.users is not None:
            d['auth'] = dict(self.web.users.counters)
        if self.https is not None:
            d['https'] = self.https.stats()
        if self.web is not None:
            d['http'] = self.web.stats()
            d['events'] = dict(self.web.hub.counters)
        if wifi is not None:
            d['wifi'] = wifi.info()
        return d

    def add_routes(self, app, web):
        dev = self
        web.local_api = dev.local_api
        hwv1.add_local_api_routes(app, dev.local_api, loads_object)
        if dev.https is not None:
            dev.https.add_http_refusals(app)   # v2 paths over plain HTTP: 403 naming https://

        @app.get('/api')
        async def api(request):
            return json_response(model.device_info(dev.serial, VERSION))

        @app.get('/api/v1/data')
        async def data(request):
            ssid = None
            if web.wifi is not None and web.wifi.state == 'joined':
                ssid = web.wifi.creds['ssid']
            return json_response(model.hw_data(dev.meter.current(dev.now()), ssid, CET))

        @app.get('/api/v1/telegram')
        async def telegram(request):
            status, body = dev.telegram_text()
            if status != 200:
                return error_response(status, body)
            return body, 200, TEXT

        @app.get('/api/v1/system')
        async def system(request):
            return hwv1.SYSTEM_TEXT, 200, JSON

        @app.put('/api/v1/system')
        async def system_put(request):
            obj, why = loads_object(request.body)
            if obj is None:
                return hwv1.error_text('PUT /api/v1/system: ' + why, hwv1.INVALID_JSON), 400, JSON
            why = hwv1.system_put(obj)
            if why is not None:
                return hwv1.error_text('PUT /api/v1/system: ' + why), 400, JSON
            return hwv1.SYSTEM_TEXT, 200, JSON

        @app.put('/api/v1/identify')
        async def identify(request):
            asyncio.create_task(dev.blink())
            return hwv1.IDENTIFY_TEXT, 200, JSON

        @app.get('/api/plug/v1/reading')
        async def plug(request):
            status, body = model.plug_reading(dev.meter, dev.now())
            return json_response(body, status)

        @app.get('/api/peakguard/v1')
        async def peakguard(request):
            # Peak Guard's coordination: the running quarter, the cap, the guarded plugs (a plug reports
            # itself in the query: id, priority, shed, on, load_w, draw_w, delta_w, delta_t)
            now = dev.now()
            cur = dev.meter.current(now)
            values = {'import_w': model._int_w(cur, '1-0:1.7.0'), 'demand_w': model._int_w(cur, '1-0:1.4.0'),
                      'peak_w': model._int_w(cur, '1-0:1.6.0')}
            st, body = peakguard_coord.meter_answer(dev.meter.reading if cur is not None else None, values,
                                                    dev.quarter, dev.guard_table, request.args, now // 1000,
                                                    bool(request.headers.get(peakguard_coord.REPORT_HEADER)))
            return json_response(body, st)

        @app.get('/api/status')
        async def status(request):
            return json_response(dev.status(web.wifi))

        @app.get('/api/smartmeter/v1/settings')
        async def settings_get(request):
            return json_response(dev.settings)

        @app.put('/api/smartmeter/v1/settings')
        async def settings_put(request):
            obj, why = loads_object(request.body)
            if obj is None:
                return error_response(400, 'PUT /api/smartmeter/v1/settings: ' + why)
            new, why = model.update_settings(dev.settings, obj)
            if new is None:
                return error_response(400, 'PUT /api/smartmeter/v1/settings: %s; nothing changed' % why)
            if not dev.store.save(model.SETTINGS_FILE, new):
                return error_response(507, 'could not store the settings in flash; nothing changed')
            dev.apply(new)
            return json_response(new)

    def telegram_text(self):
        """(200, the last good telegram's bytes as received, with its CRC) or (503, why there is none)."""
        t = self.meter.current(self.now())
        if t is None:
            return 503, model.plug_reading(self.meter, self.now())[1]['error']
        raw = self.meter.raw  # bytes as received: a header may hold non-ASCII bytes (0xAB on Fluvius)
        if t.crc == 'ok':
            raw = raw + ('%04X\r\n' % crc16_arc(raw)).encode()
        return 200, raw

    def apply(self, new):
        self.settings = new
        self.meter.stale_ms = new['stale_s'] * 1000
        if self.uart is not None and new['p1_line'] != 'auto' and new['p1_line'] != self.p1['line']:
            self._set_line(new['p1_line'])
        if self.web is not None:
            self.web.publish()

    async def blink(self):
        try:
            led = self.hal.pin('led', 0)
        except Exception as e:
            self.log('identify: %r' % (e,))
            return
        await hwv1.blink(led, self.log)

    # ---- P1 ----------------------------------------------------------------------------------------------
    def _set_line(self, line):
        self.uart.reformat(*LINE_FORMATS[line])
        self.stack.set_line(line)
        self.hunt.set(line, self.now())
        self.p1['line'] = line
        self.p1['line_switches'] += 1
        self.log('p1: line set to %s' % line)

    def feed(self, chunk, now):
        """Bytes from the P1 line: every complete good telegram becomes the current reading."""
        self.p1['bytes'] += len(chunk)
        self.hunt.received(len(chunk))
        telegrams = self.stack.feed(chunk)
        self.p1['last_errors'] = self.stack.last_errors[:4]
        for t in telegrams:
            self.hunt.telegram(now, t.crc)   # framing and CRC say the line format is right
            why = self.gate.check(t, meter_reading(t), now)
            if why is not None:   # not believable: counted, shown in the status, the last good one stays
                kind = why[:why.find(':')]   # one log line per kind of refusal in a row, all counted
                if kind != self._last_refusal:
                    self.log('p1: telegram refused: ' + why)
                self._last_refusal = kind
                continue
            self.meter.update(t, t.frame, now)
            if self.meter.reading is not None:
                self.quarter.update(self.meter.reading[0], self.meter.reading[1])
        return len(telegrams)

    async def p1_task(self):
        try:
            self.uart = self.hal.uart('p1')
        except ValueError as e:  # a host board started without a P1 line: serve, read nothing
            self.log('p1: %s; the meter is not read' % (e,))
            return
        if self.settings['p1_line'] != 'auto':
            self._set_line(self.settings['p1_line'])
        while True:
            chunk = await self.uart.read(READ_CHUNK)
            self.p1['reads'] += 1
            if self.feed(chunk, self.now()) and self.web is not None:
                self.web.publish()

    async def tick_task(self):
        while True:
            await asyncio.sleep(1)
            now = self.now()
            self.check_silence()
            if self.web is not None:
                self.web.publish()
            if self.uart is not None and self.settings['p1_line'] == 'auto':
                line = self.hunt.tick(now)
                if line is not None:
                    self._set_line(line)


async def main(hal, config=None):
    config = config or {}
    log = boot.make_log(hal.ticks_ms)
    store = Store(hal.flash_root, log, getattr(hal, 'flash_fault', None))
    users = auth.Users(store, log)
    dev = SmartMeter(hal, store, log, config)
    hub = EventHub(max_clients=config.get('max_event_clients', 4), ticks_ms=hal.ticks_ms)
    prov = Provisioner(hal, store, hal.name(), log, on_join=dev.announce)
    https_mod = None
    if hasattr(hal, 'https_bind') and boot.tls_provisioned(hal.flash_root):
        from firmware.apps.common import https as https_mod   # loaded only with a TLS identity in flash
        from firmware.apps.smartmeter.v2 import MeterV2
        dev.https = https_mod.Https(MeterV2(dev, VERSION), users,
                                    lambda: auth.allowed_hosts(hal, hal.name(), prov), log, net=hal,
                                    ticks_ms=hal.ticks_ms)
    web = Web(dev, hub, prov, log, users=users, hosts=lambda: auth.allowed_hosts(hal, hal.name(), prov),
              ticks_ms=hal.ticks_ms, net=hal)
    dev.web = web
    host, port = hal.http_bind()
    log('smartmeter %s: serial %s, http on %s:%d, stale after %d s' % (
        VERSION, dev.serial, host, port, dev.meter.stale_ms // 1000))

    def listening(bound):
        log('http: listening on %s:%d' % (host, bound))
        if prov.state == 'joined':
            dev.announce()  # joined before the port was known: advertise it now

    async def serve():
        await web.serve(host, port, listening)

    tasks = [('web', serve, True), ('p1', dev.p1_task, False), ('tick', dev.tick_task, False),
             ('wifi', prov.run, False), ('events', hub.ping_loop, False),
             ('button', lambda: auth.watch_button(hal, users), False)]
    if dev.https is not None:
        tasks.append(('https', lambda: https_mod.serve_v2(dev.https, hal), False))
    await boot.run_tasks(tasks, log)


def run(hal, config=None):
    asyncio.run(main(hal, config))
