# The hardware abstraction (HAL): the one object through which the apps touch anything physical.
#
# Two implementations with the same small surface:
#   firmware/hal/esp32.py  Esp32Hal  - machine, network (the device)
#   hil/board/hal.py       HostHal   - pyserial URLs, GPIO files, a WiFi table, zeroconf, a flash folder
# The apps receive one HAL object and never import either module (see docs/hal.md):
#
#   hal.kind                      'smartmeter' | 'smartplug'
#   hal.unique_id() -> bytes      the 6-byte MAC; hal.name() -> 'smartmeter' / 'smartplug-10021e'
#   hal.uart(name) -> uart        'p1' (SmartMeter: 115200 8N1, RX inverted, data-request pin held active)
#                                 'metering' (SmartPlug: CSE7766, 4800 8E1)
#       await uart.read(n=256) -> bytes (at least 1 byte; waits without blocking other tasks)
#       uart.write(b), uart.any(), uart.reformat(baudrate, bits, parity, stop), uart.close()
#       uart.overruns: bytes lost because the app did not read in time (receive buffer full)
#   hal.pin(name, value=None) -> pin   'relay', 'led', 'button', 'p1_request'; pin.value([v]), on(), off()
#   hal.wifi                      ap_start(ssid, password=None) -> ip (WPA2 with a password), ap_stop(), ap_active(),
#                                 await connect(ssid, password, timeout_ms) -> (ok, error text or None),
#                                 disconnect(), isconnected(), ip() -> str or None, scan() -> [(ssid, rssi)]
#   hal.mdns_start(host, services)  host 'smartmeter' answers smartmeter.local; services: list of
#                                 (type '_hwenergy._tcp', port, {txt}); hal.mdns_stop()
#   hal.http_bind() -> (host, port)  where the web server listens
#   hal.https_bind() -> (host, port) where the HTTPS server (API v2) listens (the ESP32: 443);
#   hal.tls_sessions() -> int or None (the firmware's), await hal.tls_listen(cb, host, port, ctx),
#   await hal.tls_accept(reader, writer, ctx, timeout_s) -> None or why not (firmware/apps/common/https.py)
#   hal.flash_root                folder for firmware/storage.Store
#   hal.ticks_ms(), hal.ticks_diff(a, b)   monotonic ms, wrapping at 2**30 as MicroPython's
#   hal.time() -> UTC epoch s (1970) or None while unknown; hal.set_time(t)
#   hal.reset()                   restart the firmware (does not return)
#   OTA (firmware/ota, docs/ota.md): hal.hw_rev (int), hal.mpy_abi (.mpy version | sub-version << 8),
#   hal.ota_flavor ('mpy' on the ESP32, 'py' on emulated boards: which payload folder is installed),
#   hal.flash_free() -> bytes, hal.watchdog(timeout_ms) -> object with feed() (machine.WDT),
#   hal.reset_cause() -> 'power on' | 'soft' | 'watchdog'
#
# Portable helpers for both implementations live here.

TICKS_PERIOD = 1 << 30
TICKS_MAX = TICKS_PERIOD - 1
TICKS_HALF = TICKS_PERIOD // 2

KINDS = ('smartmeter', 'smartplug')

# pin name -> direction, for each board kind
PINS = {
    'smartmeter': {'p1_request': 'out', 'led': 'out', 'button': 'in'},
    'smartplug': {'relay': 'out', 'led': 'out', 'button': 'in'},
}

# name -> (baudrate, bits, parity, stop); parity None / 0 even / 1 odd (machine.UART's convention)
UARTS = {
    'smartmeter': {'p1': (115200, 8, None, 1)},
    'smartplug': {'metering': (4800, 8, 0, 1)},
}


def ticks_add(t, delta):
    return (t + delta) & TICKS_MAX


def ticks_diff(a, b):
    """a - b in ms for ticks that wrap at 2**30, as time.ticks_diff on MicroPython."""
    return ((a - b + TICKS_HALF) & TICKS_MAX) - TICKS_HALF


def mac_text(mac):
    """b'\\xaa\\xbb...' -> 'aabbcc10021e'."""
    return ''.join(['%02x' % b for b in mac])


def device_name(kind, mac):
    """'smartmeter', or 'smartplug-' + the last three MAC bytes in lowercase hex (SPEC, first boot)."""
    if kind not in KINDS:
        raise ValueError('board kind %r: expected one of %r' % (kind, KINDS))
    if len(mac) != 6:
        raise ValueError('MAC of %d bytes: expected 6' % len(mac))
    if kind == 'smartmeter':
        return 'smartmeter'
    return 'smartplug-' + mac_text(mac[3:])


def parse_mac(text):
    """'aa:bb:cc:10:02:1e' (or with '-' or nothing between) -> 6 bytes; ValueError says what came."""
    h = text.replace(':', '').replace('-', '').lower()
    if len(h) != 12:
        raise ValueError('MAC %r: expected 6 hex bytes like aa:bb:cc:10:02:1e' % text)
    out = bytearray(6)
    for i in range(6):
        try:
            out[i] = int(h[2 * i:2 * i + 2], 16)
        except ValueError:
            raise ValueError('MAC %r: %r is not a hex byte' % (text, h[2 * i:2 * i + 2]))
    return bytes(out)


def pin_direction(kind, name):
    pins = PINS.get(kind)
    if pins is None or name not in pins:
        raise ValueError('no pin %r on a %s: expected one of %r' % (name, kind, sorted(PINS.get(kind, {}))))
    return pins[name]


def uart_format(kind, name):
    u = UARTS.get(kind, {})
    if name not in u:
        raise ValueError('no UART %r on a %s: expected one of %r' % (name, kind, sorted(u)))
    return u[name]
