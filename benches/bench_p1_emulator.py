"""How fast the P1 emulator's pure parts run: what a world model stepping a meter for months can expect.

Run: .venv/bin/pytest benches/bench_p1_emulator.py --benchmark-only
"""

import pytest

from firmware.timebase import local_to_utc
from hil.emulators.p1.encoder import encode_telegram
from hil.emulators.p1.faults import FaultInjector
from hil.emulators.p1.profiles import get_profile
from hil.emulators.p1.source import new_meter
from hil.emulators.p1.uart import UartFormat, misbaud

START = local_to_utc(2024, 1, 15, 0, 0, 0)


def test_bench_meter_one_day_in_1_s_steps(benchmark):
    """86400 calls of advance(1 s) with per-phase power: one simulated day."""
    def day():
        m = new_meter(get_profile('emucs17-3p'), START)
        for s in range(86400):
            w = 500 + (s % 3600)
            m.advance(1, phase_import_w=(w, w // 2, 100), gas_dm3_h=100)
        return m

    m = benchmark.pedantic(day, rounds=1, iterations=1)
    assert sum(m.import_wh) > 0 and len(m.history) == 0
    benchmark.extra_info['advance_calls_per_s'] = round(86400 / benchmark.stats.stats.mean)


def test_bench_meter_one_year_in_quarter_hour_steps(benchmark):
    def year():
        m = new_meter(get_profile('emucs17-3p'), START)
        for q in range(365 * 96):
            m.advance(900, 1000 + (q % 96) * 20, 0)
        return m

    m = benchmark.pedantic(year, rounds=1, iterations=1)
    assert len(m.history) == 12


@pytest.mark.parametrize('key', ['emucs17-3p', 'dsmr5', 'dsmr22'])
def test_bench_encode_telegram(benchmark, key):
    p = get_profile(key)
    hist = [(START - 86400 * 30 * i, START - 86400 * 31 * i, 2500) for i in range(13, 0, -1)]
    m = new_meter(p, START, history=hist)
    m.advance(1, 2345, 0)
    raw = benchmark(encode_telegram, m, p)
    assert raw.startswith(b'/')


def test_bench_faults_and_misbaud(benchmark):
    p = get_profile('emucs17-3p')
    m = new_meter(p, START)
    tg = encode_telegram(m, p)
    line = UartFormat(115200)

    def one():
        inj = FaultInjector(line, True, 1)
        inj.schedule(0, 'noise')
        inj.process(0, m.t, tg)
        return misbaud(tg, UartFormat(9600), line)

    assert benchmark(one)
