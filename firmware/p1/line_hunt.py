# Automatic P1 line format ('auto' setting): which of the two P1 line formats to listen on. Pure: the caller
# hands in its ticks_ms; nothing here touches a UART (docs/p1-parser.md, "Automatic line format").
#
#   hunt = LineHunt('115200 8N1', now_ms)
#   hunt.received(n)             n bytes came in on the current line (valid or not)
#   hunt.telegram(now_ms, crc)   the stack took a valid telegram on the current line ('ok' or 'absent')
#   hunt.tick(now_ms) -> line or None    the line format to switch to now (the caller reformats the UART)
#   hunt.set(line, now_ms)       the line was set to this format (by hand, or as tick() asked: no change)
#
# Rules:
# - Before any valid telegram (good is None) nothing is known: while bytes arrive but no telegram comes for
#   SWITCH_MS, try the other format, and so on (a DSMR 4 meter sends every 10 s, DSMR 2.2/3 every 10 s).
# - Once a format gave a valid telegram it is the known-good one, and noise alone never moves the line
#   away from it for good: after SWITCH_MS of bytes without a telegram, the other format is only *probed*
#   for PROBE_MS (one whole telegram period of either kind of meter, plus its transmission time). A valid
#   telegram during the probe makes the other format the known-good one (a meter was replaced); otherwise
#   the line goes back to the known-good format at the end of the probe, and the next probe waits twice as
#   long (at most BACKOFF_MAX_MS), so persistent noise costs ever less listening time.
# - A line that has sent a good CRC is never probed at 9600 7E1: a DSMR 2.2/3 meter sends no CRC, and the
#   stack refuses CRC-less telegrams on a line that sent CRCs (issue 11), so such a probe could only lose
#   telegrams. (A reboot forgets this: a meter really swapped for an older one is found after a restart, or
#   by setting the line by hand.)
# - Silence (no bytes: a pulled cable, a meter off) never changes the line.
from firmware.hal import ticks_diff

FAST = '115200 8N1'
SLOW = '9600 7E1'
SENDS_CRC = {FAST: True, SLOW: False}   # does a meter on this line format send CRCs?
SWITCH_MS = 25000        # bytes but no valid telegram this long: look at the other format
PROBE_MS = 12000         # how long a probe of the other format listens for one valid telegram
BACKOFF_MAX_MS = 320000  # the longest wait between two probes under persistent noise


def other_line(line):
    return SLOW if line == FAST else FAST


class LineHunt:
    def __init__(self, line=FAST, now_ms=0):
        self.line = line          # the format listened on now
        self.good = None          # the format that gave the last valid telegram (None: none yet)
        self.crc_seen = False     # a telegram with a good CRC came on this line (since boot)
        self.probing = False      # listening on the other format for a while, then back to good
        self.since = now_ms       # the last valid telegram or the last switch, whichever is later
        self.bytes = 0            # bytes received since then
        self.wait_ms = SWITCH_MS  # bytes without a telegram this long before the next probe
        self.probes = 0           # probes that found nothing since the last valid telegram

    def received(self, n):
        self.bytes += n

    def telegram(self, now_ms, crc):
        self.good = self.line
        if crc == 'ok':
            self.crc_seen = True
        self.probing = False
        self.since = now_ms
        self.bytes = 0
        self.wait_ms = SWITCH_MS
        self.probes = 0

    def set(self, line, now_ms):
        if line == self.line:
            return   # already there (the switch tick() asked for, reported back by the caller)
        self._go(line, now_ms, False)

    def _go(self, line, now_ms, probing):
        self.line = line
        self.probing = probing
        self.since = now_ms
        self.bytes = 0
        return line

    def may_listen(self, line):
        """Could a valid telegram come on this format? Not a CRC-less one on a line that sent CRCs."""
        return SENDS_CRC[line] or not self.crc_seen

    def tick(self, now_ms):
        elapsed = ticks_diff(now_ms, self.since)
        if self.probing:
            if elapsed < PROBE_MS:
                return None
            self.probes += 1
            wait = SWITCH_MS << self.probes
            self.wait_ms = wait if wait < BACKOFF_MAX_MS else BACKOFF_MAX_MS
            return self._go(self.good, now_ms, False)
        if self.good is not None and self.line != self.good:
            # set by hand to a format that gave nothing, then 'auto' again: the known-good one at once
            return self._go(self.good, now_ms, False)
        if elapsed < self.wait_ms or self.bytes == 0:
            return None
        other = other_line(self.line)
        if self.good is None:
            return self._go(other, now_ms, False)
        if not self.may_listen(other):
            return None
        return self._go(other, now_ms, True)
