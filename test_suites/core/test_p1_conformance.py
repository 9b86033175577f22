# The P1 reader and parser on the example telegrams: portable, runs under CPython and MicroPython.
from p1_expected import BAD_CRC, EXPECTED, check, decode

from firmware.fixed import Dec
from firmware.p1.readings import meter_reading
from firmware.timebase import iso_utc


def one(name):
    stack, telegrams = decode(name)
    assert len(telegrams) == 1, '%s: %d telegrams, %r' % (name, len(telegrams), stack.counters)
    return stack, telegrams[0]


def ts(t, ref):
    o = t.objects[ref]
    return None if o.ts is None else iso_utc(o.ts)


def test_every_example_decodes_to_its_values_whole_and_byte_by_byte():
    problems = []
    for name in sorted(EXPECTED):
        problems += check(name)
        problems += check(name, 1)
    assert problems == [], problems


def test_bad_crc_telegrams_yield_nothing_and_are_counted():
    for name in sorted(BAD_CRC):
        given, computed = BAD_CRC[name]
        stack, telegrams = decode(name)
        assert telegrams == [] and stack.counters['crc_errors'] == 1 and stack.counters['accepted'] == 0
        reason = stack.reader.rejected[0][1]
        assert reason == 'CRC mismatch: telegram says %s, computed %s' % (given, computed)


def test_fluvius_capacity_objects_and_history():
    _, t = one('dsmr_parser_07.txt')
    assert ts(t, '1-0:1.6.0') == '2020-05-09T11:45:58Z'
    hist = [(iso_utc(a), iso_utc(b), v.text(), u) for a, b, v, u in t.history]
    assert hist == [
        ('2020-04-30T22:00:00Z', '2020-04-23T17:25:38Z', '3.695', 'kW'),
        ('2020-03-31T22:00:00Z', '2020-03-05T11:21:39Z', '5.980', 'kW'),  # meter says S; March 5 is CET
        ('2020-02-29T23:00:00Z', '2020-02-10T02:54:21Z', '4.318', 'kW'),
    ]
    assert ts(t, '0-1:24.2.3') == '2020-05-12T11:45:58Z'


def test_mbus_devices_are_grouped_per_channel_and_kept_apart_from_the_meter():
    _, t = one('dsmr_parser_07.txt')
    devices = t.mbus()
    assert sorted(devices) == [1, 2]
    assert devices[1]['0-1:24.1.0'].value == 3
    assert devices[1]['0-1:96.1.1'].value == '37464C4F32313139303333373333'
    assert devices[2]['0-2:24.2.1'].value == Dec(872234, 3)
    assert devices[2]['0-2:24.1.0'].value == 7
    for objs in devices.values():
        assert '0-0:96.3.10' not in objs  # the meter's own breaker state is not an M-Bus object
    assert t.objects['0-0:96.3.10'].value == 1


def test_placeholder_timestamp_gives_no_instant():
    _, t = one('dsmr_parser_08.txt')
    _, t10 = one('dsmr_reader_10.txt')
    assert t10.objects['0-1:24.2.3'].ts is None
    assert t.history
    assert [e for e in t.history if e[0] is None or e[1] is None]


def test_dsmr22_gas_value_on_the_following_line():
    _, t = one('dsmr_parser_01.txt')
    gas = t.objects['0-1:24.3.0']
    assert gas.value == Dec(1001, 3) and gas.unit == 'm3'
    assert iso_utc(gas.ts) == '2016-11-07T18:00:00Z'  # no S/W: the EU rule says winter time


def test_power_failure_log():
    _, t = one('dsmr_parser_05.txt')
    assert t.objects['1-0:99.97.0'].value == 1
    assert [(iso_utc(a), d.text()) for a, d in t.events] == [('2019-03-26T08:50:15Z', '2014')]


def test_lower_case_season_suffix_is_accepted():
    _, t = one('dsmr_reader_17.txt')
    assert ts(t, '0-1:24.2.1') == '2015-07-01T17:00:00Z'


def test_meter_reading_for_the_plugs_in_wh():
    _, t = one('dsmr_parser_07.txt')
    clock, imp, exp = meter_reading(t)
    assert iso_utc(clock) == '2020-05-12T11:54:09Z'
    assert (imp, exp) == (34 + 15758, 11)
    _, t11 = one('dsmr_parser_11.txt')
    assert meter_reading(t11)[1:] == (5017120 + 1528646, 58)


def test_garbage_after_the_end_mark_is_skipped_and_counted():
    stack, _ = one('dsmr_parser_09.txt')
    assert stack.counters['garbage_bytes'] > 0 and stack.counters['accepted'] == 1


def test_interrupted_stream_yields_exactly_the_complete_telegram():
    stack, telegrams = decode('streams/dsmr_reader_interrupted_then_complete.txt')
    assert [t.objects['0-0:1.0.0'].ts for t in telegrams] == [1484077257]  # 2017-01-10T19:40:57Z
    assert stack.counters['truncated'] == 1 and stack.counters['accepted'] == 1
    assert stack.counters['crc_errors'] == 0


def test_stream_starting_mid_telegram_yields_exactly_the_complete_telegram():
    stack, telegrams = decode('streams/dsmr_reader_partial_then_complete.txt')
    assert len(telegrams) == 1 and telegrams[0].header == 'KFM5KAIFA-METER'
    assert telegrams[0].crc == 'ok'
    assert stack.counters['garbage_bytes'] > 0 and stack.counters['accepted'] == 1
