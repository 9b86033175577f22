# The SmartMeter's pure core (firmware/apps/smartmeter/model.py): the manual's States rows
# from a telegram, freshness, the HomeWizard P1 v1 fields, the plugs' reading, the settings' bounds.
# Portable: runs under CPython (pytest) and MicroPython (mpy/run.mjs).
from firmware.apps.smartmeter import model
from firmware.fixed import Dec
from firmware.hal import TICKS_MAX
from firmware.p1.crc16 import crc16_arc
from firmware.p1.parser import parse_telegram
from firmware.timebase import local_to_utc

MANUAL = [
    ('Energy Consumed Tariff 1', '4592.767 kWh'), ('Energy Consumed Tariff 2', '6664.174 kWh'),
    ('Energy Produced Tariff 1', '1269.851 kWh'), ('Energy Produced Tariff 2', '439.646 kWh'),
    ('Power Consumed', '2.673 kW'), ('Power Produced', '0.000 kW'),
    ('Electricity Failures', ''), ('Long Electricity Failures', ''),
    ('Voltage Phase 1', '240.3 V'), ('Voltage Phase 2', '240.8 V'), ('Voltage Phase 3', '239.4 V'),
    ('Current Phase 1', '5.4 A'), ('Current Phase 2', '1.6 A'), ('Current Phase 3', '4.8 A'),
]

# A Fluvius e-MUCS telegram holding the manual's screenshot values (section 3)
MANUAL_LINES = [
    '0-0:96.1.4(50217)', '0-0:96.1.1(3153414733313031303231363035)', '0-0:1.0.0(240115100700W)',
    '1-0:1.8.1(004592.767*kWh)', '1-0:1.8.2(006664.174*kWh)', '1-0:2.8.1(001269.851*kWh)',
    '1-0:2.8.2(000439.646*kWh)', '0-0:96.14.0(0001)', '1-0:1.4.0(02.351*kW)',
    '1-0:1.6.0(240109134500W)(03.589*kW)', '0-0:98.1.0(0)(1-0:1.6.0)(1-0:1.6.0)',
    '1-0:1.7.0(02.673*kW)', '1-0:2.7.0(00.000*kW)',
    '1-0:21.7.0(01.296*kW)', '1-0:41.7.0(00.385*kW)', '1-0:61.7.0(01.150*kW)',
    '1-0:22.7.0(00.000*kW)', '1-0:42.7.0(00.100*kW)', '1-0:62.7.0(00.000*kW)',
    '1-0:32.7.0(240.3*V)', '1-0:52.7.0(240.8*V)', '1-0:72.7.0(239.4*V)',
    '1-0:31.7.0(005.40*A)', '1-0:51.7.0(001.60*A)', '1-0:71.7.0(004.83*A)',
    '0-0:96.3.10(1)', '0-0:17.0.0(999.9*kW)', '1-0:31.4.0(999*A)', '0-0:96.13.0()',
    '0-1:24.1.0(003)', '0-1:96.1.1(37464C4F32313139303333373333)', '0-1:24.4.0(1)',
    '0-1:24.2.3(240115100500W)(00112.384*m3)',
    '0-2:24.1.0(007)', '0-2:96.1.1(3853414731323334353637383930)', '0-2:24.2.1(240115100500W)(00872.234*m3)',
]


def frame(header, lines, crc=True):
    body = ('/' + header + '\r\n\r\n' + '\r\n'.join(lines) + '\r\n!').encode()
    return body + (('%04X' % crc16_arc(body)).encode() if crc else b'') + b'\r\n'


def telegram(lines=None, header='FLU5\\253769484_A'):
    raw = frame(header, lines or MANUAL_LINES)
    t = parse_telegram(raw[:raw.index(b'!') + 1], 'ok')
    assert not t.errors, t.errors
    return t, raw


def rows(t):
    out = []
    for e in model.ENTITIES:
        state, value = model.entity_state(e, t)
        out.append((e.name, '' if value is None else state))
    return out


def test_rows_are_the_manuals_rows_units_and_decimals():
    t, _ = telegram()
    assert rows(t) == MANUAL
    assert [e.oid for e in model.ENTITIES][:2] == ['energy_consumed_tariff_1', 'energy_consumed_tariff_2']
    assert all(e.domain == 'sensor' for e in model.ENTITIES)


def test_values_are_the_meters_exact_numbers():
    t, _ = telegram()
    e = model.ENTITIES[0]
    assert model.entity_state(e, t) == ('4592.767 kWh', Dec(4592767, 3))
    cur = model.ENTITIES[13]
    assert model.entity_state(cur, t) == ('4.8 A', Dec(483, 2))   # state rounded, value as the meter wrote


def test_no_telegram_or_missing_object_gives_empty_rows():
    assert rows(None) == [(n, '') for n, _ in MANUAL]
    lines = [x for x in MANUAL_LINES if not x.startswith('1-0:52.7.0')]
    t, _ = telegram(lines)
    assert dict(rows(t))['Voltage Phase 2'] == ''
    assert dict(rows(t))['Voltage Phase 1'] == '240.3 V'


def test_dsmr5_failures_and_wh_units():
    lines = ['1-3:0.2.8(50)', '0-0:1.0.0(240115100700W)', '0-0:96.1.1(4530303336303000000000000000000000)',
             '1-0:1.8.1(0004592767*Wh)', '1-0:1.8.2(0006664174*Wh)', '1-0:2.8.1(0001269851*Wh)',
             '1-0:2.8.2(0000439646*Wh)', '0-0:96.14.0(0002)', '1-0:1.7.0(0002673*W)', '1-0:2.7.0(0000000*W)',
             '0-0:96.7.21(00012)', '0-0:96.7.9(00003)', '1-0:32.7.0(240.3*V)', '1-0:31.7.0(005*A)']
    t, _ = telegram(lines, 'ISK5\\2M550T-1012')
    r = dict(rows(t))
    assert r['Energy Consumed Tariff 1'] == '4592.767 kWh'
    assert r['Power Consumed'] == '2.673 kW'
    assert r['Electricity Failures'] == '12' and r['Long Electricity Failures'] == '3'
    assert r['Current Phase 1'] == '5.0 A' and r['Current Phase 2'] == ''


def test_to_unit():
    assert model.to_unit(Dec(4592767, 0), 'Wh', 'kWh') == Dec(4592767, 3)
    assert model.to_unit(Dec(4592767, 3), 'kWh', 'Wh').scaled(0) == 4592767
    assert model.to_unit(Dec(2673, 3), 'kW', 'W') == Dec(2673, 0)
    assert model.to_unit(Dec(5, 0), 'kW', 'W') == Dec(5000, 0)
    assert model.to_unit(Dec(5, 0), 'V', 'A') is None
    assert model.to_unit(None, 'kWh', 'kWh') is None


def test_meter_freshness_with_wrapping_ticks():
    t, raw = telegram()
    m = model.Meter(stale_ms=2000)
    assert m.current(0) is None and m.age_ms(0) is None
    start = TICKS_MAX - 500         # the clock wraps 501 ms later
    m.update(t, raw, start)
    assert m.seq == 1 and m.current(start) is t
    assert m.current((start + 2000) & TICKS_MAX) is t
    assert m.age_ms((start + 2000) & TICKS_MAX) == 2000
    assert m.current((start + 2001) & TICKS_MAX) is None
    assert m.reading == (local_to_utc(2024, 1, 15, 10, 7, 0, 'W'), 4592767 + 6664174, 1269851 + 439646)


def test_homewizard_fields():
    t, _ = telegram()
    d = model.hw_data(t, 'HomeNet')
    assert d['wifi_ssid'] == 'HomeNet'
    assert d['smr_version'] == 50 and d['meter_model'] == 'FLU5\\253769484_A'
    assert d['unique_id'] == '3153414733313031303231363035'
    assert d['active_tariff'] == 1
    assert d['total_power_import_kwh'] == Dec(11256941, 3)
    assert d['total_power_import_t1_kwh'] == Dec(4592767, 3)
    assert d['total_power_export_t2_kwh'] == Dec(439646, 3)
    assert d['active_power_w'] == 2673
    assert (d['active_power_l1_w'], d['active_power_l2_w'], d['active_power_l3_w']) == (1296, 285, 1150)
    assert d['active_voltage_l2_v'] == Dec(2408, 1) and d['active_current_l3_a'] == Dec(483, 2)
    assert d['active_power_average_w'] == 2351
    assert d['montly_power_peak_w'] == 3589 and d['montly_power_peak_timestamp'] == 240109134500
    assert d['total_gas_m3'] == Dec(112384, 3) and d['gas_timestamp'] == 240115100500
    assert d['gas_unique_id'] == '37464C4F32313139303333373333'
    assert [x['type'] for x in d['external']] == ['gas_meter', 'water_meter']
    assert d['external'][1]['value'] == Dec(872234, 3) and d['external'][1]['unit'] == 'm3'
    assert 'any_power_fail_count' not in d          # a Belgian meter does not send it: left out
    assert model.hw_data(None, 'HomeNet') == {'wifi_ssid': 'HomeNet'}


def test_plug_reading_fresh_and_stale():
    t, raw = telegram()
    m = model.Meter(stale_ms=30000)
    status, body = model.plug_reading(m, 1000)
    assert status == 503 and body['fresh'] is False and 'since boot' in body['error']
    m.update(t, raw, 1000)
    status, body = model.plug_reading(m, 1412)
    assert status == 200 and body['fresh'] is True and body['seq'] == 1
    assert body['age_s'] == Dec(412, 3)
    ts = local_to_utc(2024, 1, 15, 10, 7, 0, 'W')
    assert body['meter_ts'] == ts and body['meter_time'] == '2024-01-15T09:07:00Z'
    assert body['import_wh'] == {'t1': 4592767, 't2': 6664174, 'total': 11256941}
    assert body['export_wh'] == {'t1': 1269851, 't2': 439646, 'total': 1709497}
    assert (body['import_w'], body['export_w'], body['power_w'], body['tariff']) == (2673, 0, 2673, 1)
    status, body = model.plug_reading(m, 1000 + 30001)
    assert status == 503 and body['fresh'] is False and body['age_s'] == Dec(30001, 3)
    assert 'older than 30.000 s' in body['error']


def test_plug_reading_without_timestamp():
    t, raw = telegram([x for x in MANUAL_LINES if not x.startswith('0-0:1.0.0')])
    m = model.Meter()
    m.update(t, raw, 0)
    status, body = model.plug_reading(m, 10)
    assert status == 503 and '0-0:1.0.0' in body['error']


def test_settings_bounds_all_or_nothing():
    cur = dict(model.DEFAULT_SETTINGS)
    assert model.update_settings(cur, {'stale_s': 5}) == ({'stale_s': 5, 'p1_line': 'auto'}, None)
    for patch, word in (({'stale_s': 0}, '1 ... 600'), ({'stale_s': 601}, '601'),
                        ({'stale_s': 5.5}, 'integer'), ({'stale_s': True}, 'integer'),
                        ({'p1_line': '9600 8N1'}, 'expected one of'),
                        ({'stale_s': 5, 'colour': 'red'}, 'colour'), ({}, 'at least one'), ([1], 'object')):
        new, why = model.update_settings(cur, patch)
        assert new is None and word in why, (patch, why)
    assert cur == model.DEFAULT_SETTINGS
    assert model.check_settings({'stale_s': 30, 'p1_line': 'auto'}) is None
    assert 'stale_s' in model.check_settings({'stale_s': -1, 'p1_line': 'auto'})


def test_silence_says_since_when_no_telegram_came():
    t, raw = telegram()
    m = model.Meter(stale_ms=30000)
    boot = TICKS_MAX - 5000                       # the tick counter wraps during the wait: still counted
    assert model.silence(m, boot + 30000 & TICKS_MAX, boot) is None       # not yet: within stale_ms of boot
    s = model.silence(m, boot + 30001 & TICKS_MAX, boot)
    assert s['since'] is None and s['silent_s'] == Dec(30001, 3)
    assert 'since this module started' in s['message'] and 'P1 cable' in s['message']
    m.update(t, raw, 1000)
    assert model.silence(m, 31000, boot) is None   # fresh
    s = model.silence(m, 31001, boot)
    assert s['since'] == '2024-01-15T09:07:00Z' and s['silent_s'] == Dec(30001, 3)
    assert s['message'] == ("No telegram from the meter since 2024-01-15 10:07:00 (the meter's clock): the "
                            "readings are stale after 30 s; check the P1 cable")
    # the text stays the same while the silence lasts (the page is not redrawn every second)
    assert model.silence(m, 95000, boot)['message'] == s['message']
    t2, raw2 = telegram([x for x in MANUAL_LINES if not x.startswith('0-0:1.0.0')])
    m.update(t2, raw2, 100000)
    assert 'since telegram 2:' in model.silence(m, 130001, boot)['message']
