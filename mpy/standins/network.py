"""Stand-in for the ESP32 port's `network` module: a station joined to one network, an access point.

For the memory measurement only (mpy/memory.py); the constants have the ESP32 port's values.
"""
STA_IF = 0
AP_IF = 1
AUTH_OPEN = 0
STAT_IDLE = 1000
STAT_CONNECTING = 1001
STAT_GOT_IP = 1010
STAT_NO_AP_FOUND = 201
STAT_WRONG_PASSWORD = 202
STAT_BEACON_TIMEOUT = 200
STAT_ASSOC_FAIL = 203
STAT_HANDSHAKE_TIMEOUT = 204


class WLAN:
    def __init__(self, which):
        self.which = which
        self._active = which == STA_IF
        self._connected = which == STA_IF

    def active(self, on=None):
        if on is None:
            return self._active
        self._active = bool(on)

    def config(self, *args, **kw):
        if args == ('mac',):
            return b'\x24\x6f\x28\x10\x02\x1e'
        return None

    def ifconfig(self):
        return ('192.168.1.7', '255.255.255.0', '192.168.1.1', '192.168.1.1')

    def isconnected(self):
        return self._connected

    def status(self):
        return STAT_GOT_IP if self._connected else STAT_IDLE

    def connect(self, ssid, key=None):
        self._connected = True

    def disconnect(self):
        self._connected = False

    def scan(self):
        return [(b'HomeNet', b'\x00' * 6, 6, -60, 3, False)]


def hostname(name=None):
    return name or 'smartmeter'
