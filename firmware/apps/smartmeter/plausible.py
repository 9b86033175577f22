# Is a telegram believable? Bounds on every value the SmartMeter serves; the physics between telegrams
# is firmware/apps/common/plausible.py's (shared with the SmartPlug). Pure and portable.
#
#   bounds_error(t) -> None or reason          one telegram alone: registers 0 ... REGISTER_MAX_WH (the
#                                              F9(3) kWh width of DSMR/e-MUCS), voltages 0 ... VOLTAGE_MAX_V,
#                                              currents 0 ... CURRENT_MAX_A, powers 0 ... POWER_MAX_W, the
#                                              meter's clock between 2000 and 2100
#   g = Gate()                                 between the P1 parser and the served reading
#   g.check(t, reading, now_ms) -> None or reason   reading: firmware.p1.readings.meter_reading(t) or None
#                                              (no clock or register: bounds only). g.counters, last_refused
from firmware.apps.common.jsonw import shown
from firmware.apps.common.plausible import POWER_MAX_W, REGISTER_MAX_WH, TS_MAX, TS_MIN, Follow
from firmware.apps.smartmeter.model import to_unit
from firmware.fixed import Dec

VOLTAGE_MAX_V = 300                  # a 230 V phase (Belgian 3x230 V networks too) never shows more
CURRENT_MAX_A = 250                  # far beyond any residential connection (3x63 A), yet bounded

REGISTERS = ('1-0:1.8.0', '1-0:1.8.1', '1-0:1.8.2', '1-0:2.8.0', '1-0:2.8.1', '1-0:2.8.2')
VOLTAGES = ('1-0:32.7.0', '1-0:52.7.0', '1-0:72.7.0')
CURRENTS = ('1-0:31.7.0', '1-0:51.7.0', '1-0:71.7.0')
POWERS = ('1-0:1.7.0', '1-0:2.7.0', '1-0:21.7.0', '1-0:41.7.0', '1-0:61.7.0', '1-0:22.7.0', '1-0:42.7.0',
          '1-0:62.7.0', '1-0:1.4.0', '1-0:1.6.0')

# (refs, unit the bound is in, decimals compared, upper bound at those decimals)
_BOUNDS = ((REGISTERS, 'Wh', 0, REGISTER_MAX_WH), (VOLTAGES, 'V', 1, VOLTAGE_MAX_V * 10),
           (CURRENTS, 'A', 2, CURRENT_MAX_A * 100), (POWERS, 'W', 0, POWER_MAX_W))


def _in_unit(o, unit):
    """o.value expressed in unit ('kWh' -> 'Wh'); None when it is not a number of that unit."""
    v = o.value
    if isinstance(v, bool) or not isinstance(v, (Dec, int)):
        return None
    v = to_unit(v, o.unit or unit, unit)
    if isinstance(v, int):
        v = Dec(v, 0)
    return v


def bounds_error(t):
    objs = t.objects
    for refs, unit, dec, hi in _BOUNDS:
        for ref in refs:
            o = objs.get(ref)
            if o is None or o.value is None:
                continue
            v = _in_unit(o, unit)
            if v is None:
                return '%s: expected a number of %s, got %s %s' % (ref, unit, shown(o.value), o.unit or '')
            x = v.scaled(dec)
            if x < 0 or x > hi:
                return '%s: expected 0 ... %s %s, got %s %s' % (ref, Dec(hi, dec).text(), unit, v.text(), unit)
    clock = objs.get('0-0:1.0.0')
    if clock is not None and clock.ts is not None and not TS_MIN <= clock.ts < TS_MAX:
        return '0-0:1.0.0: expected a time between 2000 and 2100, got %d s since 1970' % clock.ts
    return None


class Gate(Follow):
    def check(self, t, reading, now_ms):
        why = bounds_error(t)
        if why is not None:
            return self.refuse(why)
        if reading is None:
            return None
        return Follow.check(self, reading, now_ms)
