# Is a meter reading believable? The physics both modules apply to (meter time, import Wh, export Wh):
# the SmartMeter to every telegram, the SmartPlug to every reading it polls. Pure and portable.
#
#   reading_error(reading) -> None or reason     one reading alone: the clock between 2000 and 2100,
#                                                registers 0 ... REGISTER_MAX_WH
#   relative_error(ref, reading, elapsed_ms) -> None or reason   can `reading` follow `ref` after
#                                                elapsed_ms here? Not when the meter's clock is more than
#                                                MAX_AHEAD_S ahead of ref's plus the time that passed, or a
#                                                register went down, or rose more than POWER_MAX_W allows
#   f = Follow();  f.check(reading, now_ms) -> None (taken: the new reference) or reason (refused)
#       A meter that really jumped (replaced, its clock set) is followed after RESYNC_N readings in a row
#       that agree with each other (counted as resyncs); readings out of bounds are never taken.
#       f.counters {'refused', 'resyncs'}, f.last_refused; now_ms: wrapping ticks (ticks_diff)
from firmware.hal import ticks_diff

REGISTER_MAX_WH = 999999999          # 999999.999 kWh: the widest register a P1 meter writes (F9(3))
POWER_MAX_W = 200000                 # 3 x 230 V x 250 A, rounded up: no home draws more
TS_MIN = 946684800                   # 2000-01-01 UTC
TS_MAX = 4102444800                  # 2100-01-01 UTC
MAX_AHEAD_S = 300                    # "a few minutes ahead of the last good one"
SLACK_S = 10                         # the meter's clock and ours tick apart: seconds of slack per check
RESYNC_N = 3                         # consistent readings in a row that override the reference (a meter
                                     # whose clock was set, or a replaced meter, is followed after 3)


def reading_error(reading):
    ts, imp, exp = reading
    if not TS_MIN <= ts < TS_MAX:
        return 'meter time: expected a time between 2000 and 2100, got %d s since 1970' % ts
    for name, v in (('import', imp), ('export', exp)):
        if not 0 <= v <= REGISTER_MAX_WH:
            return '%s register: expected 0 ... %d Wh, got %d Wh' % (name, REGISTER_MAX_WH, v)
    return None


def relative_error(ref, reading, elapsed_ms):
    ts0, imp0, exp0 = ref
    ts, imp, exp = reading
    dt = (elapsed_ms if elapsed_ms > 0 else 0) // 1000 + SLACK_S
    if ts - ts0 > dt + MAX_AHEAD_S:
        return ('meter time %d s ahead of the last good reading after %d s here: expected at most %d s'
                % (ts - ts0, dt - SLACK_S, dt + MAX_AHEAD_S))
    most = POWER_MAX_W * (dt + (ts - ts0 if ts > ts0 else 0)) // 3600 + 1
    for name, a, b in (('import', imp0, imp), ('export', exp0, exp)):
        if b < a:
            return '%s register ran backwards: %d Wh after %d Wh' % (name, b, a)
        if b - a > most:
            return ('%s register rose %d Wh in %d s: expected at most %d Wh (%d W)'
                    % (name, b - a, dt - SLACK_S, most, POWER_MAX_W))
    return None


class Follow:
    def __init__(self):
        self.ref = None          # (reading, at_ms) of the last reading taken
        self._cand = None        # (reading, at_ms) of the last refused one
        self._agree = 0          # how many refused ones in a row agree with each other
        self.counters = {'refused': 0, 'resyncs': 0}
        self.last_refused = None

    def refuse(self, why):
        self.counters['refused'] += 1
        self.last_refused = why
        return why

    def check(self, reading, now_ms):
        why = reading_error(reading)
        if why is not None:
            return self.refuse(why)
        if self.ref is not None:
            why = relative_error(self.ref[0], reading, ticks_diff(now_ms, self.ref[1]))
            if why is not None:
                c = self._cand
                if c is not None and relative_error(c[0], reading, ticks_diff(now_ms, c[1])) is None:
                    self._agree += 1
                else:
                    self._agree = 1
                self._cand = (reading, now_ms)
                if self._agree < RESYNC_N:
                    return self.refuse(why)
                self.counters['resyncs'] += 1
                self.last_refused = 'followed the meter after %d consistent readings: %s' % (self._agree, why)
        self.ref = (reading, now_ms)
        self._cand = None
        self._agree = 0
        return None
