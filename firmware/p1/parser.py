# P1 telegram parser: one framed telegram (bytes '/' through '!') in, typed objects out.
#
# Each line is parsed on its own: a malformed line (bad syntax, a value outside its type, a unit that is
# not the object's) is reported in Telegram.errors and skipped; it never reaches the objects, and the
# rest of the telegram still counts. Numbers stay exact (firmware.fixed.Dec); timestamps become UTC epoch
# seconds, the S/W suffix deciding the repeated autumn hour.
#
# What the standards allow on a line (DSMR 5.0.2 P1, e-MUCS H 1.7 / 2.x, Smarty P1 1.1), read as they
# define it:
#   ref()                          an empty value: None, for every kind of object (no parse error)
#   ref(v)                         one value of the object's kind (READERS: kind -> value reader)
#   ref(v*u)(v*u)...               an object outside the one-value table with several values of one unit
#                                  (Smarty 1-1:31.4.0(040*A)(-040*A): max import and export current):
#                                  a tuple of Dec, the unit
#   0-0:98.1.0(n)(id)(id)(...)     the e-MUCS peak history; (0)(id)(id)() is an empty history
#
# The parser's state (timestamp caches, remembered references, the reuse memo) lives in a Parser
# object: one per P1 line (P1Stack owns one); the module holds no mutable state.

from firmware.fixed import Dec, parse_dec
from firmware.p1.obis import NUMERIC, OBJECTS, channel_of, kind_of
from firmware.timebase import CET, local_to_utc, valid_fields

PLACEHOLDER_TS = '632525252525'


class Obj:
    """One object of a telegram: value (Dec | int | str | tuple of Dec | None), unit (str | None),
    ts (int | None)."""

    __slots__ = ('value', 'unit', 'ts')  # CPython: smaller and faster; MicroPython ignores it

    def __init__(self, value, unit=None, ts=None):
        self.value = value
        self.unit = unit
        self.ts = ts

    def __repr__(self):
        return 'Obj(%r, %r, %r)' % (self.value, self.unit, self.ts)

    def __eq__(self, other):
        return (isinstance(other, Obj) and self.value == other.value and self.unit == other.unit
                and self.ts == other.ts)


class Telegram:
    def __init__(self, header, crc, frame=None):
        self.header = header
        self.crc = crc
        self.frame = frame  # the bytes '/' through '!' it was read from (P1Stack(keep_frame=True))
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


def _number(g, units):
    star = g.find('*')
    if star < 0:
        if units is None:
            num = parse_dec(g)
            if num is None:
                raise LineError('value "%s": expected a number' % g)
            return num, None
        raise LineError('value "%s": expected number*unit (%s)' % (g, '/'.join(units)))
    num = parse_dec(g[:star])
    if num is None:
        raise LineError('value "%s": expected a number before the unit' % g)
    unit = g[star + 1:]
    if units is not None and unit not in units:
        for u in units:
            if u.lower() == unit.lower():
                return num, unit  # kept as written ('kVArh' from a Kamstrup)
        raise LineError('unit "%s": expected %s' % (unit, '/'.join(units)))
    if not unit:
        raise LineError('value "%s": expected a unit after the *' % g)
    return num, unit


def _int(g):
    if not g:
        return None
    if not g.isdigit():  # ASCII text here: isdigit() means 0-9
        raise LineError('value "%s": expected an integer' % g)
    return int(g)


def _groups(line, p):
    """The value groups of line[p:] ('(a)(b)' -> ['a', 'b'])."""
    if line[-1] != ')':
        raise LineError("expected the line to end with ')'")
    inner = line[p + 1:-1]
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


def _values(gs, units):
    """Several number*unit groups with one unit: (tuple of Dec, unit)."""
    nums = []
    unit = None
    for g in gs:
        num, u = _number(g, units)
        if unit is None:
            unit = u
        elif u != unit:
            raise LineError('values "%s": expected one unit, got "%s" and "%s"' % (')('.join(gs), unit, u))
        nums.append(num)
    return tuple(nums), unit


# ---- value readers, one per kind of object (obis.OBJECTS): (parser, telegram, ref, units, line, p) -> Obj
# p is the index of the first '(' in line. Each reads the common shape in place and anything else through
# _groups; a LineError (or ValueError) says what is wrong with the line.

def _one(line, p):
    # the single value group of ref(value), or None when the line has more than one
    g = line[p + 1:-1]
    if line[-1] != ')':
        raise LineError("expected the line to end with ')'")
    if '(' in g:
        return None
    if ')' in g:
        raise LineError("unbalanced ')' in the value")
    return g


def _read_num(ps, t, ref, units, line, p):
    g = _one(line, p)
    if g is None:  # the standards give these objects one value
        raise LineError('expected one value*unit, got %d values' % len(_groups(line, p)))
    if not g:
        return Obj(None)
    num, unit = _number(g, units)
    return Obj(num, unit)


def _read_int(ps, t, ref, units, line, p):
    g = line[p + 1:-1]
    if g.isdigit() and line[-1] == ')':  # the common shape, read in place
        return Obj(int(g))
    g = _one(line, p)
    if g is None:
        raise LineError('expected one integer, got %d values' % len(_groups(line, p)))
    return Obj(_int(g))


def _read_text(ps, t, ref, units, line, p):
    g = line[p + 1:-1]
    if line[-1] == ')' and '(' not in g and ')' not in g:  # the common shape, read in place
        return Obj(g or None)
    g = _one(line, p)
    if g is None:
        raise LineError('expected one text, got %d values' % len(_groups(line, p)))
    return Obj(g or None)


def _read_time(ps, t, ref, units, line, p):
    g = _one(line, p)
    if g is None:
        raise LineError('expected one timestamp, got %d values' % len(_groups(line, p)))
    if not g:
        return Obj(None)
    return Obj(None, None, ps.ts(g))


def _read_time_num(ps, t, ref, units, line, p):
    # ref(timestamp)(digits[.digits]*unit), the common shape read in place
    q = line.find('(', p + 1)
    if q > 0 and line[q - 1] == ')' and line[-1] == ')':
        star = line.find('*', q)
        if star > 0:
            unit = line[star + 1:-1]
            if unit in units:
                whole, _, frac = line[q + 1:star].partition('.')
                digits = whole + frac
                if digits.isdigit():
                    g = line[p + 1:q - 1]
                    if '(' not in g and ')' not in g:
                        return Obj(Dec(int(digits), len(frac)), unit, ps.ts(g))
    gs = _groups(line, p)
    if len(gs) == 1 and not gs[0]:
        return Obj(None)
    if len(gs) != 2:
        raise LineError('expected (timestamp)(value*unit), got %d values' % len(gs))
    ts = ps.ts(gs[0])
    if not gs[1]:
        return Obj(None, None, ts)
    if ref[:2] == '0-' and '*' not in gs[1]:
        # an M-Bus channel with no device reports a bare number ('(00000000)'): keep it, unitless
        num, unit = _number(gs[1], None)
    else:
        num, unit = _number(gs[1], units)
    return Obj(num, unit, ts)


def _read_history(ps, t, ref, units, line, p):
    # (count)(1-0:1.6.0)(1-0:1.6.0)(month start)(peak at)(value*kW)... ; count may disagree with entries.
    # An empty history is (0)(1-0:1.6.0)(1-0:1.6.0)(): the empty group is no entry (e-MUCS H 1.7).
    gs = _groups(line, p)
    if len(gs) == 1 and not gs[0]:
        return Obj(None)
    if len(gs[0]) == 13 and not gs[0].isdigit():
        # E.ON Hungary uses 0-0:98.1.0 for billing-period values (timestamp, then registers): keep raw
        t.raw[ref] = gs
        return Obj(')('.join(gs))
    if not gs[0].isdigit():
        raise LineError('history count "%s": expected an integer' % gs[0])
    count = int(gs[0])
    n = len(gs)
    b = 1
    while b < n and (gs[b] in _HOW or _valid_ref(gs[b])):
        b += 1
    while n > b and not gs[n - 1] and (n - b) % 3:
        n -= 1  # trailing empty groups: no entry
    if (n - b) % 3:
        raise LineError('history: %d groups after the ids, expected (month start)(peak at)(value*unit) '
                        'triples' % (n - b))
    entries = []
    ts = ps.ts
    for i in range(b, n, 3):
        g = gs[i + 2]
        star = g.find('*')
        unit = g[star + 1:]
        num = None
        if star > 0 and unit in units:  # the usual digits[.digits]*kW, read in place
            whole, _, frac = g[:star].partition('.')
            digits = whole + frac
            if digits.isdigit():
                num = Dec(int(digits), len(frac))
        if num is None:
            num, unit = _number(g, units)
        entries.append((ts(gs[i]), ts(gs[i + 1]), num, unit))
    t.history = entries
    return Obj(count)


def _read_log(ps, t, ref, units, line, p):
    # (count)(0-0:96.7.19)(end of failure)(duration*s)...
    gs = _groups(line, p)
    if gs[0] and not gs[0].isdigit():
        raise LineError('event log count "%s": expected an integer' % gs[0])
    count = int(gs[0]) if gs[0] else 0
    body = gs[1:]
    if body and (body[0] == '0-0:96.7.19' or _valid_ref(body[0])):  # the standard's id, else any
        body = body[1:]
    if len(body) == 1 and not body[0]:
        body = []  # (0)(0-0:96.7.19)(): an empty log
    if len(body) % 2:
        raise LineError('event log: expected (timestamp)(duration*s) pairs, got %d values' % len(body))
    events = []
    for i in range(0, len(body), 2):
        num, _ = _number(body[i + 1], ('s',))
        events.append((ps.ts(body[i]), num))
    t.events = events
    return Obj(count)


def _read_gas22(ps, t, ref, units, line, p):
    # DSMR 2.2/3: (timestamp)(00)(60)(1)(0-n:24.2.1)(m3) with the value on the next line
    gs = _groups(line, p)
    if len(gs) < 6:
        raise LineError('DSMR 2.2 gas: expected 6 values, got %d' % len(gs))
    unit = gs[5]
    if unit not in units:
        raise LineError('unit "%s": expected %s' % (unit, '/'.join(units)))
    return Obj(None, unit, ps.ts(gs[0]))


def _read_other(ps, t, ref, units, line, p):
    # an object no supported standard defines: number*unit values typed, anything else kept as text
    gs = _groups(line, p)
    if len(gs) == 1:
        g = gs[0]
        if not g:
            return Obj(None)
        if '*' in g:
            num, unit = _number(g, None)
            return Obj(num, unit)
    else:
        try:
            nums, unit = _values(gs, None)
            if unit is not None:
                return Obj(nums, unit)
        except LineError:
            pass
    t.raw[ref] = gs
    return Obj(')('.join(gs))


READERS = {'N': _read_num, 'I': _read_int, 'S': _read_text, 'T': _read_time, 'TN': _read_time_num,
           'H': _read_history, 'L': _read_log, 'G': _read_gas22, None: _read_other}

# the fast path's view of the number*unit objects: ref -> {'unit)': 'unit'} (what follows the '*')
_NUM_ENDS = {}
for _r, _units in NUMERIC.items():
    _NUM_ENDS[_r] = {}
    for _u in _units:
        _NUM_ENDS[_r][_u + ')'] = _u
_HOW_OF = {}  # (kind, units) -> (value reader, units, kind): one tuple per kind of object, shared
_OTHER = (_read_other, None, None)


def _how_of(spec):
    how = _HOW_OF.get(spec)
    if how is None:
        how = _HOW_OF[spec] = (READERS[spec[0]], spec[1], spec[0])
    return how


_HOW = {}  # the table's references that name one object (no '*' channel; all valid): (reader, units, kind)
for _r, _spec in OBJECTS.items():
    if '*' not in _r:
        _HOW[_r] = _how_of(_spec)
# hour starts kept for the clock's stream: the repeating timestamps (history, peaks, gas) are in the
# timestamp caches already, so only the clock (and the odd miss) needs its hour; each entry is a key and a
# long int (UTC seconds do not fit MicroPython's small ints): a few keep the heap small
HOURS_KEPT = 4
TS_GEN = 32  # timestamps per cache generation: a 13-month history (26) + peak, gas and clock fit in one


class Parser:
    """The parsing state of one P1 line: timestamp caches, remembered references, the reuse memo.

    std: the meter's standard time, minutes east of UTC (CET). reuse: a line identical to one of the
    previous telegram's takes that telegram's object instead of being parsed again (a meter repeats its
    ids, versions, history and gas reading every second); objects are then shared between telegrams:
    treat them as read-only. The memo holds one telegram's lines at most.
    """

    def __init__(self, std=CET, reuse=False):
        self.std = std
        self.memo = {} if reuse else None
        # Timestamps: most of a telegram's (a 13-month history's 26, peaks, gas) repeat every second while
        # the clock makes a new one every second: two generations of TS_GEN (a full young generation
        # becomes the old one) keep the repeating ones through the clock's stream (~3 KB at most). The clock itself costs one hour lookup:
        # within a local hour the UTC offset cannot change when std is a whole number of hours (EU
        # changes happen at 01:00 UTC), so UTC = that hour's start + mm * 60 + ss.
        self.ts_new = {}
        self.ts_old = {}
        self.hours = {}
        self.readers = {}  # references outside the table (M-Bus channels, F groups, unknown objects):
        #                    (value reader, units, kind), at most 32

    def _how(self, ref):
        spec = self.spec(ref)  # LineError for a malformed reference
        how = _OTHER if spec is None else _how_of(spec)
        readers = self.readers
        if len(readers) >= 32:
            readers.clear()
        readers[ref] = how
        return how

    def ts(self, s):
        """UTC epoch seconds of 'YYMMDDhhmmss' + optional 'S'/'W'; None for the placeholder."""
        hit = self.ts_new.get(s, -1)
        if hit != -1:
            return hit
        hit = self.ts_old.get(s, -1)
        if hit == -1:
            hit = self._ts(s)
        new = self.ts_new
        if len(new) >= TS_GEN:
            old = self.ts_old
            self.ts_old = new
            old.clear()
            self.ts_new = new = old
        new[s] = hit
        return hit

    def _ts(self, s):
        n = len(s)
        std = self.std
        flag = None
        if n == 13:
            flag = s[12].upper()  # some Landis+Gyr meters send a lower-case suffix
            if flag != 'S' and flag != 'W':
                raise LineError('timestamp "%s": expected suffix S or W' % s)
        elif n != 12:
            raise LineError('timestamp "%s": expected YYMMDDhhmmss plus S/W' % s)
        if s[:12] == PLACEHOLDER_TS:
            return None
        if not s[:12].isdigit():  # the parser's texts are ASCII: isdigit() means 0-9
            raise LineError('timestamp "%s": expected digits' % s)
        mi = int(s[8:10])
        se = int(s[10:12])
        hours = self.hours
        whole = std % 60 == 0 and mi < 60 and se < 60
        if whole:
            hk = s[:8] if flag is None else s[:8] + flag
            hour = hours.get(hk)
            if hour is not None:
                return hour + mi * 60 + se
        y = int(s[0:2])
        y += 1900 if y >= 70 else 2000  # as POSIX strptime %y; meters write 700101... for 'never'
        mo = int(s[2:4])
        d = int(s[4:6])
        h = int(s[6:8])
        if not valid_fields(y, mo, d, h, mi, se):
            raise LineError('timestamp "%s": no such date or time' % s)
        t = local_to_utc(y, mo, d, h, mi, se, flag, std)
        if whole:
            if len(hours) >= HOURS_KEPT:
                hours.clear()
            hours[hk] = t - mi * 60 - se
        return t

    def spec(self, ref):
        """(kind, units) of ref (None: an object no standard defines); LineError for a bad reference."""
        spec = kind_of(ref)  # the callers remember the answer (Parser.readers)
        if spec is None and not _valid_ref(ref):
            raise LineError('reference "%s": expected A-B:C.D.E' % ref)
        return spec

    def parse(self, raw, crc='ok'):
        """The Telegram in one framed telegram (bytes from '/' through '!')."""
        nl = raw.find(b'\n')
        if nl < 0:
            nl = len(raw) - 1
        try:
            # one ASCII text of the telegram (its own size)
            text = raw.decode('ascii')
        except Exception:
            text = None
        t = Telegram((_text(raw[1:nl]) if text is None else text[1:nl]).rstrip('\r'), crc)
        memo = self.memo
        fresh = None if memo is None else {}
        if text is None:
            self._lines_slow(t, raw, nl)
        else:
            # its lines, split at once (the lines are made either way; the list is a word per line).
            # Every line end a CRLF (as meters write them): split at '\r\n', else at '\n' and drop a '\r'.
            lines = text.split('\r\n')
            if len(lines) - 1 != text.count('\n'):  # some line ends are a bare '\n'
                lines = [x[:-1] if x[-1:] == '\r' else x for x in text.split('\n')]
            else:
                last = lines[-1]
                if last[-1:] == '\r':  # a last line without its '\n'
                    lines[-1] = last[:-1]
            text = None
            lines[0] = ''  # the header (line 1), read above
            self._lines(t, lines, 1, fresh)
        if memo is not None:
            memo.clear()
            memo.update(fresh)
        return t

    def _lines_slow(self, t, raw, nl):
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
            self._lines(t, [line[:-1] if line[-1:] == '\r' else line], line_no, None)

    def _lines(self, t, lines, line_no, fresh):
        # lines[i] is line line_no + i of the telegram, without its line end
        objects = t.objects
        numeric = _NUM_ENDS.get
        table = _HOW.get
        readers = self.readers.get
        memo = None if fresh is None else self.memo
        pending = None  # the DSMR 2.2 gas object waiting for its value line
        for i, line in enumerate(lines):
            if not line:
                continue
            if memo is not None:
                hit = memo.get(line)
                if hit is not None:
                    objects[hit[0]] = hit[1]
                    if len(hit) == 4:  # what the line set besides its object: raw groups, history, log
                        what = hit[2]
                        if what == 'raw':
                            t.raw[hit[0]] = hit[3]
                        elif what == 'history':
                            t.history = hit[3]
                        else:
                            t.events = hit[3]
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
                        obj = Obj(Dec(int(digits), len(frac)), unit)
                        objects[ref] = obj
                        if fresh is not None:
                            fresh[line] = (ref, obj)
                        pending = None
                        continue
            how = table(ref)  # (reader, units, kind) of the reference: the table's, else this line's own
            if how is None:
                how = readers(ref)
            if how is not None:
                # the common shapes of integers and texts, read in place: ref(digits), ref(text)
                kind = how[2]
                if kind == 'I' or kind == 'S':
                    g = rest[:-1]
                    if rest[-1:] == ')' and (g.isdigit() if kind == 'I' else '(' not in g and ')' not in g):
                        obj = Obj(int(g)) if kind == 'I' else Obj(g or None)
                        objects[ref] = obj
                        if fresh is not None:
                            fresh[line] = (ref, obj)
                        pending = None
                        continue
            elif line == '!':
                continue
            try:
                if not opened or not ref:
                    if not ref and opened and pending is not None:
                        _gas_value(pending, line)
                        pending = None
                        continue
                    raise LineError("expected OBIS-reference(value), found no '('" if not opened else
                                    'expected an OBIS reference before the value')
                pending = None
                if how is None:
                    how = self._how(ref)
                obj = how[0](self, t, ref, how[1], line, len(ref))
                objects[ref] = obj
                kind = how[2]
                if kind == 'G':
                    pending = obj
                elif fresh is not None:
                    if ref in t.raw:
                        fresh[line] = (ref, obj, 'raw', t.raw[ref])
                    elif kind == 'H':
                        fresh[line] = (ref, obj, 'history', t.history)
                    elif kind == 'L':
                        fresh[line] = (ref, obj, 'events', t.events)
                    else:
                        fresh[line] = (ref, obj)
            except LineError as e:
                t.errors.append((line_no + i, line, str(e.args[0]) if e.args else 'malformed'))
            except ValueError:  # int()/float() refused it; their wording differs between the interpreters
                # (and the line errors quote what came with "%s", not %r: repr() escapes non-ASCII text on
                # MicroPython only)
                t.errors.append((line_no + i, line, 'bad value: not a number'))


def _gas_value(obj, line):
    g = _groups(line, 0)
    if len(g) != 1:
        raise LineError('DSMR 2.2 gas value: expected one value')
    num = parse_dec(g[0])
    if num is None:
        raise LineError('DSMR 2.2 gas value "%s": expected a number' % g[0])
    obj.value = num


def parse_telegram(raw, crc='ok', std=CET, parser=None):
    """Parse one framed telegram (bytes from '/' through '!'): with a fresh Parser (cold caches) unless
    one is given (a P1 line's own, see P1Stack)."""
    return (parser or Parser(std)).parse(raw, crc)


def parse_ts(s, std=CET):
    """UTC epoch seconds of one timestamp text (a fresh Parser: no cache)."""
    return Parser(std)._ts(s)
