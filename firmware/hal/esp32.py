# Esp32Hal: the HAL on the device (MicroPython, ESP32). Same surface as hil/board/hal.py HostHal; the
# surface is described in firmware/hal/__init__.py and docs/hal.md.
#
# Pins and UARTs come from PINOUT below, overridable by a JSON file 'board.json' in the flash root, e.g.
#   {"relay": [12, 1], "button": [0, 0], "metering": {"uart": 1, "rx": 3}}
# A pin is [gpio number, active level]: the apps use logical levels (relay 1 = closed, button 1 =
# pressed, p1_request 1 = data requested) and this module maps them to the wiring.

import asyncio
import json
import sys
import time

import machine
import network

from firmware.hal import TICKS_MAX, device_name, pin_direction, ticks_diff, uart_format

# Defaults. SmartMeter: P1 data on RX (inverted by the meter's open collector), request line through an
# NPN (active high at the GPIO). SmartPlug: CSE7766 TX -> RX, relay, button to ground, LED to ground.
PINOUT = {
    'smartmeter': {'p1': {'uart': 2, 'rx': 16, 'tx': 17, 'invert_rx': True},
                   'p1_request': [4, 1], 'led': [2, 1], 'button': [0, 0]},
    'smartplug': {'metering': {'uart': 1, 'rx': 26, 'tx': 27, 'invert_rx': False},
                  'relay': [12, 1], 'led': [13, 0], 'button': [0, 0]},
}

RXBUF = 2048


def epoch_offset():
    """Seconds to add to time.time(): MicroPython's epoch on the ESP32 is 2000-01-01; ours is 1970."""
    return 946684800 if time.gmtime(0)[0] == 2000 else 0


class Esp32Pin:
    def __init__(self, name, gpio, active, direction, value=None):
        self.name = name
        self.active = active
        self.direction = direction
        if direction == 'out':
            v = 0 if value is None else value
            self.p = machine.Pin(gpio, machine.Pin.OUT, value=active if v else 1 - active)
            self._v = 1 if v else 0
        else:
            pull = machine.Pin.PULL_UP if active == 0 else machine.Pin.PULL_DOWN
            self.p = machine.Pin(gpio, machine.Pin.IN, pull)
            self._v = 0

    def value(self, v=None):
        if v is None:
            if self.direction == 'out':
                return self._v
            return 1 if self.p.value() == self.active else 0
        if self.direction != 'out':
            raise ValueError('pin %r is an input' % self.name)
        self._v = 1 if v else 0
        self.p.value(self.active if self._v else 1 - self.active)
        return self._v

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)


class Esp32Uart:
    def __init__(self, conf, fmt):
        self.conf = conf
        self.overruns = 0  # the ESP-IDF driver drops silently; counted by the apps' framers instead
        self.u = None
        self.sr = None
        self.reformat(*fmt)

    def reformat(self, baudrate, bits=8, parity=None, stop=1):
        c = self.conf
        kw = {'baudrate': baudrate, 'bits': bits, 'parity': parity, 'stop': stop, 'rx': c['rx'],
              'tx': c['tx'], 'rxbuf': RXBUF, 'timeout': 0, 'timeout_char': 0}
        if c.get('invert_rx'):
            kw['invert'] = machine.UART.INV_RX
        if self.u is None:
            self.u = machine.UART(c['uart'], **kw)
            self.sr = asyncio.StreamReader(self.u)
        else:
            self.u.init(**kw)
        self.format = (baudrate, bits, parity, stop)

    async def read(self, n=256):
        while True:
            data = await self.sr.read(n)
            if data:
                return data

    def read_now(self, n=256):
        return self.u.read(n) or b''

    def any(self):
        return self.u.any()

    def write(self, data):
        return self.u.write(data) or 0

    def close(self):
        self.u.deinit()


# station status -> the error the portal shows; the names differ between MicroPython versions, and the
# ESP-IDF reports a wrong WPA2 password as a 4-way handshake timeout
_STATUS_TEXT = {}
for _name, _text in (('STAT_WRONG_PASSWORD', 'wrong password'), ('STAT_HANDSHAKE_TIMEOUT', 'wrong password'),
                     ('STAT_NO_AP_FOUND', 'network not found'), ('STAT_CONNECT_FAIL', 'connection failed'),
                     ('STAT_ASSOC_FAIL', 'connection failed'), ('STAT_BEACON_TIMEOUT', 'connection failed')):
    _code = getattr(network, _name, None)
    if _code is not None:
        _STATUS_TEXT[_code] = _text


class Esp32Wifi:
    def __init__(self):
        self.sta = network.WLAN(network.STA_IF)
        self.ap = network.WLAN(network.AP_IF)
        self.last_error = None

    def ap_start(self, ssid, password=None):
        if not 1 <= len(ssid) <= 32:
            raise ValueError('access point SSID %r: expected 1..32 characters' % ssid)
        self.ap.active(True)
        if password:   # WPA2-PSK with the label's password (firmware/apps/common/wifi.py)
            self.ap.config(essid=ssid, key=password, authmode=network.AUTH_WPA2_PSK)
        else:
            self.ap.config(essid=ssid, authmode=network.AUTH_OPEN)
        return self.ap.ifconfig()[0]

    def ap_stop(self):
        self.ap.active(False)

    def ap_active(self):
        return self.ap.active()

    def scan(self):
        self.sta.active(True)
        seen = {}
        for r in self.sta.scan():
            ssid = r[0].decode('utf-8', 'ignore') if isinstance(r[0], bytes) else r[0]
            if ssid and (ssid not in seen or r[3] > seen[ssid]):
                seen[ssid] = r[3]
        out = [(s, seen[s]) for s in seen]
        out.sort(key=lambda x: -x[1])
        return out

    async def connect(self, ssid, password, timeout_ms=20000):
        sta = self.sta
        sta.active(True)
        try:
            sta.disconnect()
        except OSError:
            pass
        sta.connect(ssid, password)
        t0 = time.ticks_ms()
        err = 'timeout'
        while time.ticks_diff(time.ticks_ms(), t0) < timeout_ms:
            st = sta.status()
            if st == network.STAT_GOT_IP:
                self.last_error = None
                return True, None
            why = _STATUS_TEXT.get(st)
            if why is not None:
                err = why
                break
            await asyncio.sleep_ms(200)
        try:
            sta.disconnect()
        except OSError:
            pass
        self.last_error = err
        return False, err

    def disconnect(self):
        self.sta.disconnect()

    def isconnected(self):
        return self.sta.isconnected()

    def ip(self):
        return self.sta.ifconfig()[0] if self.sta.isconnected() else None


class Esp32Hal:
    def __init__(self, kind, flash_root='', http_port=80):
        self.kind = kind
        self.flash_root = flash_root
        self.http_port = http_port
        self.pinout = _pinout(kind, flash_root)
        self.wifi = Esp32Wifi()
        self._uarts = {}
        self._pins = {}
        self._time_known = False
        self._mdns = None
        self._mdns_task = None

    def unique_id(self):
        return bytes(self.wifi.sta.config('mac'))

    def name(self):
        return device_name(self.kind, self.unique_id())

    def uart(self, name):
        if name not in self._uarts:
            fmt = uart_format(self.kind, name)
            conf = self.pinout.get(name)
            if conf is None:
                raise ValueError('UART %r has no pins in the pinout of this %s' % (name, self.kind))
            self._uarts[name] = Esp32Uart(conf, fmt)
            if name == 'p1':
                self.pin('p1_request', 1)
        return self._uarts[name]

    def pin(self, name, value=None):
        if name in self._pins:
            p = self._pins[name]
            if value is not None:
                p.value(value)
            return p
        direction = pin_direction(self.kind, name)
        gpio, active = self.pinout[name]
        p = Esp32Pin(name, gpio, active, direction, value)
        self._pins[name] = p
        return p

    def http_bind(self):
        return ('0.0.0.0', self.http_port)

    def https_bind(self):
        return ('0.0.0.0', 443)   # API v2 over TLS (firmware/apps/common/https.py)

    def tls_sessions(self):
        return None    # the firmware's own budget (https.SESSIONS): mbedTLS's heap, docs/security.md

    async def tls_listen(self, cb, host, port, ctx):
        # MicroPython's asyncio wraps each accepted socket with do_handshake_on_connect=False: the
        # handshake runs in the connection's first read, inside cb (and so inside its budget)
        return await asyncio.start_server(cb, host, port, ssl=ctx)

    async def tls_accept(self, reader, writer, ctx, timeout_s):
        return None    # nothing to do before the first read (above)

    def mdns_start(self, host, services):
        # The ESP-IDF responder answers <host>.local once the hostname is set; MicroPython has no API to
        # advertise services, so firmware/hal/mdns.py answers for them (and the web server's _http._tcp).
        from firmware.hal.mdns import Responder
        network.hostname(host)
        svc = list(services)
        if not [1 for t, _, _ in svc if t.startswith('_http._tcp')]:
            svc.append(('_http._tcp', self.http_port, {'path': '/'}))
        self._mdns = Responder(host, svc)
        self.mdns_stop()
        self._mdns_task = asyncio.create_task(self._mdns_serve())

    async def _mdns_serve(self):
        from firmware.hal.mdns import serve
        try:
            await serve(self._mdns, self.wifi.ip)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # e.g. port 5353 taken: the host name still answers through the IDF
            print('hal: mDNS service responder stopped: %r' % (e,))

    def mdns_stop(self):
        t = self._mdns_task
        self._mdns_task = None
        if t is not None:
            t.cancel()

    async def mdns_resolve(self, host, timeout_ms=3000):
        import socket
        try:
            ai = socket.getaddrinfo(host + '.local', 80)
        except OSError:
            return None
        if not ai:
            return None
        return ai[0][-1][0], 80

    def ticks_ms(self):
        return time.ticks_ms() & TICKS_MAX

    def ticks_diff(self, a, b):
        return ticks_diff(a, b)

    def time(self):
        if not self._time_known:
            return None
        return time.time() + epoch_offset()

    def set_time(self, t):
        tm = time.gmtime(t - epoch_offset())
        machine.RTC().datetime((tm[0], tm[1], tm[2], tm[6], tm[3], tm[4], tm[5], 0))
        self._time_known = True

    # OTA (firmware/ota): what images this board takes, its flash space, the watchdog, why it booted
    hw_rev = 1
    ota_flavor = 'mpy'
    mpy_abi = getattr(sys.implementation, '_mpy', 6) & 0xFFFF

    def flash_free(self):
        import os
        st = os.statvfs(self.flash_root or '/')
        return st[0] * st[3]

    def watchdog(self, timeout_ms):
        return machine.WDT(timeout=timeout_ms)

    def reset_cause(self):
        c = machine.reset_cause()
        if c == machine.WDT_RESET:
            return 'watchdog'
        if c == machine.SOFT_RESET:
            return 'soft'
        return 'power on'
    def http_sockets(self):
        return None    # lwIP enforces its socket budget itself (accept fails and drops the connection)

    def http_accepted(self, writer):
        pass           # lwIP's send buffer is small already (TCP_SND_BUF)

    def flash_fault(self, name):
        return False   # write failures are injected on emulated boards only (hil/board/hal.py)

    def host_names(self):
        return []      # the Host names beside name(), name().local and the addresses (auth.allowed_hosts)

    def reset(self):
        machine.reset()

    def close(self):
        for u in self._uarts.values():
            u.close()
        self._uarts = {}


def _pinout(kind, root):
    base = PINOUT.get(kind)
    if base is None:
        raise ValueError('board kind %r: expected one of %r' % (kind, sorted(PINOUT)))
    out = dict(base)
    p = (root.rstrip('/') + '/' if root else '') + 'board.json'
    try:
        with open(p) as f:
            over = json.load(f)
    except OSError:
        return out
    except ValueError as e:
        print('hal: %s: expected a JSON object of pins, %s; using the defaults' % (p, e))
        return out
    if isinstance(over, dict):
        for k in over:
            if isinstance(base.get(k), dict) and isinstance(over[k], dict):
                d = dict(base[k])
                d.update(over[k])
                out[k] = d
            else:
                out[k] = over[k]
    return out
