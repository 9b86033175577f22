# Streaming P1 telegram framer: bytes in (chunks of any size, split anywhere), whole telegrams out.
#
# A telegram runs from '/' through '!', then up to 4 hex digits of CRC-16/ARC (either case, possibly
# unpadded), then a line end. DSMR 2.2/3 telegrams have no CRC. The reader:
# - skips bytes outside telegrams (counted as garbage_bytes, CR/LF excepted);
# - restarts on every '/': a telegram cut off by a new '/' counts as truncated (a meter never sends '/'
#   inside a telegram, so garbage that contains '/' also shows up as a truncated frame);
# - drops a frame longer than max_size (counted as oversized) and skips to the next '/';
# - ends a telegram only at a '!' that starts a line (as every meter writes it): a '!' inside a line is
#   line noise, and the CRC check that follows rejects the telegram;
# - checks the CRC; a mismatch is counted in crc_errors and the telegram is never returned;
# - accepts a telegram without a CRC only as a DSMR 2.2/3 meter sends it (see no_crc_problem): never on
#   a line whose meter profile sends CRCs (require_crc=True: the 115200 8N1 line of DSMR 4+ and e-MUCS),
#   never once this line has sent a good CRC, never from a telegram declaring a DSMR 4+ version, and only
#   with an IEC 62056-21 identification line ('/XXXn...'). Accepted ones are counted in no_crc, refused
#   ones in no_crc_rejected (and in crc_errors, as every telegram refused for its CRC).
# It holds at most max_size bytes. crc: the CRC-16/ARC function (the device's table one by default; host
# tools may hand in a faster one of the same result, hil/p1_fastcrc.py).

from firmware.p1.crc16 import crc16_arc

HUNT = 0
BODY = 1
CRC = 2
SKIP = 3

_VERSION_MARKS = (b'1-3:0.2.8(', b'0-0:96.1.4(')


def _hexval(b):
    if 48 <= b <= 57:
        return b - 48
    if 65 <= b <= 70:
        return b - 55
    if 97 <= b <= 102:
        return b - 87
    return -1


_HEX = bytes([v & 0xFF for v in [_hexval(b) for b in range(256)]])  # hex digit value, 255 for others


def new_counters():
    return {'accepted': 0, 'crc_errors': 0, 'truncated': 0, 'oversized': 0, 'garbage_bytes': 0,
            'parse_errors': 0, 'no_crc': 0, 'no_crc_rejected': 0}


def _id_line_problem(buf):
    # IEC 62056-21 identification: '/', three manufacturer letters, a baud-rate digit, then printable ASCII
    nl = buf.find(b'\n')
    head = buf[1:nl if nl > 0 else len(buf)]
    if head[-1:] == b'\r':
        head = head[:-1]
    if len(head) < 5:
        return 'expected /XXXn<identification>, got %d characters' % len(head)
    for i in range(3):
        c = head[i] | 0x20
        if c < 97 or c > 122:
            return 'expected three manufacturer letters, got %r' % bytes(head[:3])
    if not 48 <= head[3] <= 57:
        return 'expected a baud-rate digit after the manufacturer, got %r' % bytes(head[3:4])
    rest = head[4:]
    if rest and (min(rest) < 32 or max(rest) > 126):  # one pass each in C; then find the byte to name
        for c in rest:
            if c < 32 or c > 126:
                return 'expected printable identification text, got byte 0x%02X' % c
    return None


def no_crc_problem(buf, require_crc, seen_crc):
    """Why a telegram that came without a CRC is refused (None: it may be a DSMR 2.2/3 meter's)."""
    if require_crc:
        return 'missing CRC: this line\'s meter profile (DSMR 4+, e-MUCS) always sends one'
    if seen_crc:
        return 'missing CRC on a line that sends CRCs'
    for mark in _VERSION_MARKS:
        if buf.find(mark) >= 0:
            return 'missing CRC in a DSMR 4+ telegram'
    why = _id_line_problem(buf)
    if why is not None:
        return 'missing CRC and no meter identification line: ' + why
    return None


class TelegramReader:
    def __init__(self, max_size=4096, keep_rejected=False, require_crc=None, crc=crc16_arc):
        self.max_size = max_size
        self.crc = crc
        self.require_crc = require_crc
        self.seen_crc = False
        self.buf = bytearray()
        self.state = HUNT
        self.crc_val = 0
        self.crc_digits = 0
        self.counters = new_counters()
        self.rejected = [] if keep_rejected else None

    def _reject(self, reason, extra=b''):
        if self.rejected is not None:
            self.rejected.append((bytes(self.buf) + extra, reason))

    def _garbage(self, seg):
        n = len(seg) - seg.count(b'\r') - seg.count(b'\n')
        if n:
            self.counters['garbage_bytes'] += n

    def _finish(self, out):
        buf = self.buf
        c = self.counters
        if self.crc_digits == 0:
            why = no_crc_problem(buf, self.require_crc, self.seen_crc)
            if why is not None:
                c['crc_errors'] += 1
                c['no_crc_rejected'] += 1
                self._reject(why)
                self._reset()
                return
            out.append((buf if isinstance(buf, bytes) else bytes(buf), 'absent'))
            c['accepted'] += 1
            c['no_crc'] += 1
        else:
            calc = self.crc(buf)
            if calc == self.crc_val:
                self.seen_crc = True
                out.append((buf if isinstance(buf, bytes) else bytes(buf), 'ok'))
                c['accepted'] += 1
            else:
                c['crc_errors'] += 1
                self._reject('CRC mismatch: telegram says %04X, computed %04X' % (self.crc_val, calc),
                             ('%X' % self.crc_val).encode())
        self._reset()

    def _reset(self):
        self.buf = bytearray()
        self.state = HUNT
        self.crc_val = 0
        self.crc_digits = 0

    def _start(self):
        self.buf = bytearray(b'/')
        self.state = BODY

    def _line_start(self, chunk, i, k):
        # is the '!' at chunk[k] the first byte of a line? (the bytes before it may be in the buffer)
        if k > i:
            return chunk[k - 1] == 10
        buf = self.buf
        return len(buf) > 0 and buf[-1] == 10

    def feed(self, chunk):
        """Feed bytes; return the list of (raw, crc) telegrams completed by them."""
        out = []
        i = 0
        n = len(chunk)
        while i < n:
            st = self.state
            if st == HUNT or st == SKIP:
                j = chunk.find(b'/', i)
                if j < 0:
                    if st == HUNT and i < n:
                        seg = chunk[i:]
                        if seg != b'\r\n':  # the line end after a CRC: no garbage
                            self._garbage(seg)
                    return out
                if st == HUNT and j > i:
                    self._garbage(chunk[i:j])
                self._start()
                i = j + 1
            elif st == BODY:
                k = chunk.find(b'!', i)
                while k >= 0 and not self._line_start(chunk, i, k):
                    k = chunk.find(b'!', k + 1)
                j = chunk.find(b'/', i, n if k < 0 else k)
                if j >= 0:
                    if len(self.buf) + j - i > self.max_size:
                        # too long already: what smaller chunks would have reported as oversized
                        self.counters['oversized'] += 1
                        self._reject('oversized: more than %d bytes without an end mark' % self.max_size)
                    else:
                        self.buf.extend(chunk[i:j])
                        self.counters['truncated'] += 1
                        self._reject('truncated: a new telegram started before the end mark')
                    self._start()
                    i = j + 1
                    continue
                end = n if k < 0 else k + 1
                if len(self.buf) + end - i > self.max_size:
                    self.counters['oversized'] += 1
                    self._reject('oversized: more than %d bytes without an end mark' % self.max_size)
                    self.buf = bytearray()
                    self.state = SKIP
                    i = end
                    continue
                buf = self.buf
                if k >= 0 and len(buf) == 1 and i > 0 and chunk[i - 1] == 47:
                    # the whole telegram in this chunk: one copy of it is the frame (no buffer growth)
                    seg = chunk[i - 1:end]
                    self.buf = seg if isinstance(seg, bytes) else bytes(seg)
                else:
                    buf.extend(chunk if i == 0 and end == n else chunk[i:end])  # a whole read: no slice
                i = end
                if k >= 0:
                    self.state = CRC
            else:  # CRC digits: up to 4 hex digits, then anything else ends the telegram
                val = self.crc_val
                digits = self.crc_digits
                while i < n and digits < 4:
                    v = _HEX[chunk[i]]
                    if v == 255:
                        break
                    val = (val << 4) | v
                    digits += 1
                    i += 1
                self.crc_val = val
                self.crc_digits = digits
                if digits == 4 or i < n:
                    self._finish(out)
                    # a terminating byte is looked at again in HUNT state
        return out

    def end(self):
        """End of input: settle a telegram waiting for its line end; count a cut-off one."""
        out = []
        if self.state == CRC:
            self._finish(out)
        elif self.state == BODY:
            self.counters['truncated'] += 1
            self._reject('truncated: input ended inside a telegram')
            self._reset()
        else:
            self._reset()
        return out
