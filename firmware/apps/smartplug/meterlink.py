# The SmartPlug's link to the SmartMeter: find it, poll GET /api/plug/v1/reading, hand fresh readings on.
# Portable (MicroPython asyncio and CPython).
#
#   parse_reading(status, body) -> ((t, import_wh, export_wh), None) or (None, reason)      pure
#       The SmartMeter answers 200 {"fresh": true, "seq", "age_s", "meter_ts", "import_wh": {"total"},
#       "export_wh": {"total"}, ...} or 503 {"fresh": false, "error"} when it has no current reading.
#   parse_addr(text) -> (host, port) or raises ValueError                                 pure
#   patch_settings(current, patch) -> (new dict, None) or (None, reason)    meter.json {"address", "poll_s"}:
#       address 'HOST[:PORT]' or '' / null (mDNS), poll_s POLL_MIN_S ... POLL_MAX_S; all or nothing
#   link = MeterLink(hal, on_reading, addr=None, poll_s=POLL_S, log=print)
#   await link.run()       forever: every poll_s one GET; addr None -> mDNS name smartmeter.local
#                          (re-resolved after RESOLVE_AFTER failures in a row)
#   Error texts show what came as JSON (jsonw.shown) and an exception by its type or errno (errtext.what):
#   the same text under MicroPython and CPython.
#   link.counters, link.last_error, link.addr (where the SmartMeter was found), link.source ('mdns'/'config')
#   A reading that cannot be true (a clock of 10^30, registers out of bounds, backwards or beyond physics
#   since the last one taken: firmware/apps/common/plausible.py) is refused and counted as implausible.
#
# The plug does not judge freshness by the SmartMeter's word alone: the controller takes a reading as fresh
# only when the meter's timestamp moved on, and turns SmartMeter Status Disconnected 30 s after the last
# fresh one. A poll every 5 s gives six chances per 30 s and puts a reading within 5 s after each interval
# boundary (the controller needs one within 30 s).
import asyncio
import json

from firmware.apps.common.jsonw import shown
from firmware.apps.common.plausible import Follow
from firmware.apps.smartplug.httpget import HttpError, get
from firmware.fixed import is_digits
from firmware.control import peakguard_coord as coord
from firmware.errtext import what

POLL_S = 5
POLL_MIN_S = 0.5
POLL_MAX_S = 60
DEFAULTS = {'address': '', 'poll_s': 5.0}
TIMEOUT_S = 3
RESOLVE_AFTER = 3
METER_HOST = 'smartmeter'     # its mDNS name: smartmeter.local
PATH = '/api/plug/v1/reading'


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _total(d, key):
    v = d.get(key)
    if isinstance(v, dict):
        v = v.get('total')
    return v if _is_int(v) and v >= 0 else None


def parse_reading(status, body):
    """((t, import_wh, export_wh), None) from the SmartMeter's answer, or (None, what was wrong)."""
    try:
        d = json.loads(body)
    except Exception:
        return None, 'HTTP %d: expected a JSON object, got %r' % (status, body[:60])
    if not isinstance(d, dict):
        return None, 'HTTP %d: expected a JSON object, got %r' % (status, body[:60])
    if status != 200 or d.get('fresh') is not True:
        err = d.get('error', 'fresh is not true')
        return None, 'HTTP %d: no current meter reading (%s)' % (
            status, err if isinstance(err, str) else shown(err))
    t = d.get('meter_ts')
    imp = _total(d, 'import_wh')
    exp = _total(d, 'export_wh')
    if not _is_int(t) or imp is None or exp is None:
        # the values as JSON (sorted keys): a dict's repr has MicroPython's order on the device
        return None, ('expected integers meter_ts, import_wh.total >= 0, export_wh.total >= 0, got %s, %s, %s'
                      % (shown(t), shown(d.get('import_wh')), shown(d.get('export_wh'))))
    return (t, imp, exp), None


def parse_addr(text):
    """'192.168.1.20', '192.168.1.20:8081' or 'smartmeter.local' -> (host, port)."""
    if not isinstance(text, str) or not text or len(text) > 64 or ' ' in text or '/' in text or \
            min(text) <= ' ' or max(text) > '~':
        raise ValueError('SmartMeter address %s: expected HOST or HOST:PORT' % (shown(text),))
    i = text.rfind(':')
    if i < 0:
        return text, 80
    port = text[i + 1:]
    if not is_digits(port) or len(port) > 5 or not 0 < int(port) < 65536 or i == 0:
        raise ValueError('SmartMeter address %s: expected HOST:PORT with a port 1 ... 65535' % (shown(text),))
    return text[:i], int(port)


def check_settings(d):
    """None when a meter.json dict is valid, else the reason."""
    a = d.get('address')
    if not isinstance(a, str):
        return 'address: expected "HOST[:PORT]" or "" (mDNS), got %s' % (shown(a),)
    if a:
        try:
            parse_addr(a)
        except ValueError as e:
            return str(e)
    p = d.get('poll_s')
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not POLL_MIN_S <= p <= POLL_MAX_S:
        return 'poll_s: expected %s ... %s seconds, got %s' % (POLL_MIN_S, POLL_MAX_S, shown(p))
    return None


def patch_settings(current, patch):
    """(new settings, None) with patch's keys applied, or (None, reason) and nothing changed."""
    if not isinstance(patch, dict) or not patch:
        return None, 'expected a JSON object with "address" and/or "poll_s", got %s' % (shown(patch),)
    new = dict(current)
    for k in sorted(patch):   # the first wrong key in a fixed order: dicts differ between the interpreters
        if k not in DEFAULTS:
            return None, 'unknown key %s: expected address or poll_s' % (shown(k),)
        v = patch[k]
        if k == 'address' and v is None:
            v = ''
        new[k] = v
    why = check_settings(new)   # on the values as they came: an error shows what came, not a conversion
    if why is not None:
        return None, why
    p = new['poll_s']
    if isinstance(p, int) and not isinstance(p, bool):
        new['poll_s'] = float(p)
    return new, None


class MeterLink:
    def __init__(self, hal, on_reading, addr=None, poll_s=POLL_S, log=print):
        self.hal = hal
        self.on_reading = on_reading
        self.config = parse_addr(addr) if addr else None
        self.addr = self.config
        self.source = 'config' if addr else 'mdns'
        self.poll_s = poll_s
        self.log = log
        self.last_error = None
        self.counters = {'polls': 0, 'ok': 0, 'not_current': 0, 'bad': 0, 'failed': 0, 'resolved': 0,
                         'unresolved': 0, 'implausible': 0, 'coord': 0, 'no_coord': 0}
        self.follow = Follow()   # readings that cannot be true are refused (firmware/apps/common/plausible)
        self._fails = 0
        self.guard_query = None   # Peak Guard on: a function giving this plug's report as a query string
        self.coord = None         # False once the SmartMeter answered 404 to the coordination endpoint

    def configure(self, addr, poll_s):
        """A new address ('HOST[:PORT]', or None for mDNS) and poll period; takes effect at the next poll."""
        self.config = parse_addr(addr) if addr else None
        self.addr = self.config
        self.source = 'config' if addr else 'mdns'
        self.poll_s = poll_s
        self._fails = 0
        self.follow = Follow()   # another meter: no reference yet
        self.coord = None         # ask the (maybe new) SmartMeter for Peak Guard's coordination again

    def _error(self, key, text):
        self.counters[key] += 1
        if text != self.last_error:
            self.log('meter: ' + text)
        self.last_error = text

    async def _resolve(self):
        if self.config is not None:
            self.addr = self.config
            return True
        r = None
        try:
            r = await self.hal.mdns_resolve(METER_HOST)
        except Exception as e:
            self._error('unresolved', 'mDNS: looking up %s.local failed: %s' % (METER_HOST, what(e)))
            return False
        if r is None:
            self._error('unresolved', 'mDNS: no answer for %s.local (same LAN? or configure its address)'
                        % METER_HOST)
            return False
        if r != self.addr:
            self.log('meter: %s.local is %s:%d' % (METER_HOST, r[0], r[1]))
        self.addr = r
        self.counters['resolved'] += 1
        return True

    async def poll_once(self):
        """One GET; True when a reading was handed on."""
        self.counters['polls'] += 1
        if self.addr is None or self._fails >= RESOLVE_AFTER:
            self._fails = 0
            if not await self._resolve():
                return False
        host, port = self.addr
        q = self.guard_query() if (self.guard_query is not None and self.coord is not False) else None
        path = PATH if q is None else coord.PATH + '?' + q
        try:
            status, body = await get(host, port, path, TIMEOUT_S,
                                     headers='' if q is None else coord.REPORT_LINE)
        except (HttpError, OSError) as e:
            self._fails += 1
            # HttpError's text is the firmware's own; an OSError's message is the interpreter's
            self._error('failed', 'GET http://%s:%d%s: %s' % (
                host, port, path, e if isinstance(e, HttpError) else 'no answer: ' + what(e)))
            return False
        self._fails = 0
        if q is not None and status in (403, 404):
            # 404: an older SmartMeter; 403: one that does not take our report. Either way: decide alone
            self.coord = False
            self.counters['no_coord'] += 1
            self.log('meter: the SmartMeter %s Peak Guard coordination (%s: %d): deciding alone'
                     % ('has no' if status == 404 else 'refused the report to its', coord.PATH, status))
            return False
        extra = None
        if q is None:
            r, why = parse_reading(status, body)
        else:
            a, why = coord.parse_answer(status, body)
            r = None
            if a is not None:
                r, extra = a
                self.counters['coord'] += 1
        if r is None:
            self._error('not_current' if status == 503 else 'bad', why)
            return False
        why = self.follow.check(r, self.hal.ticks_ms())
        if why is not None:
            self._error('implausible', 'reading refused: ' + why)
            return False
        self.counters['ok'] += 1
        self.last_error = None
        if extra is None:
            self.on_reading(r[0], r[1], r[2])
        else:
            self.on_reading(r[0], r[1], r[2], extra)
        return True

    async def run(self):
        while True:
            try:
                await self.poll_once()
            except Exception as e:  # never let one odd answer stop the polling
                self._error('failed', 'poll failed: %s' % what(e))
            await asyncio.sleep(self.poll_s)
