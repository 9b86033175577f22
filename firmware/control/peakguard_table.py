# Peak Guard's coordination table, as the SmartMeter keeps it: the last report of every guarded plug, in
# shedding order (docs/peak-guard.md). Pure and MicroPython-valid; small on purpose: the SmartMeter imports
# only this and peakguard_coord.py, the plugs import it through peakguard.py.
#
#   tb = Table(); err = tb.update(report_dict, mono)   # None, or why the report was refused (nothing stored)
#   tb.entries(mono) -> [report, ...]                   # earlier seconds' reports, least important first
from firmware.apps.common.jsonw import shown

QUARTER_S = 900
FLOOR_W = 2500          # the capacity tariff bills at least 2.5 kW a month
CAP_MAX_W = 50000
STALE_S = 30
PEER_MAX = 8            # plugs in the SmartMeter's table (keeps its answer under the plug's 2 KiB read)


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def order_key(priority, plug_id):
    """Shedding order: the least important (highest priority number) first, ties by id (all plugs agree)."""
    return (-priority, plug_id)


def check_peer(p):
    """None when a coordination entry is well formed, else the reason."""
    if not isinstance(p, dict):
        return 'expected an object, got %s' % (shown(p),)
    i = p.get('id')
    if not isinstance(i, str) or not i or len(i) > 40:
        return 'id: expected a name of 1 ... 40 characters, got %s' % (shown(i),)
    pr = p.get('priority')
    if not _is_int(pr) or pr < 1 or pr > 9:
        return 'priority: expected 1 ... 9, got %s' % (shown(pr),)
    for k in ('shed', 'on'):
        if not isinstance(p.get(k), bool):
            return '%s: expected true or false, got %s' % (k, shown(p.get(k)))
    for k in ('load_w', 'draw_w'):
        v = p.get(k)
        if not _is_int(v) or v < 0 or v > CAP_MAX_W:
            return '%s: expected 0 ... %d W, got %s' % (k, CAP_MAX_W, shown(v))
    v = p.get('delta_w', 0)
    if not _is_int(v) or v < -CAP_MAX_W or v > CAP_MAX_W:
        return 'delta_w: expected -%d ... %d W, got %s' % (CAP_MAX_W, CAP_MAX_W, shown(v))
    v = p.get('delta_t')
    if v is not None and not _is_int(v):
        return 'delta_t: expected meter seconds or null, got %s' % (shown(v),)
    return None


class Table:
    """The SmartMeter's coordination table: the last report of every guarded plug, forgotten after
    timeout_s; at most PEER_MAX plugs (a new plug beyond that replaces the oldest report).

    It answers as the table stood at the end of the previous second of the SmartMeter's clock: a report
    shows to the others from the next second on. Two plugs that ask within one second so get the same
    table, in whichever order their requests arrive (docs/peak-guard.md, "Two plugs deciding in the same
    second").
    """

    def __init__(self, timeout_s=STALE_S):
        self.timeout_s = timeout_s
        self.rows = {}                # id -> [mono, entry, mono shown, entry shown (an earlier second's)]
        self.counters = {'updates': 0, 'refused': 0, 'evicted': 0}
        self.last_error = None

    def update(self, entry, mono):
        """Store a plug's report; None when taken, else the reason (nothing changed)."""
        err = check_peer(entry)
        if err is not None:
            self.counters['refused'] += 1
            self.last_error = 'plug report refused: ' + err
            return self.last_error
        e = {}
        for k in ('id', 'priority', 'shed', 'on', 'load_w', 'draw_w'):
            e[k] = entry[k]
        e['delta_w'] = entry.get('delta_w', 0)
        e['delta_t'] = entry.get('delta_t')
        rows = self.rows
        row = rows.get(e['id'])
        if row is None:
            if len(rows) >= PEER_MAX:
                old = None
                for k in rows:
                    if old is None or rows[k][0] < rows[old][0]:
                        old = k
                del rows[old]
                self.counters['evicted'] += 1
            rows[e['id']] = [mono, e, None, None]
        else:
            if row[0] != mono:        # the report before came in an earlier second: shown until the next
                row[2] = row[0]
                row[3] = row[1]
            row[0] = mono
            row[1] = e
        self.counters['updates'] += 1
        return None

    def entries(self, mono):
        """The fresh reports of earlier seconds, in shedding order (least important first, then by id)."""
        out = []
        for k in list(self.rows):
            row = self.rows[k]
            if mono - row[0] > self.timeout_s or mono < row[0]:   # silent, or the clock wrapped
                del self.rows[k]
                continue
            if row[0] < mono:
                out.append(row[1])
                row[3] = None         # the report before is not shown any more: free it
            elif row[3] is not None and mono - row[2] <= self.timeout_s:
                out.append(row[3])    # reported this second: the others see its report before
        out.sort(key=lambda e: order_key(e['priority'], e['id']))
        return out
