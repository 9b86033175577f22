"""Line faults on demand, each recorded with the effect the SmartMeter's reader must report.

The byte-level faults are pure functions on a telegram's bytes. `FaultInjector` applies them to the
stream of telegrams a meter produces (also pure: no I/O, no clock; the writer stamps when a telegram
went out) and keeps a `FaultRecord` per fault: what, which telegram, the meter's time, the details
(positions, bytes, baud rates) and `expect`, the change in the reader's counters compared with the same
telegrams sent clean. `expected_counters(n)` sums them for n telegrams produced.

Expectations follow the P1 framing rules (a frame runs from '/' through '!' + CRC; a '/' inside a frame
cuts it off; bytes outside frames are garbage, CR/LF excepted). Faults are chosen so that the effect is
certain: a bit flip never creates a '/' or '!', noise and garbage never contain '/', '!', CR or LF, both
stay clear of the line end before the '!' (a reader takes '!' as the end mark only at a line start), a
truncation cuts before the '!'. Where the effect cannot be known in advance (a wrong baud rate whose
bytes happen to contain a '/', anything spliced into a DSMR 2.2 telegram, which has no CRC), the record
says `exact=False` and only the lost telegram is certain.

Kinds and parameters (all optional):
- bitflip(pos, bit): one bit of one byte inside the telegram body; a CRC error.
- wrong_crc(): the CRC digits replaced by another value (added to a DSMR 2.2 telegram); a CRC error.
- truncate(keep): only the first `keep` bytes are sent (1 <= keep <= index of '!'); counted as truncated
  when the next telegram starts.
- drop(): the telegram is not sent at all; only missing.
- garbage(n=16): n random bytes before the telegram, between it and the previous one; garbage bytes.
- noise(pos, n=8): n bytes inside the body overwritten by random bytes; a CRC error.
- wrong_baud(baud): the telegram sent at another baud rate (default 1/12 or 1/8 of the line's); the
  receiver decodes garbage, or the telegram intact when the error is within a UART's tolerance (~4 %).
- any of these on every telegram for a while: repeat(kind, **params) ... stop_repeat() (e.g. a noisy line:
  repeat('noise', pos=1) spoils every telegram's identification line, CRC or not).
- cable_pull(telegrams=2, cut, resume=0): the cable is pulled `cut` bytes into this telegram (0: between
  telegrams) and stays out for `telegrams` periods; it is plugged back `resume` bytes into the telegram
  of the period after (0: between telegrams), whose tail then arrives alone.
"""

from __future__ import annotations

import random
import threading
from typing import Any

import attrs

from firmware.p1.crc16 import crc16_arc
from firmware.p1.reader import no_crc_problem

from .uart import UartFormat, misbaud

KINDS = ('bitflip', 'wrong_crc', 'truncate', 'drop', 'garbage', 'noise', 'wrong_baud', 'cable_pull')
COUNTERS = ('accepted', 'crc_errors', 'truncated', 'oversized', 'garbage_bytes')
_FRAMING = frozenset(b'/!\r\n')


# ---- pure byte-level faults -------------------------------------------------------------------------
def end_mark(telegram: bytes) -> int:
    """Return the index of the '!' that ends the telegram's body (ValueError when there is none)."""
    i = telegram.rfind(b'!')
    if i < 1 or telegram[:1] != b'/':
        raise ValueError("telegram: expected '/' ... '!', got %r..." % telegram[:20])
    return i


def flip_bit(data: bytes, pos: int, bit: int) -> bytes:
    """Return data with bit `bit` (0 = least significant) of byte `pos` inverted."""
    if not 0 <= pos < len(data) or not 0 <= bit < 8:
        raise ValueError('bit flip: expected 0 <= pos < %d and 0 <= bit < 8, got pos %d bit %d'
                         % (len(data), pos, bit))
    out = bytearray(data)
    out[pos] ^= 1 << bit
    return bytes(out)


def body_end(telegram: bytes) -> int:
    """Return the index of the line end just before the end mark: faults inside a body stay before it.

    A reader takes a '!' as the end mark only at the start of a line, so that LF is part of the framing.
    """
    return end_mark(telegram) - 1


def pick_bitflip(telegram: bytes, rng: random.Random) -> tuple[int, int]:
    """Pick a random (pos, bit) in the body whose flip creates no framing byte ('/', '!', CR, LF)."""
    end = body_end(telegram)
    while True:
        pos = rng.randrange(1, end)
        bit = rng.randrange(8)
        if telegram[pos] ^ (1 << bit) not in _FRAMING:
            return pos, bit


def replace_crc(telegram: bytes) -> bytes:
    """Return the telegram with a wrong CRC (a CRC-less telegram gets one)."""
    bang = end_mark(telegram)
    body = telegram[:bang + 1]
    right = crc16_arc(body)
    given = telegram[bang + 1:bang + 5]
    try:
        old = int(given, 16) if len(given) == 4 else right
    except ValueError:
        old = right
    wrong = (old + 1) & 0xFFFF
    if wrong == right:
        wrong = (wrong + 1) & 0xFFFF
    tail = telegram[bang + 5:] if len(given) == 4 and given.isalnum() else telegram[bang + 1:]
    return body + b'%04X' % wrong + tail


def random_bytes(n: int, rng: random.Random, exclude: frozenset[int] = _FRAMING) -> bytes:
    """Return n random bytes, none of them in exclude."""
    allowed = [b for b in range(256) if b not in exclude]
    return bytes(rng.choice(allowed) for _ in range(n))


def overwrite(data: bytes, pos: int, noise: bytes) -> bytes:
    """Return data with the bytes from pos on replaced by noise."""
    if pos < 0 or pos + len(noise) > len(data):
        raise ValueError('noise: %d bytes at %d do not fit in %d bytes' % (len(noise), pos, len(data)))
    return data[:pos] + noise + data[pos + len(noise):]


def crc_holds(frame: bytes) -> bool:
    """Tell whether frame ('/' ... '!' + 4 hex digits) carries the CRC of its body."""
    bang = frame.rfind(b'!')
    digits = frame[bang + 1:bang + 5]
    try:
        return bang > 0 and len(digits) == 4 and int(digits, 16) == crc16_arc(frame[:bang + 1])
    except ValueError:
        return False


def visible(data: bytes) -> int:
    """Count the bytes of data a reader counts as garbage outside a frame (all but CR and LF)."""
    return len(data) - data.count(b'\r') - data.count(b'\n')


def parse_fault(text: str) -> tuple[str, int, int | None, dict[str, int]]:
    """Parse 'KIND@N[+EVERY][,key=value...]' into (kind, first telegram, every or None, params).

    Examples: 'bitflip@5', 'garbage@3,n=32', 'wrong_crc@10+20', 'cable_pull@8,telegrams=3,cut=0,resume=40'.
    """
    head, *opts = text.split(',')
    kind, at, where = head.partition('@')
    if kind not in KINDS:
        raise ValueError('fault %r: expected a kind among %s' % (text, ', '.join(KINDS)))
    first_s, _, every_s = where.partition('+')
    try:
        first = int(first_s) if at else 0
        every = int(every_s) if every_s else None
        params = {}
        for opt in opts:
            key, eq, value = opt.partition('=')
            if not eq:
                raise ValueError
            params[key.strip()] = int(value)
    except ValueError:
        raise ValueError('fault %r: expected KIND@N[+EVERY][,key=integer...]' % text) from None
    return kind, first, every, params


# ---- records -------------------------------------------------------------------------------------
@attrs.define
class FaultRecord:
    """One injected fault and the effect it must have on the reader's counters."""

    kind: str
    telegram: int                       # index of the telegram it hit (cable_pull: the first one cut)
    meter_ts: int                       # the meter's clock in that telegram, UTC epoch s
    detail: dict[str, Any]
    expect: dict[str, int]              # counter deltas against the same telegrams sent clean
    exact: bool = True                  # False: only expect['accepted'] is certain
    sent_at: float | None = None        # seconds since the writer started, when it hit the line

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-friendly dict of the record (bytes as hex)."""
        detail = {k: (v.hex() if isinstance(v, bytes) else v) for k, v in self.detail.items()}
        return {'kind': self.kind, 'telegram': self.telegram, 'meter_ts': self.meter_ts, 'detail': detail,
                'expect': dict(self.expect), 'exact': self.exact, 'sent_at': self.sent_at}


@attrs.frozen
class Transmission:
    """What goes on the line in one telegram period: data, starting delay_chars characters late."""

    data: bytes
    delay_chars: int = 0
    records: tuple[FaultRecord, ...] = ()


@attrs.frozen
class FaultSpec:
    """A fault asked for: its kind and parameters."""

    kind: str = attrs.field(validator=attrs.validators.in_(KINDS))
    params: dict[str, Any] = attrs.field(factory=dict)


_ALTERING = frozenset(KINDS) - {'garbage'}


class FaultInjector:
    """Applies scheduled and on-demand faults to a meter's telegrams and records each one."""

    def __init__(self, line: UartFormat, crc: bool = True, seed: int = 0) -> None:
        """line: the P1 line's settings; crc: whether the profile's telegrams carry a CRC."""
        self.line = line
        self.crc = crc
        self.rng = random.Random(seed)
        self.log: list[FaultRecord] = []
        self._plan: dict[int, list[FaultSpec]] = {}
        self._every: list[tuple[int, int, FaultSpec]] = []
        self._pending: list[FaultSpec] = []
        self._repeat: list[FaultSpec] = []
        self._lock = threading.Lock()
        self._pull: dict[str, Any] | None = None     # cable out: what is left of it
        self._open = False                           # the line stopped inside a frame...
        self._open_rec: FaultRecord | None = None    # ...left open by this fault
        self._open_head = b''                        # ...holding these bytes so far

    # -- asking for faults ---------------------------------------------------------------------------
    def schedule(self, telegram: int, kind: str, **params: Any) -> None:
        """Apply fault `kind` to telegram number `telegram` (0 = the first one produced)."""
        spec = FaultSpec(kind, params)
        with self._lock:
            specs = self._plan.setdefault(telegram, [])
            if kind in _ALTERING and any(s.kind in _ALTERING for s in specs):
                raise ValueError('telegram %d: already has a fault that alters it (%s); one per telegram'
                                 % (telegram, ', '.join(s.kind for s in specs)))
            specs.append(spec)

    def schedule_every(self, first: int, every: int, kind: str, **params: Any) -> None:
        """Apply fault `kind` to telegrams first, first + every, first + 2 * every, ..."""
        if every < 1 or first < 0:
            raise ValueError('repeat: expected first >= 0 and every >= 1, got %d, %d' % (first, every))
        with self._lock:
            self._every.append((first, every, FaultSpec(kind, params)))

    def inject(self, kind: str, **params: Any) -> None:
        """Apply fault `kind` to the next telegram produced (thread-safe: the writer may be running)."""
        spec = FaultSpec(kind, params)
        with self._lock:
            self._pending.append(spec)

    def repeat(self, kind: str, **params: Any) -> None:
        """Apply fault `kind` to every telegram from the next one on, until stop_repeat() (a noisy line)."""
        spec = FaultSpec(kind, params)
        with self._lock:
            self._repeat.append(spec)

    def stop_repeat(self) -> None:
        """End every repeat() (the line is clean again from the next telegram on)."""
        with self._lock:
            self._repeat = []

    # -- applying them -------------------------------------------------------------------------------
    def process(self, index: int, meter_ts: int, telegram: bytes) -> Transmission:
        """Return what goes on the line for telegram number `index`, with the records of its faults."""
        with self._lock:
            specs = self._plan.pop(index, []) + self._pending
            self._pending = []
            specs += [spec for first, every, spec in self._every
                      if index >= first and (index - first) % every == 0]
            specs += self._repeat
        records: list[FaultRecord] = []
        if self._pull is not None:
            data, delay = self._cable_out(index, telegram)
            for spec in specs:   # the cable is out: the fault never reached the line
                records.append(FaultRecord(spec.kind, index, meter_ts, dict(spec.params, skipped='cable out'),
                                           {}))
            self.log.extend(records)
            return Transmission(data, delay, tuple(records))
        altering = [s for s in specs if s.kind != 'garbage']
        if len(altering) > 1:
            raise ValueError('telegram %d: more than one fault alters it (%s)'
                             % (index, ', '.join(s.kind for s in altering)))
        prefix = b''
        for spec in specs:
            if spec.kind == 'garbage':
                data, rec = self._garbage(index, meter_ts, **spec.params)
                prefix += data
                records.append(rec)
        data = telegram
        if altering:
            spec = altering[0]
            data, rec = getattr(self, '_' + spec.kind)(index, meter_ts, telegram, **spec.params)
            records.append(rec)
        else:
            self._close()
        self.log.extend(records)
        return Transmission(prefix + data, 0, tuple(records))

    def expected_counters(self, produced: int) -> dict[str, int]:
        """Reader counters after `produced` telegrams went through this injector (the meter's output)."""
        out = dict.fromkeys(COUNTERS, 0)
        out['accepted'] = produced
        for rec in self.log:
            for k, v in rec.expect.items():
                out[k] = out.get(k, 0) + v
        return out

    @property
    def exact(self) -> bool:
        """True when every recorded effect is certain (see FaultRecord.exact)."""
        return all(r.exact for r in self.log)

    # -- the faults ----------------------------------------------------------------------------------
    def _set_open(self, rec: FaultRecord, head: bytes) -> None:
        # a frame cut off: a reader holds head and counts it truncated when the next '/' comes
        self._open, self._open_rec, self._open_head = True, rec, head

    def _close(self) -> None:
        # a '/' arrived (or the frame ended): nothing is pending any more
        self._open, self._open_rec, self._open_head = False, None, b''

    def _record(self, kind: str, index: int, ts: int, detail: dict[str, Any], expect: dict[str, int],
                exact: bool = True) -> FaultRecord:
        return FaultRecord(kind, index, ts, detail, {k: v for k, v in expect.items() if v}, exact)

    def _corrupted(self, kind: str, index: int, ts: int, data: bytes, detail: dict[str, Any]
                   ) -> tuple[bytes, FaultRecord]:
        # a frame whose body changed: a CRC error when it has a CRC, unnoticed (but garbled) when not
        self._close()
        if self.crc or kind == 'wrong_crc':
            if crc_holds(data):      # 1 in 65536 for long noise: then it is simply accepted
                return data, self._record(kind, index, ts, detail, {})
            return data, self._record(kind, index, ts, detail, {'accepted': -1, 'crc_errors': 1})
        if no_crc_problem(data[:end_mark(data) + 1], None, False) is not None:
            # no CRC, and the change hit the identification line: a reader refuses it as line noise
            return data, self._record(kind, index, ts, detail, {'accepted': -1, 'crc_errors': 1}, exact=False)
        return data, self._record(kind, index, ts, detail, {}, exact=False)

    def _bitflip(self, index: int, ts: int, telegram: bytes, pos: int | None = None, bit: int | None = None
                 ) -> tuple[bytes, FaultRecord]:
        if pos is None or bit is None:
            pos, bit = pick_bitflip(telegram, self.rng)
        end = body_end(telegram)
        if not 1 <= pos < end or telegram[pos] ^ (1 << bit) in _FRAMING:
            raise ValueError('bit flip: expected a body byte (1 <= pos < %d) that stays no framing byte, '
                             'got pos %d bit %d' % (end, pos, bit))
        data = flip_bit(telegram, pos, bit)
        return self._corrupted('bitflip', index, ts, data, {'pos': pos, 'bit': bit,
                                                             'was': telegram[pos], 'now': data[pos]})

    def _wrong_crc(self, index: int, ts: int, telegram: bytes) -> tuple[bytes, FaultRecord]:
        data = replace_crc(telegram)
        bang = end_mark(data)
        return self._corrupted('wrong_crc', index, ts, data, {'crc': data[bang + 1:bang + 5].decode()})

    def _noise(self, index: int, ts: int, telegram: bytes, pos: int | None = None, n: int = 8
               ) -> tuple[bytes, FaultRecord]:
        end = body_end(telegram)
        n = max(1, min(n, end - 1))
        if pos is None:
            pos = self.rng.randrange(1, end - n + 1)
        if not 1 <= pos <= end - n:
            raise ValueError('noise: expected %d bytes inside the body (1 <= pos <= %d), got pos %d'
                             % (n, end - n, pos))
        noise = bytes(self._other(telegram[pos + i]) for i in range(n))
        data = overwrite(telegram, pos, noise)
        return self._corrupted('noise', index, ts, data, {'pos': pos, 'n': n, 'noise': noise})

    def _other(self, b: int) -> int:
        while True:
            c = self.rng.randrange(256)
            if c != b and c not in _FRAMING:
                return c

    def _truncate(self, index: int, ts: int, telegram: bytes, keep: int | None = None
                  ) -> tuple[bytes, FaultRecord]:
        bang = end_mark(telegram)
        if keep is None:
            keep = self.rng.randrange(1, bang + 1)
        if not 1 <= keep <= bang:
            raise ValueError('truncate: expected 1 <= keep <= %d (cut before the end mark), got %d'
                             % (bang, keep))
        rec = self._record('truncate', index, ts, {'keep': keep, 'of': len(telegram)},
                           {'accepted': -1, 'truncated': 1})
        self._set_open(rec, telegram[:keep])
        return telegram[:keep], rec

    def _drop(self, index: int, ts: int, telegram: bytes) -> tuple[bytes, FaultRecord]:
        return b'', self._record('drop', index, ts, {'bytes': len(telegram)}, {'accepted': -1})

    def _garbage(self, index: int, ts: int, n: int = 16) -> tuple[bytes, FaultRecord]:
        if n < 1:
            raise ValueError('garbage: expected n >= 1 bytes, got %d' % n)
        data = random_bytes(n, self.rng)
        # after a cut-off telegram the line is still inside a frame: the garbage joins that frame
        counted = 0 if self._open else visible(data)
        self._open_head += data if self._open else b''
        return data, self._record('garbage', index, ts, {'n': n, 'bytes': data}, {'garbage_bytes': counted})

    def _wrong_baud(self, index: int, ts: int, telegram: bytes, baud: int | None = None
                    ) -> tuple[bytes, FaultRecord]:
        line = self.line
        if baud is None:
            baud = line.baudrate // 12 if line.baudrate >= 57600 else line.baudrate // 8
        tx = attrs.evolve(line, baudrate=baud)
        data = misbaud(telegram, tx, line)
        detail = {'baud': baud, 'received': len(data)}
        if data == telegram:                     # within the UART's tolerance (a few %): no effect
            self._close()
            return data, self._record('wrong_baud', index, ts, dict(detail, tolerated=True), {})
        exact = b'/' not in data and not self._open
        # inexact: a '/' in the garbage starts a frame; the telegram itself is lost all the same
        expect = {'accepted': -1, 'garbage_bytes': visible(data) if exact else 0}
        if not exact:
            self._close()                        # unknown: whatever was open, a '/' or noise ended it
        return data, self._record('wrong_baud', index, ts, detail, expect, exact)

    def _cable_pull(self, index: int, ts: int, telegram: bytes, telegrams: int = 2, cut: int | None = None,
                    resume: int = 0) -> tuple[bytes, FaultRecord]:
        bang = end_mark(telegram)
        if telegrams < 1:
            raise ValueError('cable_pull: expected telegrams >= 1 periods out, got %d' % telegrams)
        if cut is None:
            cut = self.rng.randrange(1, bang + 1)
        if not 0 <= cut <= bang:
            raise ValueError('cable_pull: expected 0 <= cut <= %d (before the end mark), got %d'
                             % (bang, cut))
        if resume < 0:
            raise ValueError('cable_pull: expected resume >= 0, got %d' % resume)
        # a telegram cut off mid-way counts as truncated when the next one starts (or the input ends)
        rec = self._record('cable_pull', index, ts, {'telegrams': telegrams, 'cut': cut, 'resume': resume},
                           {'accepted': -1, 'truncated': 1 if cut else 0})
        self._pull = {'left': telegrams - 1, 'resume': resume, 'record': rec}
        if cut:
            self._set_open(rec, telegram[:cut])
        return telegram[:cut], rec

    def _cable_out(self, index: int, telegram: bytes) -> tuple[bytes, int]:
        pull = self._pull
        assert pull is not None
        rec: FaultRecord = pull['record']
        expect = rec.expect
        expect['accepted'] = expect.get('accepted', 0) - 1     # this telegram does not arrive whole
        if pull['left'] > 0:                                   # still out for the whole period
            pull['left'] -= 1
            return b'', 0
        self._pull = None                                      # plugged back in during this period
        rec.detail['plugged'] = index
        resume = min(pull['resume'], len(telegram))
        if resume == 0:
            expect['accepted'] += 1                            # plugged in between telegrams
            self._close()
            return telegram, 0
        tail = telegram[resume:]
        if not self._open:
            expect['garbage_bytes'] = expect.get('garbage_bytes', 0) + visible(tail)
        elif self._open_rec is None:                           # opened by someone else: unknown head
            rec.exact = False
            self._close()
        else:
            # the tail continues the frame left open (by this pull, or by an earlier cut)
            bang = end_mark(telegram)
            head = self._open_head
            if resume < bang or (resume == bang and head.endswith(b'\n')):   # '!' still at a line start
                opener = self._open_rec                        # its frame ended: not cut off after all
                left = opener.expect.get('truncated', 0) - 1
                if left:
                    opener.expect['truncated'] = left
                else:
                    opener.expect.pop('truncated', None)
                rec.detail['spliced'] = opener.telegram
                if not self.crc:
                    # no CRC: the garbled frame is accepted when it still opens with a meter's
                    # identification line (the reader's CRC-less policy), refused otherwise
                    spliced = head + tail
                    if no_crc_problem(spliced[:spliced.rfind(b'!') + 1], None, False) is None:
                        expect['accepted'] += 1
                    else:
                        expect['crc_errors'] = expect.get('crc_errors', 0) + 1
                    rec.exact = False
                elif crc_holds(head + tail):
                    expect['accepted'] += 1
                else:
                    expect['crc_errors'] = expect.get('crc_errors', 0) + 1
                self._close()
            else:                   # no end mark: still open, the next '/' counts it as truncated
                self._open_head += tail
        rec.expect = {k: v for k, v in expect.items() if v}
        return tail, resume
