# Peak Guard's coordination through the SmartMeter: what the SmartMeter publishes at GET /api/peakguard/v1
# and how a plug reports to it (query parameters of the same GET) and reads the answer. Pure and
# MicroPython-valid (docs/peak-guard.md).
#
# SmartMeter side:
#   qt = QuarterTracker(); qt.update(t, import_wh)              # every telegram: the running clock quarter
#   status, body = meter_answer(reading, values, qt, table, args, mono, marked)
#       reading: (t, import_wh, export_wh) or None (no current telegram); values: dict with import_w,
#       demand_w (1-0:1.4.0), peak_w (1-0:1.6.0) (None when the meter does not send them); args: the query
#       parameters (dict of text) with this plug's report, or {} for a look without reporting; marked:
#       the request carried REPORT_HEADER (a report without it is refused with 403, nothing stored: a web
#       page could send the GET from the user's browser, but not that header without a preflight, which
#       the modules refuse; docs/security.md). A look without a report is open, like every read.
# Plug side:
#   path = PATH + '?' + query(report_dict)                        # report and read in one GET,
#   headers = REPORT_LINE                                         # with this header line
#   (reading, extra), why = parse_answer(status, body)            # reading = (t, import_wh, export_wh)
#       extra = {'import_w', 'demand_w', 'peak_w', 'peers'}; peers None when the table was unusable
import json

from firmware.apps.common.jsonw import shown
from firmware.control.peakguard_table import FLOOR_W, QUARTER_S, check_peer

PATH = '/api/peakguard/v1'
REPORT_HEADER = 'X-Requested-With'      # a plug's report must carry it (any value; plugs send 'peakguard')
REPORT_LINE = REPORT_HEADER + ': peakguard\r\n'
_INT_KEYS = ('priority', 'load_w', 'draw_w', 'delta_w', 'delta_t')
_BOOL_KEYS = ('shed', 'on')


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


class QuarterTracker:
    """The running clock quarter from the meter's import register (start interpolated at the boundary)."""

    def __init__(self):
        self.q = None
        self.q_wh = None
        self.prev = None
        self.last_w = None        # the last closed quarter's power

    def update(self, t, imp):
        prev = self.prev
        self.prev = (t, imp)
        q = t - t % QUARTER_S
        if q == self.q:
            return
        if prev is not None and prev[0] < q and t - prev[0] <= 30:
            wh = prev[1] + (imp - prev[1]) * (q - prev[0]) // (t - prev[0])
            if self.q_wh is not None and self.q == q - QUARTER_S:
                self.last_w = (wh - self.q_wh) * 4
            self.q_wh = wh
        else:
            self.q_wh = None
            self.last_w = None
        self.q = q

    def running(self, t, imp, import_w):
        """{start, import_wh, projected_w, last_w} of the running quarter (import_wh None: start not seen)."""
        if self.q is None:
            return None
        e = None if self.q_wh is None else imp - self.q_wh
        proj = None
        if e is not None and import_w is not None:
            proj = (e * 3600 + import_w * (self.q + QUARTER_S - t)) // QUARTER_S
        return {'start': self.q, 'import_wh': e, 'projected_w': proj, 'last_w': self.last_w}


def report_from_args(args):
    """A plug's report from query parameters (text), or (None, reason)."""
    d = {'id': args.get('id')}
    for k in _INT_KEYS:
        v = args.get(k)
        if v is None:
            if k in ('delta_w', 'delta_t'):
                d[k] = 0 if k == 'delta_w' else None
                continue
            return None, '%s: expected an integer parameter, got none' % k
        s = v[1:] if v[:1] == '-' else v
        if not s.isdigit() or len(v) > 12:
            return None, '%s: expected an integer, got %s' % (k, shown(v))
        d[k] = int(v)
    for k in _BOOL_KEYS:
        v = args.get(k)
        if v not in ('0', '1'):
            return None, '%s: expected 0 or 1, got %s' % (k, shown(v))
        d[k] = v == '1'
    err = check_peer(d)
    if err is not None:
        return None, err
    return d, None


def meter_answer(reading, values, qt, table, args, mono, marked=False):
    """(HTTP status, body dict) of GET /api/peakguard/v1 on the SmartMeter; marked: REPORT_HEADER came."""
    if args and not marked:
        for k in ('id',) + _INT_KEYS + _BOOL_KEYS:
            if args.get(k) is not None:
                table.counters['refused'] += 1
                table.last_error = 'plug report refused: no %s header' % REPORT_HEADER
                return 403, {'error': 'GET %s: a plug\'s report (%s=...) without the %s header: expected '
                                      'the header every plug sends with its report (%s), which a web page '
                                      'cannot send from a browser; nothing stored. Without a report the '
                                      'table is open to read' % (PATH, k, REPORT_HEADER, REPORT_LINE[:-2])}
    refused = None
    if args and args.get('id') is None:
        for k in _INT_KEYS + _BOOL_KEYS:
            if args.get(k) is not None:   # a report without its plug: refused, not silently dropped
                refused = '%s without id: expected a plug\'s whole report (id, %s)' % (
                    k, ', '.join(_INT_KEYS + _BOOL_KEYS))
                table.counters['refused'] += 1
                break
    if args and args.get('id') is not None:
        rep, why = report_from_args(args)
        if rep is None:
            table.counters['refused'] += 1
            table.last_error = 'plug report refused: ' + why
            refused = why
        else:
            table.update(rep, mono)
    if refused is not None:
        return 400, {'error': 'GET %s: %s; nothing stored' % (PATH, refused)}
    peers = table.entries(mono)
    peak = values.get('peak_w')
    body = {'plugs': peers, 'shed': [p['id'] for p in peers if p['shed']],
            'cap_w': peak if (peak is not None and peak > FLOOR_W) else FLOOR_W,
            'peak_w': peak, 'demand_w': values.get('demand_w'), 'import_w': values.get('import_w'),
            'counters': table.counters}
    if reading is None:
        body['fresh'] = False
        body['error'] = 'no current meter reading'
        return 503, body
    t, imp, exp = reading
    body['fresh'] = True
    body['meter_ts'] = t
    body['import_wh'] = {'total': imp}
    body['export_wh'] = {'total': exp}
    body['quarter'] = qt.running(t, imp, values.get('import_w'))
    return 200, body


def query(report):
    """Query string of a plug's report (keys of PeakGuard.report())."""
    parts = ['id=' + _quote(report['id'])]
    for k in _INT_KEYS:
        v = report.get(k)
        if v is not None:
            parts.append('%s=%d' % (k, v))
    for k in _BOOL_KEYS:
        parts.append('%s=%d' % (k, 1 if report.get(k) else 0))
    return '&'.join(parts)


def _quote(s):
    out = []
    for ch in s:
        if ch.isalpha() or ch.isdigit() or ch in '-_.':
            out.append(ch)
        else:
            for b in ch.encode():
                out.append('%%%02X' % b)
    return ''.join(out)


def _opt_int(d, k):
    v = d.get(k)
    return v if _is_int(v) and v >= 0 else None


def parse_answer(status, body):
    """(((t, import_wh, export_wh), extra), None) from the SmartMeter's answer, or (None, reason)."""
    try:
        d = json.loads(body)
    except Exception:
        return None, 'HTTP %d: expected a JSON object, got %r' % (status, body[:60])
    if not isinstance(d, dict):
        return None, 'HTTP %d: expected a JSON object, got %r' % (status, body[:60])
    if status != 200 or d.get('fresh') is not True:
        return None, 'HTTP %d: no current meter reading (%s)' % (status, d.get('error', 'fresh is not true'))
    t = d.get('meter_ts')
    imp = d.get('import_wh')
    exp = d.get('export_wh')
    imp = imp.get('total') if isinstance(imp, dict) else None
    exp = exp.get('total') if isinstance(exp, dict) else None
    if not _is_int(t) or not _is_int(imp) or not _is_int(exp) or imp < 0 or exp < 0:
        return None, ('expected integers meter_ts, import_wh.total >= 0, export_wh.total >= 0, got %s, %s, %s'
                      % (shown(t), shown(imp), shown(exp)))
    peers = d.get('plugs')
    if not isinstance(peers, list):
        peers = None
    else:
        for p in peers:
            if check_peer(p) is not None:
                peers = None
                break
    extra = {'import_w': _opt_int(d, 'import_w'), 'demand_w': _opt_int(d, 'demand_w'),
             'peak_w': _opt_int(d, 'peak_w'), 'peers': peers}
    return ((t, imp, exp), extra), None
