# Who may change what: the local API's users (HomeWizard API v2 model), the request policy (Host allow-list,
# Origin check, no simple-request state changes) and the pure parsers it needs. Portable (MicroPython and
# CPython: hashlib, binascii, os.urandom).
#
#   users = Users(store, log=print)               now_ms: the HAL's wrapping ticks_ms
#     users.press(now_ms)            the physical button was pressed: user creation is open PAIR_MS
#     users.pairing(now_ms) -> bool  the window is open
#     users.create(name, now_ms) -> (token, None) or (None, (status, reason))   POST /api/user
#                                    403 when the button was not pressed, 400 a bad name, 507 too many
#                                    users, 500 a failed flash write (nothing granted)
#     users.check(token) -> name or None;  users.delete(name) -> True/False;  users.names()
#   Tokens are 32 hex digits (16 random bytes); flash keeps only their SHA-256 (auth.json), never a token.
#
#   check_request(method, path, headers, allowed_hosts, users, open_paths, json_paths=())
#                                    -> None or (status, reason)
#     open_paths: 'METHOD /path' strings that need no user (POST /api/user: the button gates it)
#     json_paths: 'METHOD /path' strings that need no user when the request's Content-Type is
#     application/json (the v1 writes while "Local API v1" is on: hwv1.LocalApi); a browser sends that
#     type cross-site only after a preflight, which the module refuses, so no page can use them
#     the policy of docs/security.md: Host allow-list (every request), Origin equal to Host on state
#     changes, a state change needs `Authorization: Bearer <token>` or the page's session cookie plus
#     proof that the request comes from a page of this module: an Origin equal to the module's own origin
#     (http:// + the vetted Host; what ESPHome's UI sends) or the X-Requested-With header (which no
#     cross-origin page can send without a preflight the module refuses)
#   host_of(host_header) -> lower-case host without port;  origin_host(origin) -> 'host:port' or None
#   same_origin(origin, host) -> True when Origin is exactly http:// + Host (default port folded)
#   bearer(headers) -> token or None;  session(headers) -> token or None
import asyncio
import binascii
import hashlib
import os

from firmware.apps.common.jsonw import shown
from firmware.hal import ticks_diff

AUTH_FILE = 'auth.json'
PAIR_MS = 30000            # HomeWizard: user creation is open for 30 s after the button press
MAX_USERS = 8
NAME_MAX = 40
COOKIE = 'bchain_session'
CSRF_HEADER = 'X-Requested-With'
SAFE_METHODS = ('GET', 'HEAD', 'OPTIONS')


def token_hash(token):
    """SHA-256 hex of a token: what flash keeps."""
    return binascii.hexlify(hashlib.sha256(token.encode()).digest()).decode()


def random_bytes(n):
    """n bytes from the hardware random generator (os.urandom: the ESP32's RNG, the host's)."""
    if hasattr(os, 'urandom'):
        return os.urandom(n)
    # only the WebAssembly build the portable tests run in lacks it: not a port that ships
    import random
    return bytes([random.getrandbits(8) for _ in range(n)])


def new_token():
    return binascii.hexlify(random_bytes(16)).decode().upper()


def check_name(name):
    """None when name is a valid user name ('local/<1..34 printable ASCII>'), else the reason."""
    if not isinstance(name, str):
        return 'name: expected a string "local/<your app>", got %s' % type(name).__name__
    if not name.startswith('local/') or len(name) <= 6 or len(name) > NAME_MAX:
        return 'name: expected "local/" and 1 to %d more characters, got %d characters' % (
            NAME_MAX - 6, len(name))
    for c in name:
        if c < ' ' or c > '~':
            return 'name: expected printable ASCII characters, got U+%04X' % ord(c)
    return None


class Users:
    def __init__(self, store, log=print):
        self.store = store
        self.log = log
        self.users = {}
        d = store.load_raw(AUTH_FILE)
        if d is not None:
            u = d.get('users')
            if isinstance(u, dict):
                for k in u:
                    if isinstance(k, str) and isinstance(u[k], str) and len(u[k]) == 64:
                        self.users[k] = u[k]
        self._pressed = None
        self.counters = {'granted': 0, 'refused': 0, 'unauthorized': 0, 'presses': 0}

    def press(self, now_ms):
        self._pressed = now_ms
        self.counters['presses'] += 1
        self.log('auth: button pressed: new users may be created for %d s' % (PAIR_MS // 1000))

    def pairing(self, now_ms):
        return self._pressed is not None and 0 <= ticks_diff(now_ms, self._pressed) <= PAIR_MS

    def names(self):
        return sorted(self.users)

    def _save(self, users):
        return self.store.save(AUTH_FILE, {'users': users})

    def create(self, name, now_ms):
        why = check_name(name)
        if why:
            self.counters['refused'] += 1
            return None, (400, why)
        if not self.pairing(now_ms):
            self.counters['refused'] += 1
            return None, (403, 'user:creation-not-enabled: press the button on the module, then ask within '
                               '%d s' % (PAIR_MS // 1000))
        users = dict(self.users)
        if name not in users and len(users) >= MAX_USERS:
            self.counters['refused'] += 1
            return None, (507, 'at most %d users: delete one first (DELETE /api/user)' % MAX_USERS)
        token = new_token()
        users[name] = token_hash(token)
        if not self._save(users):
            return None, (500, 'could not store the user in flash: no token granted')
        self.users = users
        self.counters['granted'] += 1
        self.log('auth: user %s created' % name)
        return token, None

    def check(self, token):
        if not token or not isinstance(token, str) or len(token) > 64:
            return None
        h = token_hash(token)
        for name in self.users:
            if self.users[name] == h:
                return name
        return None

    def delete(self, name):
        if name not in self.users:
            return False
        users = dict(self.users)
        del users[name]
        if not self._save(users):
            return False
        self.users = users
        self.log('auth: user %s deleted' % name)
        return True


def host_of(host):
    """'Smartmeter.local:80' -> 'smartmeter.local'; '[::1]:8080' -> '::1'."""
    h = host.strip().lower()
    if h.startswith('['):
        i = h.find(']')
        return h[1:i] if i > 0 else h
    i = h.rfind(':')
    if i >= 0 and h[i + 1:].isdigit() and h.count(':') == 1:
        h = h[:i]
    if h.endswith('.'):
        h = h[:-1]
    return h


def origin_host(origin):
    """'http://192.168.1.20:8080' -> '192.168.1.20:8080' (lower case); None for 'null' or not a URL."""
    o = origin.strip().lower()
    for scheme in ('http://', 'https://'):
        if o.startswith(scheme):
            rest = o[len(scheme):]
            if '/' in rest:
                rest = rest[:rest.find('/')]
            return rest or None
    return None


def _default_port(hostport):
    if hostport.endswith(':80'):
        return hostport[:-3]
    return hostport


def same_origin(origin, host):
    """Origin 'http://127.0.0.1:8080' and Host '127.0.0.1:8080' -> True: the module's own origin (it
    serves plain HTTP, so an https:// Origin is another origin); False for no Origin, 'null', or any other."""
    if origin is None or host is None:
        return False
    o = origin.strip().lower()
    if not o.startswith('http://'):
        return False
    oh = o[7:]
    return oh != '' and '/' not in oh and _default_port(oh) == _default_port(host.strip().lower())


def bearer(headers):
    a = headers.get('Authorization')
    if a and a[:7].lower() == 'bearer ':
        return a[7:].strip()
    return None


def session(headers):
    c = headers.get('Cookie')
    if not c:
        return None
    for part in c.split(';'):
        kv = part.strip().split('=', 1)
        if len(kv) == 2 and kv[0] == COOKIE:
            return kv[1]
    return None


def json_type(headers):
    ct = headers.get('Content-Type')
    return ct is not None and ct.split(';')[0].strip().lower() == 'application/json'


def check_request(method, path, headers, allowed_hosts, users, open_paths=(), json_paths=()):
    """None when the request may go on, else (status, reason). See the top of this file."""
    host = headers.get('Host')
    if host is not None and host_of(host) not in allowed_hosts:
        return 421, ('Host %s is not this module: expected one of %s (DNS rebinding is refused)'
                     % (shown(host[:80]), ', '.join(allowed_hosts)))
    if method in SAFE_METHODS:
        return None
    origin = headers.get('Origin')
    if origin is not None:
        oh = origin_host(origin)
        if oh is None or host is None or _default_port(oh) != _default_port(host.strip().lower()):
            return 403, ('%s %s from Origin %s: expected a page of this module (%s); cross-origin state '
                         'changes are refused' % (method, path, shown(origin[:80]), host))
    mp = method + ' ' + path
    if mp in open_paths:
        return None
    if mp in json_paths and json_type(headers):
        return None
    token = bearer(headers)
    if token is not None:
        if users.check(token) is not None:
            return None
        users.counters['unauthorized'] += 1
        return 401, '%s %s: the token is not valid (expected one granted by POST /api/user)' % (method, path)
    token = session(headers)
    if token is not None and users.check(token) is not None:
        if headers.get(CSRF_HEADER) or same_origin(origin, host):
            return None
        users.counters['unauthorized'] += 1
        return 403, ('%s %s: a page session must prove its page is this module\'s: expected the %s header '
                     'or "Origin: http://%s" (simple cross-site requests are refused)'
                     % (method, path, CSRF_HEADER, host))
    users.counters['unauthorized'] += 1
    if mp in json_paths:
        return 401, ('%s %s: Local API v1 is on, but this request is not JSON: expected "Content-Type: '
                     'application/json" (or a token)' % (method, path))
    return 401, ('%s %s changes the module: expected "Authorization: Bearer <token>" (POST /api/user after '
                 'pressing the button) or a page login (/login)' % (method, path))


def is_user(headers, users):
    """The user a request comes from (bearer token or page session), or None."""
    t = bearer(headers) or session(headers)
    return users.check(t) if t else None


def allowed_hosts(hal, name, prov=None):
    """The Host names this module answers to: its names and its addresses (lower case)."""
    out = [name.lower(), name.lower() + '.local']
    extra = getattr(hal, 'host_names', None)
    if extra is not None:
        for h in extra():
            out.append(h.lower())
    ip = hal.wifi.ip()
    if ip:
        out.append(ip)
    if prov is not None and prov.ap_ip:
        out.append(prov.ap_ip)
    bind = hal.http_bind()[0]
    if bind and bind != '0.0.0.0' and bind not in out:
        out.append(bind)
    return out


async def watch_button(hal, users, period_s=0.1):
    """Poll the button (a press = a rising edge) and open user creation for PAIR_MS."""
    pin = hal.pin('button')
    last = pin.value()
    while True:
        await asyncio.sleep(period_s)
        v = pin.value()
        if v and not last:
            users.press(hal.ticks_ms())
        last = v
