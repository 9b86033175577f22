# The SmartMeter's P1 input: framing + CRC (reader) and parsing (a Parser: its caches and memo belong to
# this line), with one set of counters.
#
# CRC policy (see docs/p1-parser.md): require_crc says what the line's meter profile is.
#   True   a line whose meters send CRCs (115200 8N1: DSMR 4+, e-MUCS): a telegram without one is refused
#   False  a DSMR 2.2/3 line (9600 7E1): a telegram without a CRC is accepted when it looks like one
#   None   unknown (tools): as False until the line sends its first good CRC
# Whatever the profile: never without a CRC once this line has sent a good one, never from a telegram
# declaring a DSMR 4+ version, never without an IEC 62056-21 identification line ('/XXXn...').
# Counters: accepted, crc_errors (bad or refused missing CRC), no_crc (accepted without one),
# no_crc_rejected, truncated, oversized, garbage_bytes, parse_errors (malformed lines).

from firmware.p1.crc16 import crc16_arc
from firmware.p1.parser import Parser
from firmware.p1.reader import TelegramReader
from firmware.timebase import CET

# the meter profile of each line format: does its meter send a CRC?
LINE_CRC = {'115200 8N1': True, '9600 7E1': False}


class P1Stack:
    def __init__(self, max_size=4096, std=CET, keep_rejected=False, require_crc=None, reuse=False,
                 crc=crc16_arc, keep_frame=False):
        """reuse: lines identical to the previous telegram's take its (read-only) objects, unparsed.
        crc: the CRC-16/ARC function (the device's byte table unless a host tool hands in another).
        keep_frame: each telegram keeps its bytes in .frame (the SmartMeter serves them)."""
        self.keep_frame = keep_frame
        self.reader = TelegramReader(max_size, keep_rejected, require_crc, crc)
        self.parser = Parser(std, reuse)
        self.counters = self.reader.counters
        self.std = std
        self.last_errors = []

    @property
    def require_crc(self):
        return self.reader.require_crc

    def set_line(self, line):
        """The line format changed ('115200 8N1' or '9600 7E1'): its meter profile decides the CRC
        policy. The line's history (a good CRC seen) is kept: a line that sent CRCs always does."""
        self.reader.require_crc = LINE_CRC.get(line)

    def _parse(self, frames):
        out = []
        parse = self.parser.parse
        for raw, crc in frames:
            try:
                t = parse(raw, crc)
            except Exception as e:  # a parser bug must not stop the meter: count it and go on
                self.counters['parse_errors'] += 1
                # the type only: the exception's text differs between MicroPython and CPython
                self.last_errors = [(0, '', 'parser failure: %s' % type(e).__name__)]
                continue
            if self.keep_frame:
                t.frame = raw
            if t.errors:
                self.counters['parse_errors'] += len(t.errors)
                self.last_errors = t.errors
            out.append(t)
        return out

    def feed(self, chunk):
        """Telegrams completed by these bytes, parsed."""
        frames = self.reader.feed(chunk)
        return self._parse(frames) if frames else frames  # most reads complete no telegram

    def end(self):
        return self._parse(self.reader.end())
