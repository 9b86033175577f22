# The SmartPlug app: asyncio tasks that wire the pure plug (model.py) to the HAL: the CSE7766 UART, the
# relay GPIO, flash, WiFi provisioning, mDNS, the web server and the SmartMeter link.
# Portable: MicroPython on the ESP32 (Esp32Hal) and CPython on an emulated board (hil/board HostHal).
#
#   run(hal, config)             what `hil board run smartplug` (host) and main.py (ESP32) call; config keys:
#     meter: 'HOST[:PORT]' of the SmartMeter for LANs without mDNS (this run; overrides meter.json)
#     poll_s: seconds between two SmartMeter polls (this run; overrides meter.json, default POLL_S = 5)
#     max_event_clients: concurrent /events streams (default 4)
#   Without them the plug uses meter.json, set with PUT /api/smartplug/v1/meter {"address", "poll_s"}:
#   an empty address means mDNS (smartmeter.local).
#   await main(hal, meter=None, poll_s=None, version=VERSION, log=None, max_event_clients=4)
#
# Boot order: flash -> Plug (settings, relay, Daily Energy restored) -> the relay GPIO is driven to the
# restored state before anything else runs (a reboot never switches the appliance by itself) -> tasks.
# Flash files (firmware/storage.Store, atomic): settings.json (thresholds, interval, mode, fail-safe),
# state.json (relay, fail-safe, switch lock, Daily Energy, C, plug energy), meter.json (SmartMeter
# address), wifi.json (the common provisioning). state.json is written at once when the relay, the lock,
# the day or C change, and every ENERGY_SAVE_S otherwise (Daily Energy; a kill loses at most that much).
import asyncio

from firmware.apps.common import auth, hwv1
from firmware.apps.common.boot import make_log, run_tasks, tls_provisioned
from firmware.apps.common.events import EventHub
from firmware.apps.common.web import Web
from firmware.apps.common.wifi import Provisioner
from firmware.apps.smartplug import meterlink
from firmware.apps.smartplug.device import PlugDevice
from firmware.apps.smartplug.meterlink import MeterLink
from firmware.apps.smartplug.model import Plug
from firmware.control.peakguard_coord import query as coord_query
from firmware.hal import mac_text
from firmware.storage import Store

VERSION = '1.0.0'
SETTINGS_FILE = 'settings.json'
STATE_FILE = 'state.json'
METER_FILE = 'meter.json'
GUARD_FILE = 'peakguard.json'
ENERGY_SAVE_S = 300
TICK_S = 1


class Clock:
    """Monotonic milliseconds that do not wrap, from the HAL's ticks (which wrap at 2**30)."""

    def __init__(self, hal):
        self.hal = hal
        self._last = hal.ticks_ms()
        self._ms = 0

    def __call__(self):
        t = self.hal.ticks_ms()
        d = self.hal.ticks_diff(t, self._last)
        if d > 0:
            self._ms += d
            self._last = t
        return self._ms


class SmartPlugApp:
    def __init__(self, hal, meter=None, poll_s=None, version=VERSION, log=None, max_event_clients=4):
        if log is None:
            log = make_log(hal.ticks_ms)
        self.hal = hal
        self.log = log
        self.name = hal.name()
        self.now_ms = Clock(hal)
        self.store = Store(hal.flash_root, log=self._log_storage, fault=getattr(hal, 'flash_fault', None))
        saved_s = self.store.load_raw(SETTINGS_FILE)
        saved_st = self.store.load_raw(STATE_FILE)
        saved_g = self.store.load_raw(GUARD_FILE)
        self.plug = Plug(saved_s, saved_st, self.now_ms(), log=lambda t: log('plug: ' + t),
                         saved_guard=saved_g, plug_id=self.name)
        # the relay first: the restored state, before any task can run
        self.relay = hal.pin('relay', 1 if self.plug.relay_out() else 0)
        self._relay_applied = self.plug.relay_out()
        self.log('smartplug: %s boots with the relay %s (%s)' % (
            self.name, 'ON' if self._relay_applied else 'OFF',
            'restored from flash' if saved_st is not None else 'no saved state: fail-safe state'))
        self.meter_settings = self.store.load(METER_FILE, meterlink.DEFAULTS, meterlink.check_settings)
        self._override = (meter, poll_s)
        self.link = MeterLink(hal, self._on_reading, None, meterlink.POLL_S, log=log)
        self.link.guard_query = self._guard_query
        self._configure_link()
        self._saved_settings = self.plug.settings_dict() if saved_s is not None else None
        self._saved_guard = self.plug.guard_dict() if saved_g is not None else None
        self._saved_key = self.plug.state_key() if saved_st is not None else None
        self._state_saved_ms = self.now_ms()
        self.prov = Provisioner(hal, self.store, self.name, log=log, on_join=self._on_join)
        self.hub = EventHub(max_clients=max_event_clients, ticks_ms=hal.ticks_ms)
        self.dev = PlugDevice(self.plug, self.name, self.now_ms, self.sync, mac_text(hal.unique_id()),
                              version, wifi_info=self.prov.info, meter=self.link, set_meter=self.set_meter,
                              identify=self.identify)
        self.dev.local_api = hwv1.LocalApi(self.store, log)   # "Local API v1": off until a user enables it
        self.dev.hal = hal  # POST /update and GET /api/ota (firmware/ota) reach the board through it
        self.users = auth.Users(self.store, log)
        self.https_mod = None
        if hasattr(hal, 'https_bind') and tls_provisioned(hal.flash_root):
            # API v2 over HTTPS (common/https.py): loaded only with a TLS identity in flash
            from firmware.apps.common import https as https_mod
            from firmware.apps.smartplug.v2 import PlugV2
            self.https_mod = https_mod
            self.dev.https = https_mod.Https(PlugV2(self), self.users,
                                             lambda: auth.allowed_hosts(hal, self.name, self.prov), log, net=hal,
                                             ticks_ms=hal.ticks_ms)
        self.web = Web(self.dev, self.hub, wifi=self.prov, log=log, users=self.users,
                       hosts=lambda: auth.allowed_hosts(hal, self.name, self.prov), ticks_ms=hal.ticks_ms,
                       net=hal)
        self.sync()

    def _log_storage(self, text):
        self.log('storage: ' + text)

    # ---- keeping the outside world in step with the plug --------------------------------------------
    def sync(self, request=False):
        """Save what changed (before acting on it), then drive the relay GPIO. True when flash has it.

        request: a request's change (the device routes): when flash refuses the write the relay is not
        driven, and the route takes the change back (plug.restore) and fails. The controller's own
        decisions (request False) still drive the relay: the appliance follows the meter even on a worn
        flash (counted in storage_errors)."""
        p = self.plug
        ok = True
        s = p.settings_dict()
        if s != self._saved_settings:
            if self.store.save(SETTINGS_FILE, s):
                self._saved_settings = s
            else:
                ok = False
        g = p.guard_dict()
        if g != self._saved_guard:
            if self.store.save(GUARD_FILE, g):
                self._saved_guard = g
            else:
                ok = False
        key = p.state_key()
        now = self.now_ms()
        if key != self._saved_key or now - self._state_saved_ms >= ENERGY_SAVE_S * 1000:
            if self.store.save(STATE_FILE, p.state_dict()):
                self._saved_key = key
                self._state_saved_ms = now
            elif key != self._saved_key:
                ok = False
        if request and not ok:
            return False
        want = p.relay_out()
        if want != self._relay_applied:
            self.relay.value(1 if want else 0)
            self._relay_applied = want
            self.log('smartplug: relay %s' % ('ON' if want else 'OFF'))
        return ok

    def _guard_query(self):
        if not self.plug.guard.settings.on:
            return None
        return coord_query(self.plug.guard.report())

    def _on_reading(self, t, imp, exp, extra=None):
        self.plug.on_meter(t, imp, exp, self.now_ms(), extra)
        self.sync()
        self.web.publish()

    def _configure_link(self):
        m = self.meter_settings
        addr, poll_s = self._override
        try:
            self.link.configure(addr or m['address'] or None, poll_s or m['poll_s'])
        except ValueError as e:
            self.log('smartplug: %s; using mDNS' % e)
            self.link.configure(None, poll_s or m['poll_s'])

    def set_meter(self, patch):
        """PUT /api/smartplug/v1/meter {"address": "HOST[:PORT]" | null, "poll_s": s}: None when done, else
        the reason (nothing changed). A run-time override (hil board run --meter) stays in force."""
        new, why = meterlink.patch_settings(self.meter_settings, patch)
        if new is None:
            return why
        if not self.store.save(METER_FILE, new):
            return 'could not store the SmartMeter settings in flash: nothing changed'
        self.meter_settings = new
        self._configure_link()
        self.log('smartplug: SmartMeter at %s, polled every %s s' % (
            new['address'] or 'smartmeter.local (mDNS)', new['poll_s']))
        return None

    def identify(self):
        """PUT /api/v1/identify: blink the status LED (a task: the request does not wait for it)."""
        try:
            led = self.hal.pin('led', 0)
        except Exception as e:
            self.log('identify: %r' % (e,))
            return
        asyncio.create_task(hwv1.blink(led, self.log))

    def _on_join(self):
        host, port = self.hal.http_bind()
        try:
            self.hal.mdns_start(self.name, [('_hwenergy._tcp', port, {
                'api_enabled': '1', 'path': '/api/v1', 'serial': mac_text(self.hal.unique_id()),
                'product_name': 'bChain SmartPlug', 'product_type': 'HWE-SKT'})])
        except Exception as e:  # the plug works by IP address without mDNS
            self.log('smartplug: mDNS not started: %r' % (e,))

    # ---- tasks ----------------------------------------------------------------------------------------
    async def chip_task(self):
        try:
            uart = self.hal.uart('metering')
        except Exception as e:
            self.log('smartplug: no metering UART: %r; Voltage, Current and Power stay empty' % (e,))
            return
        while True:
            data = await uart.read(256)
            if data:
                self.plug.feed_chip(data, self.now_ms())

    async def tick_task(self):
        while True:
            await asyncio.sleep(TICK_S)
            try:
                self.plug.tick(self.now_ms())
                self.sync()
                self.web.publish()
            except Exception as e:  # keep ticking: the relay and the status depend on it
                self.log('smartplug: tick failed: %r' % (e,))

    async def serve(self):
        host, port = self.hal.http_bind()
        self.log('smartplug: %s serving http://%s:%d/' % (self.name, host, port))
        await self.web.serve(host, port)

    async def run(self):
        await run_tasks([
            ('web', self.serve, True),
            ('wifi', self.prov.run, False),
            ('metering', self.chip_task, False),
            ('tick', self.tick_task, False),
            ('meter', self.link.run, False),
            ('events', self.hub.ping_loop, False),
            ('button', lambda: auth.watch_button(self.hal, self.users), False),
        ] + ([('https', lambda: self.https_mod.serve_v2(self.dev.https, self.hal), False)]
             if self.dev.https is not None else []), self.log)


async def main(hal, meter=None, poll_s=None, version=VERSION, log=None, max_event_clients=4):
    app = SmartPlugApp(hal, meter, poll_s, version, log, max_event_clients)
    await app.run()


def run(hal, config=None):
    """Run the SmartPlug on this HAL until the process ends (config: see the top of this file)."""
    c = config or {}
    asyncio.run(main(hal, meter=c.get('meter'), poll_s=c.get('poll_s'),
                     max_event_clients=c.get('max_event_clients', 4)))
