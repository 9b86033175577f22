# The SmartMeter's pure core: what the page, the REST APIs and the plugs see of the last good telegram.
# Portable (MicroPython and CPython); integers and firmware.fixed.Dec only, no floats.
#
#   ENTITIES                    the manual's 14 States rows (sensor domain), in the manual's order, each
#                               with its OBIS reference (.what), unit and decimals
#   meter = Meter(stale_ms=30000)
#   meter.update(telegram, raw, now_ms)     a parsed telegram (firmware.p1.parser) and its bytes arrived
#   meter.current(now_ms) -> telegram or None   None before the first telegram and once the last one is
#                               older than stale_ms: a stale value is never shown as current
#   meter.age_ms(now_ms) -> int or None;  meter.seq: telegrams taken so far (counts from boot)
#   entity_state(entity, telegram or None) -> (state, value)   ('4592.767 kWh', Dec(4592.767)) or ('NA', None)
#   device_info(serial, version) -> dict    GET /api (HomeWizard: product_type HWE-P1, api_version v1)
#   hw_data(telegram or None, wifi_ssid, std) -> dict   GET /api/v1/data, HomeWizard P1 v1 field names;
#                               fields the meter does not send (or all meter fields, when stale) are left out
#   plug_reading(meter, now_ms) -> (status, dict)       GET /api/plug/v1/reading (see docs/web-api.md)
#   silence(meter, now_ms, boot_ms, std) -> None or dict   None while telegrams arrive; once none came for
#                               stale_ms (since boot, or since the last one): {'since': ISO UTC of the last
#                               telegram's meter clock or None, 'silent_s': Dec, 'message': the page's text}
#   update_settings(current, patch) -> (new dict, None) or (None, reason)   bounds-checked, all or nothing
#   check_settings(d) -> None or reason                 for Store.load (a stored file out of bounds)
# The 'auto' P1 line format is firmware/p1/line_hunt.py's.
from firmware.apps.common.entities import SENSOR, Entity, sensor_state
from firmware.apps.common.jsonw import shown
from firmware.fixed import Dec
from firmware.hal import ticks_diff
from firmware.p1.readings import meter_reading
from firmware.timebase import CET, iso_utc, local_fields

# (name, OBIS reference, unit, decimals): the manual's States table, section 3
ROWS = (
    ('Energy Consumed Tariff 1', '1-0:1.8.1', 'kWh', 3),
    ('Energy Consumed Tariff 2', '1-0:1.8.2', 'kWh', 3),
    ('Energy Produced Tariff 1', '1-0:2.8.1', 'kWh', 3),
    ('Energy Produced Tariff 2', '1-0:2.8.2', 'kWh', 3),
    ('Power Consumed', '1-0:1.7.0', 'kW', 3),
    ('Power Produced', '1-0:2.7.0', 'kW', 3),
    ('Electricity Failures', '0-0:96.7.21', None, 0),
    ('Long Electricity Failures', '0-0:96.7.9', None, 0),
    ('Voltage Phase 1', '1-0:32.7.0', 'V', 1),
    ('Voltage Phase 2', '1-0:52.7.0', 'V', 1),
    ('Voltage Phase 3', '1-0:72.7.0', 'V', 1),
    ('Current Phase 1', '1-0:31.7.0', 'A', 1),
    ('Current Phase 2', '1-0:51.7.0', 'A', 1),
    ('Current Phase 3', '1-0:71.7.0', 'A', 1),
)

ENTITIES = [Entity(SENSOR, name, unit, decimals, ref) for name, ref, unit, decimals in ROWS]

SETTINGS_FILE = 'smartmeter.json'
P1_LINES = ('auto', '115200 8N1', '9600 7E1')
STALE_MIN_S = 1
STALE_MAX_S = 600
DEFAULT_SETTINGS = {'stale_s': 30, 'p1_line': 'auto'}

MBUS_TYPES = {3: 'gas_meter', 4: 'heat_meter', 6: 'warm_water_meter', 7: 'water_meter',
              12: 'inlet_heat_meter'}


def _exp(unit):
    """(base unit, power of ten) of 'kWh' -> ('Wh', 3), 'W' -> ('W', 0)."""
    if unit and len(unit) > 1 and unit[0] == 'k':
        return unit[1:], 3
    return unit, 0


def to_unit(value, unit, want):
    """value (Dec or int) written in `unit` expressed in `want` (kWh <-> Wh, kW <-> W), or None."""
    if value is None:
        return None
    if want is None or unit == want:
        return value
    b1, x1 = _exp(unit)
    b2, x2 = _exp(want)
    if b1 != b2:
        return None
    if not isinstance(value, Dec):
        value = Dec(value, 0)
    e = value.e - (x1 - x2)
    if e < 0:
        return Dec(value.m * 10 ** (-e), 0)
    return Dec(value.m, e)


def obj_value(t, ref, unit=None):
    if t is None:
        return None
    o = t.objects.get(ref)
    if o is None or o.value is None:
        return None
    if unit is None:
        return o.value
    return to_unit(o.value, o.unit, unit)


def entity_state(e, t):
    return sensor_state(obj_value(t, e.what, e.unit), e.decimals, e.unit)


class Meter:
    def __init__(self, stale_ms=30000):
        self.stale_ms = stale_ms
        self.t = None
        self.raw = None
        self.at = None
        self.seq = 0
        self.reading = None

    def update(self, t, raw, now_ms):
        self.t = t
        self.raw = raw
        self.at = now_ms
        self.seq += 1
        self.reading = meter_reading(t)

    def age_ms(self, now_ms):
        if self.at is None:
            return None
        return ticks_diff(now_ms, self.at)

    def current(self, now_ms):
        age = self.age_ms(now_ms)
        if age is None or age > self.stale_ms:
            return None
        return self.t


def _int_w(t, ref):
    v = obj_value(t, ref, 'W')
    return None if v is None else v.scaled(0)


def _hw_ts(ts, std):
    """HomeWizard's timestamps: local time as the integer YYMMDDhhmmss."""
    if ts is None:
        return None
    y, mo, d, h, mi, s, _ = local_fields(ts, std)
    return ((((y % 100) * 100 + mo) * 100 + d) * 100 + h) * 10000 + mi * 100 + s


def _smr_version(t):
    v = obj_value(t, '1-3:0.2.8')
    if isinstance(v, str) and v.isdigit():
        return int(v)
    v = obj_value(t, '0-0:96.1.4')  # Fluvius e-MUCS '50217': DSMR 5 based, as HomeWizard reports it
    if isinstance(v, str) and len(v) >= 2 and v[:2].isdigit():
        return int(v[:2])
    return None


def device_info(serial, version):
    return {'product_type': 'HWE-P1', 'product_name': 'P1 meter', 'serial': serial,
            'firmware_version': version, 'api_version': 'v1'}


def _put(d, key, v):
    if v is not None:
        d[key] = v


def _kwh_sum(t, refs):
    total = None
    for r in refs:
        v = obj_value(t, r, 'Wh')
        if v is not None:
            total = (total or 0) + v.scaled(0)
    return total


def _net(a, b):
    if a is None and b is None:
        return None
    return (a or 0) - (b or 0)


def hw_data(t, wifi_ssid=None, std=CET):
    d = {}
    _put(d, 'wifi_ssid', wifi_ssid)
    if t is None:
        return d
    _put(d, 'smr_version', _smr_version(t))
    _put(d, 'meter_model', t.header or None)
    uid = obj_value(t, '0-0:96.1.1')
    _put(d, 'unique_id', uid if uid is not None else obj_value(t, '0-0:96.1.0'))
    _put(d, 'active_tariff', obj_value(t, '0-0:96.14.0'))
    for name, total_ref, refs in (('import', '1-0:1.8.0', ('1-0:1.8.1', '1-0:1.8.2')),
                                  ('export', '1-0:2.8.0', ('1-0:2.8.1', '1-0:2.8.2'))):
        total = _kwh_sum(t, refs)
        if total is None:
            total = _kwh_sum(t, (total_ref,))
        _put(d, 'total_power_%s_kwh' % name, None if total is None else Dec(total, 3))
        for i in (1, 2):
            _put(d, 'total_power_%s_t%d_kwh' % (name, i), obj_value(t, refs[i - 1], 'kWh'))
    _put(d, 'active_power_w', _net(_int_w(t, '1-0:1.7.0'), _int_w(t, '1-0:2.7.0')))
    for i, (imp, exp) in enumerate((('21', '22'), ('41', '42'), ('61', '62'))):
        net = _net(_int_w(t, '1-0:%s.7.0' % imp), _int_w(t, '1-0:%s.7.0' % exp))
        _put(d, 'active_power_l%d_w' % (i + 1), net)
    for i, c in enumerate(('32', '52', '72')):
        _put(d, 'active_voltage_l%d_v' % (i + 1), obj_value(t, '1-0:%s.7.0' % c, 'V'))
    for i, c in enumerate(('31', '51', '71')):
        _put(d, 'active_current_l%d_a' % (i + 1), obj_value(t, '1-0:%s.7.0' % c, 'A'))
    for i, c in enumerate(('32', '52', '72')):
        _put(d, 'voltage_sag_l%d_count' % (i + 1), obj_value(t, '1-0:%s.32.0' % c))
    for i, c in enumerate(('32', '52', '72')):
        _put(d, 'voltage_swell_l%d_count' % (i + 1), obj_value(t, '1-0:%s.36.0' % c))
    _put(d, 'any_power_fail_count', obj_value(t, '0-0:96.7.21'))
    _put(d, 'long_power_fail_count', obj_value(t, '0-0:96.7.9'))
    _put(d, 'active_power_average_w', _int_w(t, '1-0:1.4.0'))
    peak = t.objects.get('1-0:1.6.0')
    if peak is not None and peak.value is not None:
        _put(d, 'montly_power_peak_w', _int_w(t, '1-0:1.6.0'))   # sic: HomeWizard's field name
        _put(d, 'montly_power_peak_timestamp', _hw_ts(peak.ts, std))
    external = []
    gas = None
    mbus = t.mbus()
    for ch in sorted(mbus):
        objs = mbus[ch]
        pre = '0-%d:' % ch
        kind = objs.get(pre + '24.1.0')
        kind = kind.value if kind is not None else None
        val = None
        for r in ('24.2.1', '24.2.3', '24.3.0'):
            val = objs.get(pre + r)
            if val is not None and val.value is not None:
                break
        if val is None or val.value is None:
            continue
        uid = objs.get(pre + '96.1.0') or objs.get(pre + '96.1.1')
        uid = uid.value if uid is not None else None
        dev = {'unique_id': uid, 'type': MBUS_TYPES.get(kind, 'unknown'), 'timestamp': _hw_ts(val.ts, std),
               'value': val.value, 'unit': val.unit}
        external.append(dev)
        if gas is None and kind == 3:
            gas = dev
    if gas is not None:
        d['total_gas_m3'] = gas['value']
        _put(d, 'gas_timestamp', gas['timestamp'])
        _put(d, 'gas_unique_id', gas['unique_id'])
    d['external'] = external
    return d


def _ms_s(ms):
    return Dec(ms, 3)


def silence(meter, now_ms, boot_ms, std=CET):
    age = meter.age_ms(now_ms)
    if age is None:
        silent = ticks_diff(now_ms, boot_ms)
        if silent <= meter.stale_ms:
            return None
        return {'since': None, 'silent_s': _ms_s(silent),
                'message': "No telegram from the meter since this module started: check the P1 cable and "
                           "that the meter's P1 port is enabled"}
    if age <= meter.stale_ms:
        return None
    ts = meter.reading[0] if meter.reading is not None else None
    if ts is None:  # a meter without a clock (DSMR 2.2): say which telegram was the last
        when = 'telegram %d' % meter.seq
    else:
        y, mo, d, h, mi, sec, _ = local_fields(ts, std)
        when = '%04d-%02d-%02d %02d:%02d:%02d (the meter\'s clock)' % (y, mo, d, h, mi, sec)
    return {'since': None if ts is None else iso_utc(ts), 'silent_s': _ms_s(age),
            'message': 'No telegram from the meter since %s: the readings are stale after %d s; check the P1 '
                       'cable' % (when, meter.stale_ms // 1000)}


def plug_reading(meter, now_ms):
    age = meter.age_ms(now_ms)
    t = meter.current(now_ms)
    if t is None:
        why = ('no telegram received since boot' if age is None else
               'last telegram %s s old, older than %s s' % (_ms_s(age).text(), _ms_s(meter.stale_ms).text()))
        return 503, {'fresh': False, 'seq': meter.seq, 'age_s': None if age is None else _ms_s(age),
                     'error': 'no current meter reading: ' + why}
    r = meter.reading
    if r is None:
        return 503, {'fresh': False, 'seq': meter.seq, 'age_s': _ms_s(age),
                     'error': 'the meter sends no timestamp (0-0:1.0.0) or no import register (1-0:1.8.x)'}
    ts, imp, exp = r
    imp_w = _int_w(t, '1-0:1.7.0')
    exp_w = _int_w(t, '1-0:2.7.0')
    out = {
        'fresh': True,
        'seq': meter.seq,
        'age_s': _ms_s(age),
        'meter_ts': ts,
        'meter_time': iso_utc(ts),
        'import_wh': {'t1': _wh(t, '1-0:1.8.1'), 't2': _wh(t, '1-0:1.8.2'), 'total': imp},
        'export_wh': {'t1': _wh(t, '1-0:2.8.1'), 't2': _wh(t, '1-0:2.8.2'), 'total': exp},
        'import_w': imp_w,
        'export_w': exp_w,
        'power_w': _net(imp_w, exp_w),
        'tariff': obj_value(t, '0-0:96.14.0'),
    }
    return 200, out


def _wh(t, ref):
    v = obj_value(t, ref, 'Wh')
    return None if v is None else v.scaled(0)


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def check_settings(d):
    s = d.get('stale_s')
    if not _is_int(s) or not STALE_MIN_S <= s <= STALE_MAX_S:
        return 'stale_s: expected an integer %d ... %d s, got %s' % (STALE_MIN_S, STALE_MAX_S, shown(s))
    if d.get('p1_line') not in P1_LINES:
        return 'p1_line: expected one of %s, got %s' % (', '.join(P1_LINES), shown(d.get('p1_line')))
    return None


def update_settings(current, patch):
    if not isinstance(patch, dict):
        return None, 'expected a JSON object of settings'
    if not patch:
        return None, 'expected at least one of %s, got an empty object' % ', '.join(sorted(DEFAULT_SETTINGS))
    new = dict(current)
    for k in sorted(patch):   # the same first unknown key on both interpreters (dict order differs)
        if k not in DEFAULT_SETTINGS:
            return None, 'unknown setting %s: expected one of %s' % (
                shown(k), ', '.join(sorted(DEFAULT_SETTINGS)))
        new[k] = patch[k]
    why = check_settings(new)
    if why:
        return None, why
    return new, None
