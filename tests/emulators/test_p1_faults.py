"""Every fault is recorded with the effect the reader must report, and the firmware's reader reports
exactly that (in memory here; over a real pty in test_suites/p1_emulator/test_e2e_pty.py)."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.p1.crc16 import crc16_arc
from firmware.p1.reader import TelegramReader
from firmware.timebase import local_to_utc
from hil.emulators.p1.faults import (
    KINDS,
    FaultInjector,
    crc_holds,
    end_mark,
    flip_bit,
    parse_fault,
    pick_bitflip,
    replace_crc,
    visible,
)
from hil.emulators.p1.profiles import get_profile
from hil.emulators.p1.source import ConstantLoad, TelegramSource, new_meter
from hil.emulators.p1.uart import UartFormat

COUNTERS = ('accepted', 'crc_errors', 'truncated', 'oversized', 'garbage_bytes')


def line(p):
    return UartFormat(p.baudrate, p.bytesize, p.parity, p.stopbits)


def run(key, n, faults, seed=1, chunks=None):
    """Produce n telegrams with faults [(k, kind, params)], feed the line's bytes to the firmware reader."""
    p = get_profile(key)
    src = TelegramSource(p, new_meter(p, local_to_utc(2024, 2, 6, 9, 0, 0)), ConstantLoad(1800, 0, 150))
    inj = FaultInjector(line(p), p.crc, seed)
    for k, kind, params in faults:
        inj.schedule(k, kind, **params)
    clean, stream, txs = [], b'', []
    for _ in range(n):
        tg = src.next()
        clean.append(tg)
        tx = inj.process(tg.index, tg.meter_ts, tg.data)
        txs.append(tx)
        stream += tx.data
    reader = TelegramReader()
    rng = random.Random(seed)
    frames, i = [], 0
    while i < len(stream):
        size = chunks or rng.randint(1, 700)
        frames += reader.feed(stream[i:i + size])
        i += size
    frames += reader.end()
    return inj, reader, frames, clean, txs


def counters(reader):
    return {k: reader.counters[k] for k in COUNTERS}


def test_clean_line_every_telegram_accepted():
    inj, reader, frames, clean, _ = run('emucs17-3p', 5, [])
    assert counters(reader) == inj.expected_counters(5) == {**dict.fromkeys(COUNTERS, 0), 'accepted': 5}
    assert [raw for raw, _ in frames] == [t.data[:end_mark(t.data) + 1] for t in clean]


def test_bitflip_is_a_crc_error_and_recorded_exactly():
    inj, reader, frames, clean, _ = run('emucs17-3p', 4, [(1, 'bitflip', {})])
    (rec,) = inj.log
    assert (rec.kind, rec.telegram, rec.meter_ts) == ('bitflip', 1, clean[1].meter_ts)
    assert rec.expect == {'accepted': -1, 'crc_errors': 1} and rec.exact
    assert bin(rec.detail['was'] ^ rec.detail['now']).count('1') == 1
    assert clean[1].data[rec.detail['pos']] == rec.detail['was']
    assert counters(reader) == inj.expected_counters(4)
    assert clean[1].data[:end_mark(clean[1].data) + 1] not in [raw for raw, _ in frames]


def test_bitflip_at_a_chosen_place():
    inj, reader, _, clean, txs = run('dsmr5', 2, [(0, 'bitflip', {'pos': 30, 'bit': 2})])
    assert txs[0].data == flip_bit(clean[0].data, 30, 2)
    assert counters(reader) == inj.expected_counters(2)


def test_bitflip_that_would_make_a_framing_byte_is_refused():
    p = get_profile('emucs17-3p')
    tg = TelegramSource(p, new_meter(p, 0)).next()
    pos = tg.data.index(b'(')                          # '(' 0x28 ^ 0x08 = ' ' ok; ^ 0x09 -> '!' is framing
    inj = FaultInjector(line(p), True)
    inj.schedule(0, 'bitflip', pos=pos, bit=3)
    inj.process(0, tg.meter_ts, tg.data)               # 0x28 ^ 0x08 = 0x20: fine
    inj.schedule(1, 'bitflip', pos=tg.data.index(b'.'), bit=0)   # '.' 0x2E ^ 1 = '/' : a new start
    with pytest.raises(ValueError, match='stays no framing byte'):
        inj.process(1, tg.meter_ts, tg.data)


def test_random_bitflips_never_touch_framing():
    p = get_profile('emucs17-3p')
    tg = TelegramSource(p, new_meter(p, 0)).next().data
    rng = random.Random(3)
    for _ in range(500):
        pos, bit = pick_bitflip(tg, rng)
        flipped = tg[pos] ^ (1 << bit)
        assert 1 <= pos < end_mark(tg) and flipped not in b'/!\r\n'


def test_wrong_crc():
    inj, reader, _, clean, txs = run('emucs2-3p', 3, [(2, 'wrong_crc', {})])
    assert txs[2].data != clean[2].data and not crc_holds(txs[2].data) and crc_holds(clean[2].data)
    assert inj.log[0].expect == {'accepted': -1, 'crc_errors': 1}
    assert counters(reader) == inj.expected_counters(3)


def test_wrong_crc_on_a_crc_less_telegram_adds_one():
    inj, reader, _, clean, txs = run('dsmr22', 2, [(0, 'wrong_crc', {})])
    assert clean[0].data.endswith(b'!\r\n') and not crc_holds(txs[0].data)
    assert txs[0].data.endswith(b'\r\n') and len(txs[0].data) == len(clean[0].data) + 4
    assert counters(reader) == inj.expected_counters(2) and reader.counters['crc_errors'] == 1


def test_replace_crc_always_changes_it():
    body = b'/X\r\n\r\n1-0:1.8.1(1*kWh)\r\n!'
    good = body + b'%04X\r\n' % crc16_arc(body)
    assert crc_holds(good) and not crc_holds(replace_crc(good))


def test_truncate():
    inj, reader, frames, _, txs = run('emucs17-3p', 4, [(1, 'truncate', {'keep': 200})])
    assert len(txs[1].data) == 200
    assert inj.log[0].expect == {'accepted': -1, 'truncated': 1} and inj.log[0].detail['keep'] == 200
    assert counters(reader) == inj.expected_counters(4) and len(frames) == 3


def test_truncation_of_the_last_telegram_counts_at_the_end_of_input():
    inj, reader, _, _, _ = run('dsmr42', 3, [(2, 'truncate', {})])
    assert counters(reader) == inj.expected_counters(3)


def test_truncate_must_cut_before_the_end_mark():
    with pytest.raises(ValueError, match='cut before the end mark'):
        run('emucs17-3p', 1, [(0, 'truncate', {'keep': 5000})])


def test_drop():
    inj, reader, frames, clean, txs = run('emucs17-1p', 3, [(1, 'drop', {})])
    assert txs[1].data == b'' and inj.log[0].expect == {'accepted': -1}
    assert counters(reader) == inj.expected_counters(3) == {**dict.fromkeys(COUNTERS, 0), 'accepted': 2}
    assert [raw[:40] for raw, _ in frames] == [clean[0].data[:40], clean[2].data[:40]]


def test_garbage_between_telegrams():
    inj, reader, frames, clean, txs = run('emucs17-3p', 3, [(1, 'garbage', {'n': 40})])
    rec = inj.log[0]
    assert txs[1].data == rec.detail['bytes'] + clean[1].data
    assert rec.expect == {'garbage_bytes': 40} and b'/' not in rec.detail['bytes']
    assert counters(reader) == inj.expected_counters(3) and len(frames) == 3


def test_garbage_after_a_cut_off_telegram_joins_that_frame():
    inj, reader, _, _, _ = run('emucs17-3p', 3, [(0, 'truncate', {}), (1, 'garbage', {'n': 10})])
    assert inj.log[1].expect == {}
    assert counters(reader) == inj.expected_counters(3) and reader.counters['garbage_bytes'] == 0


def test_garbage_and_an_altering_fault_on_one_telegram():
    inj, reader, _, _, _ = run('emucs17-3p', 3, [(1, 'garbage', {'n': 8}), (1, 'noise', {})])
    assert counters(reader) == inj.expected_counters(3)


def test_noise_burst():
    inj, reader, _, clean, txs = run('emucs17-3p', 3, [(1, 'noise', {'pos': 100, 'n': 20})])
    rec = inj.log[0]
    assert txs[1].data[100:120] == rec.detail['noise'] and all(
        a != b for a, b in zip(rec.detail['noise'], clean[1].data[100:120], strict=True))
    assert not set(rec.detail['noise']) & set(b'/!\r\n')
    assert rec.expect == {'accepted': -1, 'crc_errors': 1}
    assert counters(reader) == inj.expected_counters(3)


@pytest.mark.parametrize('key, baud', [('emucs17-3p', None), ('dsmr5', 9600), ('dsmr22', None),
                                       ('dsmr22', 1200)])
def test_wrong_baud_rate(key, baud):
    params = {} if baud is None else {'baud': baud}
    inj, reader, _, clean, txs = run(key, 3, [(1, 'wrong_baud', params)])
    rec = inj.log[0]
    assert rec.exact and rec.expect['accepted'] == -1
    assert rec.expect['garbage_bytes'] == visible(txs[1].data) > 0
    assert txs[1].data != clean[1].data
    assert counters(reader) == inj.expected_counters(3)


def test_wrong_baud_whose_garbage_holds_a_start_mark_is_not_exact():
    # a sender 17 % slow (96000 instead of 115200 baud): the garbage holds '/' start marks
    inj, reader, _, _, txs = run('emucs17-3p', 3, [(1, 'wrong_baud', {'baud': 96000})])
    assert txs[1].data.count(b'/') > 1
    assert not inj.log[0].exact
    assert reader.counters['accepted'] == inj.expected_counters(3)['accepted'] == 2


def test_a_baud_error_within_uart_tolerance_changes_nothing():
    inj, reader, _, clean, txs = run('emucs17-3p', 3, [(1, 'wrong_baud', {'baud': 110000})])   # -4.5 %
    assert txs[1].data == clean[1].data
    assert inj.log[0].expect == {} and inj.log[0].detail['tolerated']
    assert counters(reader) == inj.expected_counters(3) == {**dict.fromkeys(COUNTERS, 0), 'accepted': 3}


@pytest.mark.parametrize('params, expect', [
    ({'telegrams': 2, 'cut': 0, 'resume': 0}, {'accepted': -2}),
    ({'telegrams': 2, 'cut': 300, 'resume': 0}, {'accepted': -2, 'truncated': 1}),
    ({'telegrams': 1, 'cut': 0, 'resume': 250}, {'accepted': -2, 'garbage_bytes': None}),
    ({'telegrams': 3, 'cut': 300, 'resume': 250}, {'accepted': -4, 'crc_errors': 1}),
])
def test_cable_pulled_and_plugged_back(params, expect):
    inj, reader, _, clean, txs = run('emucs17-3p', 8, [(2, 'cable_pull', params)])
    (rec,) = inj.log
    if expect.get('garbage_bytes', 0) is None:
        expect['garbage_bytes'] = visible(clean[3].data[250:])
    assert rec.expect == expect
    assert rec.detail['plugged'] == 2 + params['telegrams']
    silent = range(3, 2 + params['telegrams'])
    assert all(txs[k].data == b'' for k in silent)
    assert txs[2].data == clean[2].data[:params['cut']]
    assert txs[2 + params['telegrams']].delay_chars == params['resume']
    assert counters(reader) == inj.expected_counters(8)


def test_cable_pull_on_dsmr22_splices_unnoticed():
    inj, reader, _, _, _ = run('dsmr22', 6, [(1, 'cable_pull', {'telegrams': 1, 'cut': 100, 'resume': 50})])
    assert not inj.exact
    assert reader.counters['accepted'] == inj.expected_counters(6)['accepted'] == 5   # one garbled one


def test_dsmr22_bitflips_go_unnoticed():
    inj, reader, _, _, _ = run('dsmr22', 3, [(1, 'bitflip', {})])
    assert not inj.log[0].exact and inj.log[0].expect == {}
    assert reader.counters['accepted'] == 3


def test_faults_while_the_cable_is_out_are_recorded_as_skipped():
    inj, reader, _, _, _ = run('emucs17-3p', 6, [(1, 'cable_pull', {'telegrams': 2, 'cut': 0}),
                                                 (2, 'bitflip', {})])
    assert inj.log[1].detail['skipped'] == 'cable out' and inj.log[1].expect == {}
    assert counters(reader) == inj.expected_counters(6)


def test_two_altering_faults_on_one_telegram_are_refused():
    inj = FaultInjector(UartFormat(115200))
    inj.schedule(3, 'bitflip')
    with pytest.raises(ValueError, match='one per telegram'):
        inj.schedule(3, 'drop')


def test_on_demand_faults_hit_the_next_telegram():
    p = get_profile('emucs17-3p')
    src = TelegramSource(p, new_meter(p, 0))
    inj = FaultInjector(line(p))
    inj.process(0, 0, src.next().data)
    inj.inject('drop')
    tg = src.next()
    assert inj.process(tg.index, tg.meter_ts, tg.data).data == b''
    assert inj.log[0].telegram == 1


def test_repeating_faults():
    p = get_profile('emucs17-3p')
    src = TelegramSource(p, new_meter(p, 0))
    inj = FaultInjector(line(p))
    inj.schedule_every(2, 3, 'wrong_crc')
    for _ in range(10):
        tg = src.next()
        inj.process(tg.index, tg.meter_ts, tg.data)
    assert [r.telegram for r in inj.log] == [2, 5, 8]


def test_parse_fault_specs():
    assert parse_fault('bitflip@5') == ('bitflip', 5, None, {})
    assert parse_fault('garbage@3+10,n=32') == ('garbage', 3, 10, {'n': 32})
    assert parse_fault('cable_pull@8,telegrams=3,cut=0,resume=40') == (
        'cable_pull', 8, None, {'telegrams': 3, 'cut': 0, 'resume': 40})
    with pytest.raises(ValueError, match='expected a kind among bitflip'):
        parse_fault('meltdown@1')
    with pytest.raises(ValueError, match=r'KIND@N\[\+EVERY\]'):
        parse_fault('noise@x')


def test_records_are_json_friendly():
    inj, _, _, _, _ = run('emucs17-3p', 2, [(0, 'noise', {})])
    j = inj.log[0].to_json()
    assert j['kind'] == 'noise' and isinstance(j['detail']['noise'], str)


def fault_params(kind, draw_int, bang):
    """Parameters that reach the edges: cut at the first byte or at the end mark, resume on either side."""
    if kind == 'cable_pull':
        return {'telegrams': draw_int(1, 3), 'cut': [0, 1, 300, bang][draw_int(0, 3)],
                'resume': [0, 1, bang - 1, bang, bang + 1, 700][draw_int(0, 5)]}
    if kind == 'truncate':
        return {'keep': [1, bang][draw_int(0, 1)]}
    if kind == 'garbage':
        return {'n': draw_int(1, 40)}
    return {}


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 11), st.sampled_from(KINDS)), max_size=7, unique_by=lambda x: x[0]),
       st.integers(0, 1000), st.sampled_from(['emucs17-3p', 'dsmr5', 'dsmr42', 'emucs2-1p', 'dsmr22']),
       st.data())
def test_any_mix_of_faults_gives_the_recorded_counters(faults, seed, key, data):
    p = get_profile(key)
    bang = end_mark(TelegramSource(p, new_meter(p, local_to_utc(2024, 2, 6, 9, 0, 0))).next().data)

    def draw_int(lo, hi):
        return data.draw(st.integers(lo, hi))

    spec = [(k, kind, fault_params(kind, draw_int, bang)) for k, kind in faults]
    inj, reader, _, _, _ = run(key, 12, spec, seed=seed)
    want = inj.expected_counters(12)
    if inj.exact:
        assert counters(reader) == want
    else:
        assert reader.counters['accepted'] == want['accepted']


def test_the_line_end_before_the_end_mark_is_never_hit():
    # a reader takes '!' as the end mark only at a line start: flipping that LF would merge two telegrams
    p = get_profile('dsmr42')
    tg = TelegramSource(p, new_meter(p, 0)).next().data
    rng = random.Random(0)
    assert all(pick_bitflip(tg, rng)[0] < end_mark(tg) - 1 for _ in range(2000))
    inj = FaultInjector(line(p))
    inj.schedule(0, 'bitflip', pos=end_mark(tg) - 1, bit=0)
    with pytest.raises(ValueError, match='bit flip'):
        inj.process(0, 0, tg)


def test_a_cut_off_frame_ended_by_a_later_tail_is_a_crc_error_not_a_truncation():
    # telegram 1 is cut off; the cable is pulled between telegrams 2 and 3 and plugged back 300 bytes into
    # telegram 4: its tail (with the end mark) completes the frame telegram 1 left open
    faults = [(1, 'truncate', {'keep': 200}), (2, 'cable_pull', {'telegrams': 2, 'cut': 0, 'resume': 300})]
    inj, reader, _, _, _ = run('emucs17-3p', 7, faults)
    assert inj.log[0].expect == {'accepted': -1}
    assert inj.log[1].expect == {'accepted': -3, 'crc_errors': 1} and inj.log[1].detail['spliced'] == 1
    assert counters(reader) == inj.expected_counters(7)
    assert reader.counters['truncated'] == 0


def test_a_tail_without_the_end_mark_leaves_the_frame_open():
    p = get_profile('emucs17-3p')
    bang = end_mark(TelegramSource(p, new_meter(p, 0)).next().data)
    inj, reader, _, _, _ = run('emucs17-3p', 5, [(1, 'cable_pull', {'telegrams': 1, 'cut': 100,
                                                                    'resume': bang + 1})])
    assert inj.log[0].expect == {'accepted': -2, 'truncated': 1}
    assert counters(reader) == inj.expected_counters(5)


def test_noise_in_the_identification_line_of_a_telegram_without_crc_is_refused():
    """DSMR 2.2 has no CRC: noise that hits the '/XXXn...' line leaves no meter identification, so the
    reader refuses the telegram as line noise (issue 11's rule) and the injector expects exactly that."""
    inj, reader, _, _, _ = run('dsmr22', 4, [(1, 'noise', {'pos': 2, 'n': 3})], seed=5)
    assert inj.expected_counters(4)['accepted'] == 3
    assert reader.counters['accepted'] == 3 and reader.counters['no_crc_rejected'] == 1
