# Line shapes real meters send (DSMR 5.0.2 P1, e-MUCS H 1.7 / 2.x, Smarty P1 1.1), each read as the
# standard defines it, with no parse error. Expected values written out by hand from the line text (times
# converted by hand: CET = UTC+1, CEST = UTC+2). Portable: runs under CPython and MicroPython.
from firmware.fixed import Dec
from firmware.p1.crc16 import crc16_arc
from firmware.p1.stack import P1Stack
from firmware.timebase import iso_utc


def frame(header, lines, crc=True):
    body = ('/' + header + '\r\n\r\n' + '\r\n'.join(lines) + '\r\n!').encode()
    if not crc:
        return body + b'\r\n'
    return body + ('%04X\r\n' % crc16_arc(body)).encode()


def read(header, lines, crc=True, require_crc=None):
    stack = P1Stack(require_crc=require_crc, keep_rejected=True)
    out = stack.feed(frame(header, lines, crc))
    return stack, out


def one(lines, header='FLU5\\253769484_A'):
    stack, out = read(header, lines)
    assert len(out) == 1, stack.counters
    t = out[0]
    assert t.errors == [] and stack.counters['parse_errors'] == 0, t.errors
    return t


def test_empty_peak_history_of_a_fluvius_meter():
    # three independent Fluvius meters write a history without closed months like this
    t = one(['0-0:96.1.4(50217)', '0-0:1.0.0(230105101520W)',
             '1-0:1.6.0(230105090000W)(01.234*kW)', '0-0:98.1.0(0)(1-0:1.6.0)(1-0:1.6.0)()'])
    assert t.objects['0-0:98.1.0'].value == 0
    assert t.history == []
    peak = t.objects['1-0:1.6.0']
    assert (peak.value, peak.unit, iso_utc(peak.ts)) == (Dec(1234, 3), 'kW', '2023-01-05T08:00:00Z')


def test_one_month_of_peak_history():
    t = one(['0-0:98.1.0(1)(1-0:1.6.0)(1-0:1.6.0)(230101000000W)(221208184500W)(04.321*kW)'])
    assert t.objects['0-0:98.1.0'].value == 1
    assert [(iso_utc(a), iso_utc(b), v, u) for a, b, v, u in t.history] == [
        ('2022-12-31T23:00:00Z', '2022-12-08T17:45:00Z', Dec(4321, 3), 'kW')]


def test_smarty_value_with_two_groups():
    t = one(['1-3:0.2.8(42)', '0-0:1.0.0(260403175431S)', '1-1:31.4.0(040*A)(-040*A)',
             '0-0:17.0.0(027.6*kVA)', '1-0:9.7.0(00.000*kVA)', '1-0:10.7.0(00.913*kVA)'],
            header='Lux5\\253000001_D')
    o = t.objects['1-1:31.4.0']
    assert o.value == (Dec(40, 0), Dec(-40, 0)) and o.unit == 'A' and o.ts is None
    assert (t.objects['0-0:17.0.0'].value, t.objects['0-0:17.0.0'].unit) == (Dec(276, 1), 'kVA')
    assert (t.objects['1-0:10.7.0'].value, t.objects['1-0:10.7.0'].unit) == (Dec(913, 3), 'kVA')
    assert iso_utc(t.objects['0-0:1.0.0'].ts) == '2026-04-03T15:54:31Z'


def test_one_rule_for_empty_values():
    # an empty value means "the meter has none": None for every kind of object, never '' and no error
    t = one(['0-0:96.13.0()', '0-0:96.13.1()', '0-0:96.13.2()', '0-0:96.13.5()', '0-1:96.1.0()',
             '0-0:96.14.0()', '1-0:1.7.0()', '0-0:1.0.0()', '0-1:24.2.1()', '1-0:99.97.0()(0-0:96.7.19)',
             '1-0:15.8.0()'])
    for ref in ('0-0:96.13.0', '0-0:96.13.1', '0-0:96.13.2', '0-0:96.13.5', '0-1:96.1.0', '0-0:96.14.0',
                '1-0:1.7.0', '1-0:15.8.0'):
        o = t.objects[ref]
        assert (o.value, o.unit, o.ts) == (None, None, None), (ref, o)
    assert t.objects['0-0:1.0.0'].ts is None and t.objects['0-1:24.2.1'].value is None
    assert t.objects['1-0:99.97.0'].value == 0 and t.events == []


def test_unknown_objects_are_kept_without_error():
    t = one(['1-0:13.7.0(4.556)', '1-0:14.7.0(50.00*Hz)', '1-0:94.32.1(400)', '0-0:96.50.68(ON)',
             '1-0:21.8.0(000001.000*kWh)(000002.000*kWh)'])
    assert t.objects['1-0:13.7.0'].value == '4.556' and t.raw['1-0:13.7.0'] == ['4.556']
    assert (t.objects['1-0:14.7.0'].value, t.objects['1-0:14.7.0'].unit) == (Dec(5000, 2), 'Hz')
    assert t.objects['0-0:96.50.68'].value == 'ON'
    assert t.objects['1-0:21.8.0'].value == (Dec(1000, 3), Dec(2000, 3))


def test_really_malformed_lines_are_still_errors():
    stack, out = read('FLU5\\253769484_A', ['1-0:1.8.1(000001.000*kWh)', '1-0:1.8.2(12.3.4*kWh)',
                                            '0-0:98.1.0(2)(1-0:1.6.0)(1-0:1.6.0)(230101000000W)()',
                                            '1-0:1.7.0(1*kW)(2*kW)', '0-0:96.13.0(a)(b)', 'x(1)'])
    (t,) = out
    assert [e[0] for e in t.errors] == [4, 5, 6, 7, 8]
    assert stack.counters['parse_errors'] == 5
    assert list(t.objects) == ['1-0:1.8.1']


def test_crc_less_telegram_only_from_a_dsmr22_meter():
    lines = ['0-0:96.1.1(4B384547303034303436333935353037)', '1-0:1.8.1(00001.001*kWh)']
    stack, out = read('ISk5\\2MT382-1004', lines, crc=False)
    assert len(out) == 1 and out[0].crc == 'absent' and stack.counters['no_crc'] == 1
    # a line whose meter profile sends CRCs (115200 8N1) never accepts one without
    stack, out = read('ISk5\\2MT382-1004', lines, crc=False, require_crc=True)
    assert out == [] and stack.counters['no_crc_rejected'] == 1 and stack.counters['crc_errors'] == 1
    # line noise that happens to hold '/' ... '!' is no meter identification: refused
    stack, out = read('\x7f#', lines, crc=False)
    assert out == [] and stack.counters['no_crc_rejected'] == 1
    assert 'identification' in stack.reader.rejected[0][1]


def test_crc_less_never_after_the_line_sent_a_crc():
    stack = P1Stack()
    good = frame('ISK5\\2M550T-1012', ['1-3:0.2.8(50)', '1-0:1.8.1(000001.000*kWh)'])
    bare = frame('ISk5\\2MT382-1004', ['1-0:1.8.1(00001.001*kWh)'], crc=False)
    assert len(stack.feed(bare)) == 1          # unknown line: a DSMR 2.2 telegram is taken
    assert len(stack.feed(good)) == 1          # the line sends CRCs from now on
    assert stack.feed(bare) == []
    c = stack.counters
    assert (c['accepted'], c['no_crc'], c['no_crc_rejected'], c['crc_errors']) == (2, 1, 1, 1)


def test_line_format_sets_the_crc_policy():
    stack = P1Stack(require_crc=True)
    bare = frame('ISk5\\2MT382-1004', ['1-0:1.8.1(00001.001*kWh)'], crc=False)
    assert stack.feed(bare) == []
    stack.set_line('9600 7E1')                 # the DSMR 2.2/3 line: its meters send no CRC
    assert stack.require_crc is False and len(stack.feed(bare)) == 1
    stack.set_line('115200 8N1')
    assert stack.require_crc is True and stack.feed(bare) == []
