# Energy from the CSE7766's CF pulse register, in exact integers.
#
# The chip counts CF pulses in a 16-bit register that wraps at 65536 (and toggles bit 7 of the
# adjustment byte on every wrap). One pulse is `coef_p` microjoules: the power parameter register holds
# watts x microseconds (P = coef_p / power_cycle_us, so P x one pulse period = coef_p uJ). With a
# typical coef_p of 5.35e6, a pulse is about 1.5 mWh and the register wraps after about 97 Wh.
#
# Rules (see docs/cse7766.md):
# - the first frame only sets the baseline (the register's value at boot means nothing);
# - the difference to the previous accepted value is taken modulo 65536 (wrap handled);
# - a difference larger than `max_power_w` could have produced since the last accepted frame is
#   implausible (a garbage frame that passed the 8-bit checksum, or a chip reset): nothing is counted
#   and the value is kept as a candidate. The next frame decides: if it follows the old baseline the
#   candidate was garbage; if it follows the candidate, the chip restarted and the candidate becomes the
#   baseline (the pulses of the jump itself are unknowable and are not counted);
# - energy is kept as whole mWh plus a remainder in uJ, so nothing is lost to rounding, ever.
# ticks are milliseconds from a clock that may wrap at 2**30 (MicroPython's ticks_ms).

UJ_PER_MWH = 3600000
TICKS_MASK = 0x3FFFFFFF
SLACK_MS = 300  # one frame period (~105 ms) plus scheduling jitter

BASE = 'base'
OK = 'ok'
IMPLAUSIBLE = 'implausible'
REBASE = 'rebase'


class PulseCounter:
    def __init__(self, energy_mwh=0, max_power_w=4600):
        self.energy_mwh = energy_mwh
        self.rem_uj = 0
        self.pulses = 0
        self.max_power_w = max_power_w
        self.last = None
        self.last_ms = None
        self.cand = None
        self.cand_ms = None
        self.wraps = 0
        self.implausible = 0
        self.rebases = 0
        self.last_error = None

    def allowed(self, coef_p, since_ms, now_ms):
        """Most pulses max_power_w can produce between two frames (at least 2)."""
        dt = SLACK_MS
        if now_ms is not None and since_ms is not None:
            dt += (now_ms - since_ms) & TICKS_MASK
        n = self.max_power_w * dt * 1000 // coef_p + 2
        return n if n < 0xFFFF else 0xFFFF

    def _add(self, delta, coef_p):
        self.pulses += delta
        uj = self.rem_uj + delta * coef_p
        self.energy_mwh += uj // UJ_PER_MWH
        self.rem_uj = uj % UJ_PER_MWH

    def update(self, cf, coef_p, now_ms=None):
        """Account one frame's CF register value; returns BASE, OK, IMPLAUSIBLE or REBASE."""
        if self.last is None:
            self.last = cf
            self.last_ms = now_ms
            return BASE
        delta = (cf - self.last) & 0xFFFF
        if delta <= self.allowed(coef_p, self.last_ms, now_ms):
            if cf < self.last:
                self.wraps += 1
            self._add(delta, coef_p)
            self.last = cf
            self.last_ms = now_ms
            self.cand = None
            return OK
        if self.cand is not None:
            d2 = (cf - self.cand) & 0xFFFF
            if d2 <= self.allowed(coef_p, self.cand_ms, now_ms):
                self._add(d2, coef_p)
                self.rebases += 1
                self.last_error = 'CF register restarted: %d -> %d; counting from %d' % (
                    self.last, self.cand, self.cand)
                self.last = cf
                self.last_ms = now_ms
                self.cand = None
                return REBASE
        self.implausible += 1
        self.last_error = 'CF register jumped %d pulses (%d -> %d), at most %d expected: frame ignored' % (
            delta, self.last, cf, self.allowed(coef_p, self.last_ms, now_ms))
        self.cand = cf
        self.cand_ms = now_ms
        return IMPLAUSIBLE

    def energy_uj(self):
        return self.energy_mwh * UJ_PER_MWH + self.rem_uj
