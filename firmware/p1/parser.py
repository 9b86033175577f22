# P1 telegram parser: one framed telegram (bytes '/' through '!') in, typed objects out.
#
# Each line is parsed on its own: a malformed line (bad syntax, a value outside its type, a unit that is
# not the object's) is reported in Telegram.errors and skipped; it never reaches the objects, and the
# rest of the telegram still counts. Numbers stay exact (firmware.fixed.Dec); timestamps become UTC epoch
# seconds, the S/W suffix deciding the repeated autumn hour.

from firmware.fixed import Dec, parse_dec
from firmware.p1.obis import NUMERIC, OBJECTS, channel_of, kind_of
from firmware.timebase import CET, local_to_utc, valid_fields

PLACEHOLDER_TS = '632525252525'


class Obj:
    """One object of a telegram: value (Dec | int | str | None), unit (str | None), ts (int | None)."""

    __slots__ = ('_v', 'unit', 'ts')  # CPython: smaller and faster; MicroPython ignores it

    def __init__(self, value, unit=None, ts=None):
        self._v = value
        self.unit = unit
        self.ts = ts

    def _get(self):
        return self._v

    def _set(self, v):
        self._v = v

    value = property(_get, _set)

    def __repr__(self):
        return 'Obj(%r, %r, %r)' % (self.value, self.unit, self.ts)

    def __eq__(self, other):
        return (isinstance(other, Obj) and self.value == other.value and self.unit == other.unit
                and self.ts == other.ts)


_LAZY = object()


class _Num(Obj):
    """A number*unit Obj from the parser's fast path: the digits are checked and the mantissa and
    decimals computed when the line is parsed; the Dec that holds them is made when .value is first read
    (one allocation per value fewer when nobody reads it)."""

    __slots__ = ('_m', '_e')

    def __init__(self, m, e, unit, ts=None):
        self._v = _LAZY
        self._m = m
        self._e = e
        self.unit = unit
        self.ts = ts

    def _get(self):
        v = self._v
        if v is _LAZY:
            v = self._v = Dec(self._m, self._e)
        return v

    value = property(_get, Obj._set)


class Telegram:
    def __init__(self, header, crc):
        self.header = header
        self.crc = crc
        self.objects = {}
        self.history = []
        self.events = []
        self.errors = []
        self.raw = {}

    def get(self, ref):
        return self.objects.get(ref)

    def mbus(self):
        """{channel: {ref: Obj}} of the M-Bus devices (channels 1..n)."""
        out = {}
        for ref, obj in self.objects.items():
            ch = channel_of(ref)
            if ch:
                d = out.get(ch)
                if d is None:
                    d = out[ch] = {}
                d[ref] = obj
        return out


class LineError(Exception):
    pass


def _text(b):
    # header bytes may be outside ASCII (0x02, 0xAB seen in real meters): map bytes to code points 1:1
    try:
        return b.decode()
    except Exception:
        return ''.join([chr(x) for x in b])


# Timestamp caches, for one std at a time (a meter has one). Most timestamps of a telegram (history,
# peaks, gas) repeat every second while the clock makes a new one every second: two generations of 16
# (a full young generation becomes the old one) keep the repeating ones through the clock's stream.
# The clock itself costs one hour lookup: within a local hour the UTC offset cannot change when std is a
# whole number of hours (EU changes happen at 01:00 UTC), so UTC = that hour's start + mm * 60 + ss.
_TS_NEW = {}
_TS_OLD = {}
_TS_STD = [None]
_HOUR = {}


def parse_ts(s, std=CET):
    """UTC epoch seconds of 'YYMMDDhhmmss' + optional 'S'/'W'; None for the placeholder."""
    global _TS_NEW, _TS_OLD
    if std != _TS_STD[0]:
        _TS_NEW.clear()
        _TS_OLD.clear()
        _HOUR.clear()
        _TS_STD[0] = std
    hit = _TS_NEW.get(s, -1)
    if hit != -1:
        return hit
    hit = _TS_OLD.get(s, -1)
    if hit == -1:
        hit = _parse_ts(s, std)
    if len(_TS_NEW) >= 16:
        old = _TS_OLD
        _TS_OLD = _TS_NEW
        old.clear()
        _TS_NEW = old
    _TS_NEW[s] = hit
    return hit


def _parse_ts(s, std):
    n = len(s)
    flag = None
    if n == 13:
        flag = s[12].upper()  # some Landis+Gyr meters send a lower-case suffix
        if flag != 'S' and flag != 'W':
            raise LineError('timestamp %r: expected suffix S or W' % s)
    elif n != 12:
        raise LineError('timestamp %r: expected YYMMDDhhmmss plus S/W' % s)
    if s[:12] == PLACEHOLDER_TS:
        return None
    if not s[:12].isdigit():  # the parser's texts are ASCII: isdigit() means 0-9
        raise LineError('timestamp %r: expected digits' % s)
    mi = int(s[8:10])
    se = int(s[10:12])
    hour = None
    if std % 60 == 0 and mi < 60 and se < 60:
        hk = s[:8] if flag is None else s[:8] + flag
        hour = _HOUR.get(hk)
        if hour is not None:
            return hour + mi * 60 + se
    y = int(s[0:2])
    y += 1900 if y >= 70 else 2000  # as POSIX strptime %y; meters write 700101... for 'never'
    mo = int(s[2:4])
    d = int(s[4:6])
    h = int(s[6:8])
    if not valid_fields(y, mo, d, h, mi, se):
        raise LineError('timestamp %r: no such date or time' % s)
    t = local_to_utc(y, mo, d, h, mi, se, flag, std)
    if std % 60 == 0:
        if len(_HOUR) >= 16:
            _HOUR.clear()
        _HOUR[hk] = t - mi * 60 - se
    return t


def _number(g, units):
    star = g.find('*')
    if star < 0:
        if units is None:
            num = parse_dec(g)
            if num is None:
                raise LineError('value %r: expected a number' % g)
            return num, None
        raise LineError('value %r: expected number*unit (%s)' % (g, '/'.join(units)))
    num = parse_dec(g[:star])
    if num is None:
        raise LineError('value %r: expected a number before the unit' % g)
    unit = g[star + 1:]
    if units is not None and unit not in units:
        for u in units:
            if u.lower() == unit.lower():
                return num, unit  # kept as written ('kVArh' from a Kamstrup)
        raise LineError('unit %r: expected %s' % (unit, '/'.join(units)))
    return num, unit


def _int(g):
    if not g:
        return None
    if not g.isdigit():  # ASCII text here: isdigit() means 0-9
        raise LineError('value %r: expected an integer' % g)
    return int(g)


def _groups(rest):
    if rest[-1] != ')':
        raise LineError("expected the line to end with ')'")
    inner = rest[1:-1]
    if '(' in inner.replace(')(', ''):
        raise LineError("unbalanced '(' in the value")
    gs = inner.split(')(')
    for g in gs:
        if ')' in g:
            raise LineError("unbalanced ')' in the value")
    return gs


def _valid_ref(ref):
    dash = ref.find('-')
    colon = ref.find(':')
    if dash <= 0 or colon <= dash + 1:
        return False
    parts = ref[colon + 1:].split('.')
    if len(parts) != 3:
        return False
    star = parts[2].find('*')
    if star >= 0:  # optional F group: 1-0:1.8.0*255
        f = parts[2][star + 1:]
        if not f.isdigit():
            return False
        parts[2] = parts[2][:star]
    for p in (ref[:dash], ref[dash + 1:colon], parts[0], parts[1], parts[2]):
        if not p or not p.isdigit():
            return False
    return True


def _history(t, gs, units, std):
    # (count)(1-0:1.6.0)(1-0:1.6.0)(month start)(peak at)(value*kW)... ; count may disagree with entries
    if len(gs[0]) == 13 and not gs[0].isdigit():
        # E.ON Hungary uses 0-0:98.1.0 for billing-period values (timestamp, then registers): keep raw
        t.raw['0-0:98.1.0'] = gs
        return Obj(')('.join(gs))
    try:
        count = int(gs[0])
    except ValueError:
        raise LineError('history count %r: expected an integer' % gs[0])
    n = len(gs)
    b = 1
    while b < n and (gs[b] in _PLAIN_REFS or _valid_ref(gs[b])):
        b += 1
    if (n - b) % 3:
        raise LineError('history: %d groups after the ids, expected triples' % (n - b))
    entries = []
    for i in range(b, n, 3):
        g = gs[i + 2]
        star = g.find('*')
        unit = g[star + 1:]
        num = None
        if star > 0 and unit in units:  # the usual digits[.digits]*kW, read in place
            digits = g[:star]
            dot = digits.find('.')
            if dot >= 0:
                digits = digits.replace('.', '', 1)
            if digits.isdigit():
                num = Dec(int(digits), 0 if dot < 0 else star - dot - 1)
        if num is None:
            num, unit = _number(g, units)
        entries.append((parse_ts(gs[i], std), parse_ts(gs[i + 1], std), num, unit))
    t.history = entries
    return Obj(count)


def _log(t, gs, std):
    # (count)(0-0:96.7.19)(end of failure)(duration*s)...
    try:
        count = int(gs[0]) if gs[0] else 0
    except ValueError:
        raise LineError('event log count %r: expected an integer' % gs[0])
    body = gs[1:]
    if body and _valid_ref(body[0]):
        body = body[1:]
    if len(body) % 2:
        raise LineError('event log: expected (timestamp)(duration*s) pairs')
    events = []
    for i in range(0, len(body), 2):
        num, _ = _number(body[i + 1], ('s',))
        events.append((parse_ts(body[i], std), num))
    t.events = events
    return Obj(count)


def parse_value(t, ref, spec, gs, std):
    """The Obj for reference ref of kind spec with value groups gs (LineError when they do not fit)."""
    if spec is None:
        if len(gs) == 1 and '*' in gs[0]:
            num, unit = _number(gs[0], None)
            return Obj(num, unit)
        t.raw[ref] = gs
        return Obj(')('.join(gs))
    kind, units = spec
    if kind == 'N':
        if len(gs) != 1:
            raise LineError('expected one value, got %d' % len(gs))
        num, unit = _number(gs[0], units)
        return Obj(num, unit)
    if kind == 'I':
        if len(gs) != 1:
            raise LineError('expected one value, got %d' % len(gs))
        return Obj(_int(gs[0]))
    if kind == 'S':
        if len(gs) != 1:
            raise LineError('expected one value, got %d' % len(gs))
        return Obj(gs[0] or None)
    if kind == 'T':
        if len(gs) != 1:
            raise LineError('expected one timestamp, got %d values' % len(gs))
        return Obj(None, None, parse_ts(gs[0], std))
    if kind == 'TN':
        if len(gs) != 2:
            raise LineError('expected (timestamp)(value*unit), got %d values' % len(gs))
        ts = parse_ts(gs[0], std)
        if ref[:2] == '0-' and '*' not in gs[1]:
            # an M-Bus channel with no device reports a bare number ('(00000000)'): keep it, unitless
            num, unit = _number(gs[1], None)
        else:
            num, unit = _number(gs[1], units)
        return Obj(num, unit, ts)
    if kind == 'H':
        return _history(t, gs, units, std)
    if kind == 'L':
        return _log(t, gs, std)
    # 'G': (timestamp)(00)(60)(1)(0-n:24.2.1)(m3) with the value on the next line
    if len(gs) < 6:
        raise LineError('DSMR 2.2 gas: expected 6 values, got %d' % len(gs))
    unit = gs[5]
    if unit not in units:
        raise LineError('unit %r: expected %s' % (unit, '/'.join(units)))
    return Obj(None, unit, parse_ts(gs[0], std))


_SPEC_CACHE = {}
# the fast path's view of the number*unit objects: ref -> {'unit)': 'unit'} (what follows the '*')
_NUM_ENDS = {}
for _r, _units in NUMERIC.items():
    _NUM_ENDS[_r] = {}
    for _u in _units:
        _NUM_ENDS[_r][_u + ')'] = _u
_PLAIN_REFS = {}  # the table's references that name one object (no '*' channel): all valid
for _r in OBJECTS:
    if '*' not in _r:
        _PLAIN_REFS[_r] = True
_MEMO_KINDS = ('N', 'I', 'S', 'T', 'TN')  # kinds whose whole effect is objects[ref] = obj


def _spec(ref):
    # references outside the table (M-Bus channels, F groups, unknown objects), remembered
    hit = _SPEC_CACHE.get(ref, 0)
    if hit != 0:
        return hit
    spec = kind_of(ref)
    if spec is None and not _valid_ref(ref):
        raise LineError('reference %r: expected A-B:C.D.E' % ref)
    if len(_SPEC_CACHE) >= 32:
        _SPEC_CACHE.clear()
    _SPEC_CACHE[ref] = spec
    return spec


def parse_telegram(raw, crc='ok', std=CET, memo=None):
    """Parse one framed telegram (bytes from '/' through '!').

    memo: a dict the caller keeps between telegrams (or None). A meter repeats most lines from one
    telegram to the next (ids, versions, history, gas, counters); with a memo, a line identical to one of
    the previous telegram's takes that telegram's object instead of being parsed again. Objects are then
    shared between telegrams: treat them as read-only. The memo holds one telegram's lines at most.
    """
    nl = raw.find(b'\n')
    if nl < 0:
        nl = len(raw) - 1
    try:
        # one ASCII text of the telegram (its own size), scanned line by line without a line list
        text = raw.decode('ascii')
    except Exception:
        text = None
    t = Telegram((_text(raw[1:nl]) if text is None else text[1:nl]).rstrip('\r'), crc)
    fresh = None if memo is None else {}
    if text is None:
        _parse_lines_slow(t, raw, nl, std)
    else:
        _parse_lines(t, text, nl, std, 1, memo, fresh)
    if memo is not None:
        memo.clear()
        memo.update(fresh)
    return t


def _parse_lines_slow(t, raw, nl, std):
    # a telegram with non-ASCII bytes outside its header: decode line by line, report the bad ones
    n = len(raw)
    start = nl + 1
    line_no = 1
    while start < n:
        end = raw.find(b'\n', start)
        if end < 0:
            end = n
        line_no += 1
        b = raw[start:end]
        start = end + 1
        try:
            line = b.decode('ascii')
        except Exception:
            t.errors.append((line_no, _text(b), 'not ASCII text'))
            continue
        _parse_lines(t, line, -1, std, line_no - 1)


def _parse_lines(t, text, nl, std, line_no=1, memo=None, fresh=None):
    objects = t.objects
    errors = t.errors
    known = OBJECTS.get
    numeric = _NUM_ENDS.get
    spec_cache = _SPEC_CACHE.get
    find = text.find
    n = len(text)
    start = nl + 1
    pending = None  # reference of a DSMR 2.2 gas object waiting for its value line
    # every line end a CRLF (as meters write them): look for '\r\n' and skip the per-line '\r' test
    crlf = text.count('\n') == text.count('\r\n')
    sep = '\r\n' if crlf else '\n'
    w = len(sep)
    first = start
    while start < n:
        end = find(sep, start)
        s0 = start
        if end < 0:
            end = n
            stop = end - 1 if end > start and text[end - 1] == '\r' else end
        elif crlf:
            stop = end
        else:
            stop = end - 1 if end > start and text[end - 1] == '\r' else end
        start = end + w
        if stop <= s0:
            continue
        line = text[s0:stop]
        if memo is not None:
            hit = memo.get(line)
            if hit is not None:
                objects[hit[0]] = hit[1]
                if len(hit) == 3:  # an object no standard defines: its raw groups too
                    t.raw[hit[0]] = hit[2]
                fresh[line] = hit
                pending = None
                continue
        # fast path, the shape of almost every line: ref(digits[.digits]*unit), read in place
        # (a second value group cannot slip through: its ')(' would sit in the number or the unit)
        ref, opened, rest = line.partition('(')
        ends = numeric(ref)
        if ends is not None:
            num, _, tail = rest.partition('*')
            unit = ends.get(tail)  # tail is 'unit)' for one of the object's units, or no match
            if unit is not None:
                whole, _, frac = num.partition('.')
                digits = whole + frac
                if digits.isdigit():
                    obj = _Num(int(digits), len(frac), unit)
                    objects[ref] = obj
                    if fresh is not None:
                        fresh[line] = (ref, obj)
                    pending = None
                    continue
        elif opened and ref and line[-1] == ')':
            p = len(ref)
            # the other one- and two-group shapes, read in place; any doubt goes the slow way below,
            # which parses the line again and reports what is wrong with it
            spec = known(ref)
            if spec is None:
                spec = spec_cache(ref)
            if spec is not None:
                kind = spec[0]
                q = line.find('(', p + 1)
                obj = None
                if q < 0:
                    g = line[p + 1:-1]
                    if kind == 'S':
                        if ')' not in g:
                            obj = Obj(g or None)  # '()' means the meter has no such text
                    elif kind == 'I':
                        if g.isdigit():
                            obj = Obj(int(g))
                    elif kind == 'T':
                        try:
                            obj = Obj(None, None, parse_ts(g, std))
                        except LineError:
                            pass
                elif kind == 'H' or kind == 'L':
                    # history / event log: set t.history / t.events only when the whole line is good
                    try:
                        if kind == 'H':
                            objects[ref] = _history(t, _groups(line[p:]), spec[1], std)
                        else:
                            objects[ref] = _log(t, _groups(line[p:]), std)
                        pending = None
                        continue
                    except (LineError, ValueError):
                        pass
                elif kind == 'TN' and line[q - 1] == ')':
                    # ref(timestamp)(digits[.digits]*unit): the checks below leave no room for a
                    # stray '(' or ')' (nor a third group) anywhere in the line
                    star = line.find('*', q)
                    if star > 0:
                        unit = line[star + 1:-1]
                        if unit in spec[1]:
                            whole, _, frac = line[q + 1:star].partition('.')
                            digits = whole + frac
                            if digits.isdigit():
                                try:
                                    ts = parse_ts(line[p + 1:q - 1], std)
                                except LineError:
                                    ts = -1
                                if ts != -1:
                                    obj = _Num(int(digits), len(frac), unit, ts)
                if obj is not None:
                    objects[ref] = obj
                    if fresh is not None:
                        fresh[line] = (ref, obj)
                    pending = None
                    continue
        if line == '!':
            continue
        try:
            p = line.find('(')
            if p <= 0:
                if p == 0 and pending is not None:
                    _gas_value(objects[pending], line)
                    pending = None
                    continue
                raise LineError("expected OBIS-reference(value), found no '('")
            pending = None
            ref = line[:p]
            spec = known(ref)
            if spec is None:
                spec = _spec(ref)
            if line[-1] != ')':
                raise LineError("expected the line to end with ')'")
            kind = None if spec is None else spec[0]
            obj = None
            if kind is not None and line.find('(', p + 1) < 0:
                # one value group: the shape of almost every line
                if kind == 'N':
                    num, unit = _number(line[p + 1:-1], spec[1])
                    obj = Obj(num, unit)
                else:
                    g = line[p + 1:-1]
                    if ')' in g:
                        raise LineError("unbalanced ')' in the value")
                    if kind == 'S':
                        obj = Obj(g or None)  # '()' means the meter has no such text
                    elif kind == 'I':
                        obj = Obj(_int(g))
                    elif kind == 'T':
                        obj = Obj(None, None, parse_ts(g, std))
            if obj is None:
                obj = parse_value(t, ref, spec, _groups(line[p:]), std)
            objects[ref] = obj
            if kind == 'G':
                pending = ref
            elif fresh is not None:
                if kind in _MEMO_KINDS:
                    fresh[line] = (ref, obj)
                elif kind is None:  # an object no standard defines: typed, or kept raw
                    raw = t.raw.get(ref)
                    fresh[line] = (ref, obj) if raw is None else (ref, obj, raw)
        except LineError as e:
            errors.append((line_no + 1 + text.count('\n', first, s0), line,
                           str(e.args[0]) if e.args else 'malformed'))
        except ValueError as e:
            errors.append((line_no + 1 + text.count('\n', first, s0), line, 'bad value: %s' % e))


def _gas_value(obj, line):
    g = _groups(line)
    if len(g) != 1:
        raise LineError('DSMR 2.2 gas value: expected one value')
    num = parse_dec(g[0])
    if num is None:
        raise LineError('DSMR 2.2 gas value %r: expected a number' % g[0])
    obj.value = num
