# Provisioning: the access point and its portal, joining the home network, keeping the credentials.
# Portable (MicroPython asyncio and CPython); the WiFi itself is the HAL's (hal.wifi).
#
#   check_credentials(ssid, psk) -> None or reason      pure: SSID 1..32 bytes without control
#                                   characters; password empty (open network) or 8..63 printable ASCII
#                                   characters or 64 hex digits (WPA2-PSK)
#   prov = Provisioner(hal, store, name, log=print, on_join=None)
#   await prov.run()                boot: stored credentials -> join; none or joining fails -> the access
#                                   point `name` opens (the portal); while it is up the stored network is
#                                   retried every RETRY_S; a lost connection is rejoined, and after
#                                   LOST_AP_S without it the access point opens again
#   await prov.save(ssid, psk) -> (status, portal html)   the portal's Save: checks, TRIES the new
#                                   network, and only once joined stores the credentials. 400 and nothing
#                                   stored when the input is malformed or the network could not be joined
#                                   (the page says why; the old credentials stay and are rejoined); 507
#                                   when flash refused the write (the old network is rejoined); 200 joined
#   The access point is WPA2 with a per-device password (secret.json, random at first boot, printed on
#   the console as the label's text at every boot): never open, also when wifi.json is unreadable.
#   prov.portal_active()            True while the access point is up (GET / then serves the portal)
#   prov.scan()                     look for networks (when the access point opens, and GET /wifi?scan=1):
#                                   the portal lists the last result
#   prov.state                      'boot' | 'ap' | 'joining' | 'joined' | 'lost' | 'failed'; prov.error:
#                                   the last reason
#   prov.info() -> dict             for the status APIs (never the password)
#
# Credentials live in flash as wifi.json {"ssid", "password"} through firmware/storage.Store (atomic).
import asyncio

from firmware.apps.common.auth import random_bytes
from firmware.apps.common.page import portal_page
from firmware.errtext import what

WIFI_FILE = 'wifi.json'
SECRET_FILE = 'secret.json'
DEFAULTS = {'ssid': '', 'password': ''}
AP_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789'   # no 0/o, 1/l/i: read off a printed label
AP_PASSWORD_LEN = 12
JOIN_TIMEOUT_MS = 15000
RETRY_S = 60
LOST_AP_S = 60
AP_STOP_DELAY_S = 1     # let the answer to Save leave through the access point before it goes


def check_credentials(ssid, psk):
    if ssid is None:
        return 'SSID: expected the name of your WiFi network, got nothing'
    if not isinstance(ssid, str) or not isinstance(psk if psk is not None else '', str):
        return 'SSID and password: expected text'
    n = len(ssid.encode())
    if n < 1 or n > 32:
        return 'SSID: expected 1 to 32 bytes, got %d' % n
    for c in ssid:
        if c < ' ' or c == '\x7f':
            return 'SSID: expected printable characters, got control character %s' % _char(c)
    psk = psk or ''
    if psk == '':
        return None
    if len(psk) == 64:
        for c in psk:
            if c not in '0123456789abcdefABCDEF':
                return 'password: 64 characters must be hex digits (a raw WPA key), got %s' % _char(c)
        return None
    if len(psk) < 8 or len(psk) > 63:
        return 'password: expected 8 to 63 characters (or none for an open network), got %d' % len(psk)
    for c in psk:
        if c < ' ' or c > '~':
            return 'password: expected printable ASCII characters, got %s' % _char(c)
    return None


class Provisioner:
    def __init__(self, hal, store, name, log=print, on_join=None):
        self.hal = hal
        self.wifi = hal.wifi
        self.store = store
        self.name = name
        self.log = log
        self.on_join = on_join
        self.creds = store.load(WIFI_FILE, DEFAULTS, _check_stored)
        self.ap_password = self._ap_secret()
        self.log('label: access point %s, password %s' % (name, self.ap_password))
        self.state = 'boot'
        self.error = None
        self.ap_ip = None
        self.joins = 0
        self.networks = []
        self._lock = asyncio.Lock()
        self._lost_ms = None

    # ---- what the pages and APIs show -----------------------------------------------------------------
    def portal_active(self):
        return bool(self.wifi.ap_active())

    def status_text(self):
        ssid = self.creds['ssid']
        if self.state == 'joined':
            return 'Connected to %s as %s.' % (ssid, self.wifi.ip())
        if self.state == 'joining':
            return 'Connecting to %s ...' % ssid
        if self.state == 'failed':
            return 'Not connected: could not join %s.' % ssid
        if self.state == 'lost':
            return 'Connection to %s lost, reconnecting ...' % ssid
        return 'Not connected: enter your WiFi network and press Save.'

    def scan(self):
        """Look for networks now. On the ESP32 a scan blocks for about 2 s (the P1 UART buffer then
        holds what arrives), so it runs when the access point opens and on GET /wifi?scan=1 only;
        pages show the last result."""
        try:
            self.networks = self.wifi.scan()
        except Exception as e:
            self.log('wifi: scan failed: %s' % what(e))
        return self.networks

    def page(self, error=None, status_text=None):
        return portal_page(self.name, status_text or self.status_text(), self.networks, self.creds['ssid'],
                           error if error is not None else self.error)

    def info(self):
        return {'state': self.state, 'ssid': self.creds['ssid'] or None, 'ip': self.wifi.ip(),
                'ap': bool(self.wifi.ap_active()), 'error': self.error, 'joins': self.joins}

    def _ap_secret(self):
        d = self.store.load_raw(SECRET_FILE)
        pw = d.get('ap_password') if d is not None else None
        if isinstance(pw, str) and len(pw) == AP_PASSWORD_LEN and check_credentials('x', pw) is None:
            return pw
        pw = new_ap_password()
        if not self.store.save(SECRET_FILE, {'ap_password': pw}):
            self.log('wifi: could not store the access point password: a new one at the next boot')
        else:
            self.log('wifi: first boot: access point password generated')
        return pw

    # ---- actions -------------------------------------------------------------------------------------------
    def _open_ap(self):
        if not self.wifi.ap_active():
            self.scan()
            self.ap_ip = self.wifi.ap_start(self.name, self.ap_password)
            self.log('wifi: access point %s up at %s' % (self.name, self.ap_ip))

    async def _stop_ap_later(self):
        await asyncio.sleep(AP_STOP_DELAY_S)
        if self.state == 'joined' and self.wifi.ap_active():
            self.wifi.ap_stop()
            self.log('wifi: access point %s stopped' % self.name)

    async def _join(self, ssid, psk, open_ap=True):
        async with self._lock:
            self.state = 'joining'
            self.log('wifi: joining %s' % ssid)
            try:
                ok, why = await self.wifi.connect(ssid, psk, JOIN_TIMEOUT_MS)
            except Exception as e:
                # the firmware's words and the errno, not the interpreter's message (errtext)
                ok, why = False, 'the WiFi driver failed (%s)' % what(e)
            if ok:
                self._joined(ssid)
                return True
            self.error = 'Could not join %s: %s' % (ssid, why or 'no reason given')
            self.log('wifi: ' + self.error)
            if open_ap:
                self.state = 'failed'
                self._open_ap()
            else:
                self.state = 'lost'
            return False

    async def save(self, ssid, psk):
        why = check_credentials(ssid, psk)
        if why:
            self.log('wifi: Save refused: ' + why)
            return 400, self.page(error=why)
        psk = psk or ''
        old = self.creds
        back = old['ssid'] and self.state in ('joined', 'lost')
        ok, why = await self._try(ssid, psk)
        if ok:
            creds = {'ssid': ssid, 'password': psk}
            if self.store.save(WIFI_FILE, creds):
                self.creds = creds
                self._joined(ssid)
                return 200, self.page(status_text='Saved. Connected to %s as %s; the access point %s stops '
                                      'now. Find the module at http://%s.local/' % (
                                          ssid, self.wifi.ip(), self.name, self.name))
            why = 'joined, but flash refused to store the credentials'
            status = 507
        else:
            status = 400
        msg = 'Could not join %s: %s. Nothing was stored' % (ssid, why or 'no reason given')
        if old['ssid']:
            msg += '; the module keeps %s' % old['ssid']
        self.log('wifi: Save: ' + msg)
        if back:
            await self._join(old['ssid'], old['password'], open_ap=False)
        else:
            try:
                self.wifi.disconnect()
            except Exception:
                pass
            if not self.wifi.ap_active():
                self._open_ap()
        self.error = msg
        return status, self.page(error=msg)

    async def _try(self, ssid, psk):
        """Join ssid without storing or changing state: (ok, why)."""
        async with self._lock:
            self.log('wifi: trying %s' % ssid)
            try:
                return await self.wifi.connect(ssid, psk, JOIN_TIMEOUT_MS)
            except Exception as e:
                return False, 'the WiFi driver failed (%s)' % what(e)

    def _joined(self, ssid):
        self.state = 'joined'
        self.error = None
        self.joins += 1
        self._lost_ms = None
        self.log('wifi: joined %s as %s' % (ssid, self.wifi.ip()))
        if self.on_join is not None:
            try:
                self.on_join()
            except Exception as e:
                self.log('wifi: after joining: %s' % what(e))
        if self.wifi.ap_active():
            asyncio.create_task(self._stop_ap_later())

    async def run(self):
        if self.creds['ssid']:
            await self._join(self.creds['ssid'], self.creds['password'])
        else:
            self.state = 'ap'
            self._open_ap()
        tick = 0
        while True:
            await asyncio.sleep(1)
            tick += 1
            ssid = self.creds['ssid']
            if self.state == 'failed':
                if ssid and tick >= RETRY_S:
                    tick = 0
                    await self._join(ssid, self.creds['password'])
            elif self.state == 'lost' and self.wifi.isconnected():
                self.state = 'joined'
                self._lost_ms = None
                self.log('wifi: connection to %s back' % ssid)
            elif self.state in ('joined', 'lost') and not self.wifi.isconnected():
                now = self.hal.ticks_ms()
                if self._lost_ms is None:
                    self._lost_ms = now
                    tick = 0
                    self.state = 'lost'
                    self.log('wifi: connection to %s lost' % ssid)
                if tick >= 5:
                    tick = 0
                    # a short outage (a router restarting) does not open the access point yet
                    late = self.hal.ticks_diff(now, self._lost_ms) >= LOST_AP_S * 1000
                    await self._join(ssid, self.creds['password'], open_ap=late)


def new_ap_password():
    """AP_PASSWORD_LEN characters of AP_ALPHABET from the hardware random generator (about 59 bits)."""
    out = []
    for b in random_bytes(AP_PASSWORD_LEN):
        out.append(AP_ALPHABET[b % len(AP_ALPHABET)])
    return ''.join(out)


def _char(c):
    # 'g', or U+00E9 for a character that is not printable ASCII: repr() escapes a non-ASCII character on
    # MicroPython ('\\xe9') and not on CPython ('é')
    if ' ' < c < '\x7f':
        return "'%s'" % c
    return 'U+%04X' % ord(c)


def _check_stored(d):
    if not d['ssid']:
        return None
    return check_credentials(d['ssid'], d['password'])
