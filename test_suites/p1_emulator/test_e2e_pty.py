"""End to end: the P1 emulator on one end of a pty pair, the firmware's P1Stack reading the other end
through pyserial. Clean: every telegram arrives and decodes to the meter's registers. With faults: the
stack's counters equal what the emulator recorded it injected."""

import time

from firmware.p1.readings import meter_reading
from firmware.p1.stack import P1Stack
from firmware.timebase import local_to_utc
from hil.emulators.p1.faults import FaultInjector
from hil.emulators.p1.profiles import get_profile
from hil.emulators.p1.source import ConstantLoad, TelegramSource, new_meter
from hil.emulators.p1.writer import P1Writer, line_format

COUNTERS = ('accepted', 'crc_errors', 'truncated', 'oversized', 'garbage_bytes')


class Keeping(TelegramSource):
    """Keeps (meter time, import Wh, export Wh) of every telegram it produced."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.readings = []
        self.registers = []

    def next(self):
        t = super().next()
        self.readings.append((t.meter_ts, sum(self.meter.import_wh), sum(self.meter.export_wh)))
        self.registers.append(self.meter.import_wh + self.meter.export_wh)
        return t


def run(key, n, faults=(), scale=0.05, seed=7, load=None, during=None):
    p = get_profile(key)
    src = Keeping(p, new_meter(p, local_to_utc(2024, 10, 27, 1, 50, 0, 'S'), import_wh=(1234567, 7654321)),
                  load or ConstantLoad(3500, 0, 300))
    inj = FaultInjector(line_format(src), p.crc, seed)
    for k, kind, params in faults:
        inj.schedule(k, kind, **params)
    stack = P1Stack()
    telegrams = []
    with P1Writer(src, None, injector=inj, time_scale=scale, count=n) as w:
        ser = w.pair.open(1, baudrate=p.baudrate, bytesize=p.bytesize, parity=p.parity, stopbits=p.stopbits,
                          timeout=0.01)
        w.start()
        deadline = time.monotonic() + n * p.period_s * scale + 10
        received = 0
        while time.monotonic() < deadline:
            if during is not None:
                during(w)
            data = ser.read(max(1, ser.in_waiting))
            received += len(data)
            telegrams += stack.feed(data)
            if not data and w.join(0) and received >= w.bytes_sent:   # everything sent has arrived
                break
        telegrams += stack.end()
        ser.close()
        assert w.pair.dropped == 0, 'the reader fell %d bytes behind' % w.pair.dropped
    assert len(w.sent) == n
    return src, inj, stack, telegrams


def test_40_telegrams_at_115200_none_lost_and_every_reading_right():
    # across the autumn DST change (02:00-03:00 local twice) at one telegram a second, 20x accelerated
    src, inj, stack, telegrams = run('emucs17-3p', 40)
    assert {k: stack.counters[k] for k in COUNTERS} == {**dict.fromkeys(COUNTERS, 0), 'accepted': 40}
    assert stack.counters['parse_errors'] == 0
    assert [meter_reading(t) for t in telegrams] == src.readings
    assert all(t.crc == 'ok' for t in telegrams)


def test_faults_on_the_line_show_up_in_the_readers_counters_exactly():
    faults = [(3, 'bitflip', {}), (6, 'wrong_crc', {}), (9, 'truncate', {}), (12, 'drop', {}),
              (15, 'garbage', {'n': 33}), (18, 'noise', {}), (21, 'wrong_baud', {}),
              (24, 'cable_pull', {'telegrams': 2, 'cut': 250}), (30, 'cable_pull', {'telegrams': 1, 'cut': 0,
                                                                                   'resume': 100}),
              (34, 'cable_pull', {'telegrams': 1, 'cut': 400, 'resume': 300}), (37, 'garbage', {'n': 5})]
    src, inj, stack, telegrams = run('emucs17-3p', 40, faults)
    assert inj.exact
    want = inj.expected_counters(40)
    assert {k: stack.counters[k] for k in COUNTERS} == want
    assert want['accepted'] == 40 - 12 and want['crc_errors'] == 4 and want['truncated'] == 2
    hit = {3, 6, 9, 12, 18, 21, 24, 25, 30, 31, 34, 35}
    assert [meter_reading(t) for t in telegrams] == [r for k, r in enumerate(src.readings) if k not in hit]


def test_dsmr5_with_faults_injected_on_demand_while_running():
    asked = []

    def during(w):
        # a test (or a person at the CLI) asks for faults while the meter runs: each hits the next telegram
        for at, kind, params in ((2, 'garbage', {'n': 64}), (5, 'noise', {'n': 30}), (8, 'truncate', {})):
            if len(w.sent) >= at and kind not in asked:
                w.injector.inject(kind, **params)
                asked.append(kind)

    src, inj, stack, telegrams = run('dsmr5', 12, during=during)
    assert [r.kind for r in inj.log] == ['garbage', 'noise', 'truncate']
    assert {k: stack.counters[k] for k in COUNTERS} == inj.expected_counters(12)
    assert len(telegrams) == 10 and stack.counters['garbage_bytes'] == 64


def test_dsmr42_every_10_s():
    src, inj, stack, telegrams = run('dsmr42', 5, scale=0.01, load=ConstantLoad(0, 2500, 0))
    assert stack.counters['accepted'] == 5
    assert [meter_reading(t) for t in telegrams] == src.readings
    assert [t.objects['0-0:1.0.0'].ts for t in telegrams] == [r[0] for r in src.readings]
    assert src.readings[-1][0] - src.readings[0][0] == 40


def test_dsmr22_at_9600_7e1_without_crc():
    faults = [(1, 'truncate', {}), (3, 'drop', {}), (4, 'garbage', {'n': 12}), (6, 'wrong_baud', {}),
              (7, 'cable_pull', {'telegrams': 1, 'cut': 0})]
    src, inj, stack, telegrams = run('dsmr22', 10, faults, scale=0.01)
    assert inj.exact
    assert {k: stack.counters[k] for k in COUNTERS} == inj.expected_counters(10)
    assert all(t.crc == 'absent' for t in telegrams) and len(telegrams) == 6
    # DSMR 2.2 has no clock (no reading for the plugs): the registers tell which telegrams arrived
    assert [meter_reading(t) for t in telegrams] == [None] * 6
    refs = ('1-0:1.8.1', '1-0:1.8.2', '1-0:2.8.1', '1-0:2.8.2')
    got = [tuple(t.objects[r].value.scaled(3) for r in refs) for t in telegrams]
    assert got == [r for k, r in enumerate(src.registers) if k not in {1, 3, 6, 7}]
