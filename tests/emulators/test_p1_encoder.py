"""The encoder writes telegrams line for line like the real meters in test_suites/data/telegrams:
same objects in the same order, same widths and decimals, header, blank line, '!' + CRC + CRLF."""

import re

import pytest

from firmware.p1.crc16 import crc16_arc
from firmware.timebase import local_to_utc
from hil import testdata
from hil.emulators.p1.encoder import Identity, encode_telegram, fixed, frame, telegram_lines, ts_text
from hil.emulators.p1.profiles import PROFILES, Profile, get_profile
from hil.emulators.p1.source import new_meter

TELEGRAMS = testdata.telegram_dir()
IDS = ('96.1.1', '96.1.0', '96.1.2')


def real_lines(name):
    text = (TELEGRAMS / name).read_bytes().decode('latin-1')
    lines = text.replace('\r\n', '\n').split('\n')
    body = lines[2:lines.index(next(x for x in lines if x.startswith('!')))]
    return lines[0], body


def shape(line):
    """A line with every digit as 9 and every S/W timestamp suffix as X; identifiers as <id>."""
    p = line.find('(')
    ref, rest = (line[:p], line[p:]) if p >= 0 else ('', line)
    if any(ref.endswith(i) for i in IDS):
        return ref + '(<id>)'
    rest = re.sub(r'\d', '9', rest)
    return ref + re.sub(r'9{12}[SW]', '999999999999X', rest)


def meter_for(profile, history=0, failures=0, **kw):
    t0 = local_to_utc(2023, 11, 2, 12, 15, 48)
    m = new_meter(profile, t0, import_wh=(301548, 270014), export_wh=(5, 0), gas_dm3=92287,
                  history=[(local_to_utc(2023, 8 + i, 1, 0, 0, 0), local_to_utc(2023, 7 + i, 9, 18, 15, 0)
                            if i else None, 1862 * i) for i in range(history)], **kw)
    m.advance(0, 338, 0, gas_dm3_h=200)
    m.advance(10, 338, 0, gas_dm3_h=200)
    for _ in range(failures):
        m.power_failure(240)
    return m


def test_emucs17_three_phase_is_line_for_line_a_fluvius_telegram():
    header, real = real_lines('dsmr_parser_08.txt')        # e-MUCS 1.7 (50217), 3 phases, 4 months
    p = get_profile('emucs17-3p')
    ours = telegram_lines(meter_for(p, history=4), p)
    real = [x for x in real if not x.startswith('0-2:')]   # the real one also has a water meter on 0-2
    assert [shape(x) for x in ours] == [shape(x) for x in real]
    assert '/' + p.header == header


def test_emucs17_single_phase_sends_only_l1():
    three = telegram_lines(meter_for(get_profile('emucs17-3p')), get_profile('emucs17-3p'))
    one = telegram_lines(meter_for(get_profile('emucs17-1p')), get_profile('emucs17-1p'))
    l23 = ('1-0:41.', '1-0:61.', '1-0:42.', '1-0:62.', '1-0:52.', '1-0:72.', '1-0:51.', '1-0:71.')
    assert [shape(x) for x in one] == [shape(x) for x in three if not x.startswith(l23)]


def test_emucs2_adds_its_objects_to_emucs17():
    p17, p2 = get_profile('emucs17-3p'), get_profile('emucs2-3p')
    refs17 = [x.split('(')[0] for x in telegram_lines(meter_for(p17), p17)]
    lines2 = telegram_lines(meter_for(p2), p2)
    refs2 = [x.split('(')[0] for x in lines2]
    assert [r for r in refs2 if r in refs17] == refs17
    assert sorted(set(refs2) - set(refs17)) == ['0-0:96.1.2', '0-1:96.1.2', '0-1:96.3.10', '0-2:96.3.10',
                                                '0-3:96.3.10', '0-4:96.3.10', '1-0:94.32.1']
    assert '0-0:96.1.4(50221)' in lines2 and '0-0:17.0.0(99.999*kW)' in lines2


def test_dsmr5_is_line_for_line_an_iskra_am550():
    header, real = real_lines('dsmr_parser_05.txt')        # DSMR 5.0, gas on channel 2 there
    p = get_profile('dsmr5')
    ours = telegram_lines(meter_for(p, failures=1), p)
    real_elec = [x for x in real if not x.startswith(('0-1:', '0-2:'))]
    real_gas = [x.replace('0-2:', '0-1:') for x in real if x.startswith('0-2:')]
    assert [shape(x) for x in ours] == [shape(x) for x in real_elec + real_gas]
    assert '/' + p.header == header


def test_dsmr42_is_line_for_line_a_kaifa():
    header, real = real_lines('dsmr_parser_03.txt')
    p = get_profile('dsmr42')
    ours = telegram_lines(meter_for(p, failures=3), p)
    assert [shape(x) for x in ours] == [shape(x) for x in real]
    assert '/' + p.header == header


def test_dsmr22_is_line_for_line_an_iskra_mt382_without_crc():
    header, real = real_lines('dsmr_parser_01.txt')
    p = get_profile('dsmr22')
    m = meter_for(p)
    ours = telegram_lines(m, p)
    assert [shape(x) for x in ours] == [shape(x) for x in real]
    raw = encode_telegram(m, p)
    assert raw.startswith(b'/ISk5\\2MT382-1004\r\n\r\n') and raw.endswith(b'\r\n!\r\n')
    assert (p.baudrate, p.bytesize, p.parity, p.period_s) == (9600, 7, 'E', 10)


@pytest.mark.parametrize('key', sorted(PROFILES))
def test_frame_header_blank_line_crc_crlf(key):
    p = PROFILES[key]
    raw = encode_telegram(meter_for(p), p)
    assert raw.startswith(b'/' + p.header.encode() + b'\r\n\r\n')
    bang = raw.rindex(b'!')
    if p.crc:
        assert re.fullmatch(rb'[0-9A-F]{4}\r\n', raw[bang + 1:])
        assert int(raw[bang + 1:bang + 5], 16) == crc16_arc(raw[:bang + 1])
    else:
        assert raw[bang + 1:] == b'\r\n'
    assert b'\n' not in raw.replace(b'\r\n', b'')          # every line ends in CRLF
    assert b'/' not in raw[1:]                              # nothing a reader could take for a new start


def test_period_and_line_settings_per_profile():
    assert {k: (p.period_s, p.line_settings) for k, p in PROFILES.items()} == {
        'emucs17-3p': (1, '115200 8N1'), 'emucs17-1p': (1, '115200 8N1'), 'emucs2-3p': (1, '115200 8N1'),
        'emucs2-1p': (1, '115200 8N1'), 'dsmr5': (1, '115200 8N1'), 'dsmr42': (10, '115200 8N1'),
        'dsmr22': (10, '9600 7E1'), 'smarty': (10, '115200 8N1')}


def test_fixed_rounds_half_up_and_refuses_what_does_not_fit():
    assert fixed(301548, 3, (6, 3), 'x') == '000301.548'
    assert fixed(1015, 3, (4, 2), 'x') == '0001.02'         # 1.015 kW to 2 decimals
    assert fixed(1014, 3, (4, 2), 'x') == '0001.01'
    assert fixed(27, 2, (3, 0), 'x') == '000'
    assert fixed(50, 2, (3, 0), 'x') == '001'
    assert fixed(2347, 1, (3, 1), 'x') == '234.7'
    with pytest.raises(ValueError, match=r'1-0:1.7.0: 100000 \* 10\^-3 does not fit 2.3 digits'):
        fixed(100000, 3, (2, 3), '1-0:1.7.0')
    with pytest.raises(ValueError, match='expected a value >= 0'):
        fixed(-1, 3, (2, 3), 'x')


def test_registers_wrap_like_a_real_meter():
    p = get_profile('dsmr22')                                 # 5 integer digits: wraps at 100000 kWh
    m = new_meter(p, local_to_utc(2024, 1, 15, 10, 0, 0), import_wh=(100_000_123, 0))
    assert '1-0:1.8.1(00000.123*kWh)' in telegram_lines(m, p)


def test_a_power_beyond_the_field_is_an_error():
    p = get_profile('emucs17-3p')
    m = new_meter(p, local_to_utc(2024, 1, 15, 10, 0, 0))
    m.advance(1, 100_000, 0)
    with pytest.raises(ValueError, match=r'1-0:1\.4\.0: 100000 \* 10\^-3 does not fit 2\.3 digits'):
        encode_telegram(m, p)


def test_timestamps_carry_summer_and_winter_flags():
    # the repeated autumn hour: 02:30 local exists twice on 2024-10-27
    first = local_to_utc(2024, 10, 27, 2, 30, 0, 'S')
    assert ts_text(first, 60) == '241027023000S'
    assert ts_text(first + 3600, 60) == '241027023000W'
    assert ts_text(first, 60, flag=False) == '241027023000'


def test_history_placeholder_and_identity():
    p = get_profile('emucs17-3p')
    m = meter_for(p, history=2)
    lines = telegram_lines(m, p, Identity(serial='ABC', gas_serial='G1'))
    hist = next(x for x in lines if x.startswith('0-0:98.1.0'))
    assert hist.startswith('0-0:98.1.0(2)(1-0:1.6.0)(1-0:1.6.0)(230801000000S)(632525252525W)(00.000*kW)')
    assert '0-0:96.1.1(414243)' in lines and '0-1:96.1.1(4731)' in lines


def test_meter_and_profile_must_agree_on_phases():
    with pytest.raises(ValueError, match='writes 1 phase'):
        telegram_lines(new_meter(get_profile('emucs17-3p'), 0), get_profile('emucs17-1p'))


def test_unknown_profile_names_the_known_ones():
    with pytest.raises(ValueError, match='expected one of emucs17-3p'):
        get_profile('emucs9')


def test_profile_validation():
    with pytest.raises(ValueError):
        Profile('x', 'x', 'X', (), parity='Q')
    with pytest.raises(ValueError, match='format'):
        Profile('x', 'x', 'X', (), power_fmt=(0, 3))


def test_frame_without_crc():
    assert frame('H', ['a(1)'], crc=False) == b'/H\r\n\r\na(1)\r\n!\r\n'
