# The SmartMeter's P1 input: framing + CRC (reader) and parsing, with one set of counters.

from firmware.p1.parser import parse_telegram
from firmware.p1.reader import TelegramReader
from firmware.timebase import CET


class P1Stack:
    def __init__(self, max_size=4096, std=CET, keep_rejected=False, require_crc=None, reuse=False):
        """reuse: lines identical to the previous telegram's take its (read-only) objects, unparsed."""
        self.reader = TelegramReader(max_size, keep_rejected, require_crc)
        self.memo = {} if reuse else None
        self.counters = self.reader.counters
        self.std = std
        self.last_errors = []

    def _parse(self, frames):
        out = []
        for raw, crc in frames:
            try:
                t = parse_telegram(raw, crc, self.std, self.memo)
            except Exception as e:  # a parser bug must not stop the meter: count it and go on
                self.counters['parse_errors'] += 1
                self.last_errors = [(0, '', 'parser failure: %r' % (e,))]
                continue
            if t.errors:
                self.counters['parse_errors'] += len(t.errors)
                self.last_errors = t.errors
            out.append(t)
        return out

    def feed(self, chunk):
        """Telegrams completed by these bytes, parsed."""
        return self._parse(self.reader.feed(chunk))

    def end(self):
        return self._parse(self.reader.end())
