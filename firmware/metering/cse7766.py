# CSE7766 power-metering chip: 24-byte frames at 4800 baud 8E1 -> volts, amps, watts, energy.
#
# Frame (byte offsets):
#   0      state: 0x55 ok; 0xAA not calibrated (no coefficients: frame dropped); 0xF0 | bits:
#          bit3 voltage cycle out of range, bit2 current cycle out of range, bit0 coefficient storage
#          abnormal (all three: values invalid, frame dropped), bit1 power cycle out of range (the
#          power period is longer than the chip can time: no load, active power is 0)
#   1      check byte 0x5A
#   2..4   voltage parameter (calibration coefficient, constant for a chip)   5..7   voltage cycle (us)
#   8..10  current parameter                                                 11..13 current cycle
#   14..16 power parameter                                                   17..19 power cycle
#   20     adjustment: bit6 voltage updated, bit5 current updated, bit4 power updated in this frame,
#          bit7 toggles on every wrap of the CF register
#   21..22 CF pulse register (16 bit, wraps), big-endian
#   23     checksum: low byte of the sum of bytes 2..22
# Registers are big-endian. V = Vparam / Vcycle, I = Iparam / Icycle, P = Pparam / Pcycle.
# A frame is sent about every 105 ms (captures of real chips); its 24 bytes take 55 ms on the wire.
#
# All values are integers: mV, mA, mW, mWh (ESP32 MicroPython floats are 32-bit).

from firmware.metering.energy import IMPLAUSIBLE, PulseCounter

FRAME_LEN = 24
CHECK = 0x5A
ST_OK = 0x55
ST_NOT_CALIBRATED = 0xAA
ST_ABNORMAL = 0xF0
ST_V_RANGE = 0x08
ST_I_RANGE = 0x04
ST_P_RANGE = 0x02
ST_COEF = 0x01
ADJ_PF_WRAP = 0x80
ADJ_V = 0x40
ADJ_I = 0x20
ADJ_P = 0x10

HOLD_FRAMES = 64  # a value not refreshed for this many frames (~6.7 s) is stale: power < ~0.8 W
RELOCK_FRAMES = 3  # frames in a row with new coefficients before they replace the locked ones


def is_state(b):
    return b == ST_OK or b == ST_NOT_CALIBRATED or b >= 0xF0


def checksum(buf, off=0):
    s = 0
    for i in range(off + 2, off + 23):
        s += buf[i]
    return s & 0xFF


def u24(buf, i):
    return (buf[i] << 16) | (buf[i + 1] << 8) | buf[i + 2]


def milli(param, cycle):
    """param / cycle in thousandths, rounded half up."""
    return (param * 1000 + cycle // 2) // cycle


def frame_error(buf, off=0):
    """None if buf[off:off+24] is a well-formed frame, else what is wrong with it."""
    if len(buf) - off < FRAME_LEN:
        return 'frame too short: %d bytes, expected %d' % (len(buf) - off, FRAME_LEN)
    if not is_state(buf[off]):
        return 'byte 0: state 0x%02X is not 0x55, 0xAA or 0xFx' % buf[off]
    if buf[off + 1] != CHECK:
        return 'byte 1: check byte 0x%02X, expected 0x5A' % buf[off + 1]
    c = checksum(buf, off)
    if c != buf[off + 23]:
        return 'byte 23: checksum 0x%02X, computed 0x%02X over bytes 2..22' % (buf[off + 23], c)
    return None


class Framer:
    """Bytes in (any chunking), checksum-valid 24-byte frames out; resyncs on garbage.

    counters: frames (well-formed frames returned), bad_checksum, resyncs (times bytes had to be
    skipped to find a frame start), garbage_bytes (bytes skipped).
    """

    def __init__(self):
        self.buf = bytearray(FRAME_LEN)
        self.n = 0
        self.skipping = False
        self.counters = {'frames': 0, 'bad_checksum': 0, 'resyncs': 0, 'garbage_bytes': 0}
        self.last_error = None

    def _skip(self, k):
        c = self.counters
        c['garbage_bytes'] += k
        if not self.skipping:
            c['resyncs'] += 1
            self.skipping = True

    def feed(self, data):
        out = []
        buf = self.buf
        for b in data:
            n = self.n
            if n == 0:
                if is_state(b):
                    buf[0] = b
                    self.n = 1
                else:
                    self._skip(1)
            elif n == 1:
                if b == CHECK:
                    buf[1] = b
                    self.n = 2
                else:
                    self._skip(1)
                    if is_state(b):
                        buf[0] = b
                    else:
                        self._skip(1)
                        self.n = 0
            else:
                buf[n] = b
                n += 1
                if n < FRAME_LEN:
                    self.n = n
                    continue
                c = checksum(buf)
                if c == buf[23]:
                    out.append(bytes(buf))
                    self.counters['frames'] += 1
                    self.n = 0
                    self.skipping = False
                    continue
                self.counters['bad_checksum'] += 1
                self.last_error = 'bad checksum: byte 23 is 0x%02X, sum of bytes 2..22 is 0x%02X' % (
                    buf[23], c)
                self._rescan()
        return out

    def _rescan(self):
        # drop the failed frame's first byte and look for the next plausible start inside it
        buf = self.buf
        i = 1
        while i < FRAME_LEN:
            if is_state(buf[i]) and (i == FRAME_LEN - 1 or buf[i + 1] == CHECK):
                break
            i += 1
        self._skip(i)
        k = FRAME_LEN - i
        buf[0:k] = buf[i:FRAME_LEN]
        self.n = k


class Cse7766:
    """The chip's readings: feed UART bytes, read voltage_mv, current_ma, power_mw, energy_mwh.

    A value is None until the chip has reported it. Bad frames change nothing; counters say what
    happened and last_error says the most recent problem (what was expected, what came, where).
    """

    def __init__(self, energy_mwh=0, max_power_w=4600, hold_frames=HOLD_FRAMES):
        self.framer = Framer()
        self.energy = PulseCounter(energy_mwh, max_power_w)
        self.hold_frames = hold_frames
        self.voltage_mv = None
        self.current_ma = None
        self.power_mw = None
        self.coef = None  # (Vparam, Iparam, Pparam) once locked
        self._new_coef = None
        self._new_coef_n = 0
        self._v_age = 0
        self._i_age = 0
        self._p_age = 0
        self.raw_current_ma = None
        self.pf_flag = 0
        self.counters = self.framer.counters
        for k in ('accepted', 'not_calibrated', 'abnormal', 'no_load', 'coef_mismatch', 'implausible',
                  'bad_values'):
            self.counters[k] = 0
        self.last_error = None

    @property
    def energy_mwh(self):
        return self.energy.energy_mwh

    def feed(self, data, now_ms=None):
        """Feed UART bytes; returns how many frames updated the readings."""
        n = 0
        for f in self.framer.feed(data):
            if self.frame(f, now_ms):
                n += 1
        if self.framer.last_error is not None:
            self.last_error = self.framer.last_error
            self.framer.last_error = None
        return n

    def _err(self, key, msg):
        self.counters[key] += 1
        self.last_error = msg
        return False

    def _coef_ok(self, coef):
        if self.coef is None:
            # lock on two frames in a row that agree
            if self._new_coef == coef:
                self.coef = coef
                self._new_coef = None
                self._new_coef_n = 0
                return True
            self._new_coef = coef
            return False
        if coef == self.coef:
            self._new_coef = None
            self._new_coef_n = 0
            return True
        if coef == self._new_coef:
            self._new_coef_n += 1
        else:
            self._new_coef = coef
            self._new_coef_n = 1
        if self._new_coef_n >= RELOCK_FRAMES:
            self.coef = coef
            self._new_coef = None
            self._new_coef_n = 0
            return True
        return False

    def frame(self, f, now_ms=None):
        """Apply one checksum-valid frame; True if the readings were updated."""
        st = f[0]
        if st == ST_NOT_CALIBRATED:
            return self._err('not_calibrated', 'state 0xAA: chip not calibrated, frame dropped')
        if st != ST_OK and st & (ST_V_RANGE | ST_I_RANGE | ST_COEF):
            return self._err('abnormal', 'state 0x%02X: %s, frame dropped' % (st, state_text(st)))
        coef = (u24(f, 2), u24(f, 8), u24(f, 14))
        if not self._coef_ok(coef):
            if self.coef is None:
                return False  # still learning the chip's coefficients
            return self._err('coef_mismatch', 'coefficients %r differ from the chip\'s %r: frame dropped'
                             % (coef, self.coef))
        vp, ip, pp = coef
        vc = u24(f, 5)
        ic = u24(f, 11)
        pc = u24(f, 17)
        adj = f[20]
        if ((adj & ADJ_V) and vc == 0) or ((adj & ADJ_I) and ic == 0) or (
                (adj & ADJ_P) and pc == 0 and not st & ST_P_RANGE) or pp == 0:
            return self._err('bad_values', 'zero cycle or power parameter in a valid frame (adj 0x%02X)'
                             % adj)
        r = self.energy.update((f[21] << 8) | f[22], pp, now_ms)
        if r == IMPLAUSIBLE:
            self.counters['implausible'] += 1
            self.last_error = self.energy.last_error
            return False
        self.pf_flag = adj & ADJ_PF_WRAP
        hold = self.hold_frames
        if adj & ADJ_V:
            self.voltage_mv = milli(vp, vc)
            self._v_age = 0
        else:
            self._v_age += 1
            if self._v_age > hold:
                self.voltage_mv = None
        if st != ST_OK and st & ST_P_RANGE:
            self.counters['no_load'] += 1
            self.power_mw = 0
            self._p_age = 0
        elif adj & ADJ_P:
            self.power_mw = milli(pp, pc)
            self._p_age = 0
        else:
            self._p_age += 1
            if self._p_age > hold:
                self.power_mw = 0
        if adj & ADJ_I:
            self.raw_current_ma = milli(ip, ic)
            self._i_age = 0
        else:
            self._i_age += 1
            if self._i_age > hold:
                self.raw_current_ma = None
        if self.power_mw == 0:
            self.current_ma = 0  # no load: the current register holds noise
        elif self.raw_current_ma is not None:
            self.current_ma = self.raw_current_ma
        elif self._i_age > hold:
            self.current_ma = None
        self.counters['accepted'] += 1
        return True


def state_text(st):
    """Human text for a 0xFx state byte."""
    if st == ST_OK:
        return 'ok'
    if st == ST_NOT_CALIBRATED:
        return 'not calibrated'
    parts = []
    if st & ST_V_RANGE:
        parts.append('voltage cycle out of range')
    if st & ST_I_RANGE:
        parts.append('current cycle out of range')
    if st & ST_P_RANGE:
        parts.append('power cycle out of range (no load)')
    if st & ST_COEF:
        parts.append('coefficient storage abnormal')
    return ', '.join(parts) if parts else 'abnormal state, no flag set'
