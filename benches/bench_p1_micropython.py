"""The P1 stack under MicroPython (the WebAssembly interpreter): time and heap per telegram, per profile.

Each profile's input is the first 24 telegrams (4 hours; `BENCH_MPY_TELEGRAMS=72` for 12 hours, as the
README's figures were taken) of the sampled day of bench_p1_parser.py (ten minutes apart, 13-month history
on e-MUCS), written to a folder the MicroPython runner mirrors;
benches/mpy_p1_speed.py feeds them to a cold `P1Stack()` (the device's code path, its byte-table CRC
included), one telegram per feed, and reads every value.

ESP32 estimate, a stated conversion: the ESP32 runs the same MicroPython bytecode VM (C) as the
WebAssembly build; assuming the same number of clock cycles per unit of interpreter work, a telegram takes
  esp32_us = wasm_us x host_MHz / 240
on an ESP32 at 240 MHz. That leaves out the Xtensa LX6's lower instructions per cycle than the host's and
the wasm-to-native overhead (which work in opposite directions); read it as an estimate within a factor
of about 2-3. share = esp32_us / 1 s (the telegram period of DSMR 5 and e-MUCS).

Run: .venv/bin/pytest benches/bench_p1_micropython.py -p no:cacheprovider -s
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from benches.bench_p1_parser import stream
from hil import mpy
from hil.emulators.p1.profiles import PROFILES

HERE = Path(__file__).resolve().parent
ESP32_MHZ = 240
TELEGRAMS = int(os.environ.get('BENCH_MPY_TELEGRAMS', '24'))  # per profile: every one distinct


def host_mhz() -> float:
    """The host CPU's clock as /proc/cpuinfo reports it (the first core)."""
    for line in Path('/proc/cpuinfo').read_text().splitlines():
        if line.startswith('cpu MHz'):
            return float(line.split(':')[1])
    raise RuntimeError('no "cpu MHz" in /proc/cpuinfo')


def test_bench_micropython_time_and_heap_per_telegram(benchmark: Any, tmp_path: Path) -> None:
    try:
        mpy.node_binary()
    except mpy.MpyUnavailable as e:
        pytest.skip(str(e))
    for key in PROFILES:
        (tmp_path / ('%s.p1' % key)).write_bytes(b''.join(stream('%s sampled day' % key)[:TELEGRAMS]))
    runs: list[mpy.MpyRun] = []
    benchmark.pedantic(lambda: runs.append(mpy.run([HERE / 'mpy_p1_speed.py'], telegrams=tmp_path,
                                                   timeout=600)), rounds=1, iterations=1)
    run = runs[0]
    assert run.returncode == 0, run.text + run.stderr
    rows = [json.loads(line.split(' ', 1)[1]) for t in run.tests for line in t.output.splitlines()
            if line.startswith('P1-SPEED ')]
    assert sorted(r['profile'] for r in rows) == sorted(PROFILES)
    mhz = host_mhz()
    table = {}
    print('\nMicroPython %s (WebAssembly) on a %.0f MHz host; ESP32 estimate = wasm x %.0f/%d'
          % (run.info.get('micropython'), mhz, mhz, ESP32_MHZ))
    print('%-11s %6s %10s %8s %12s %9s %10s %10s' % ('profile', 'bytes', 'wasm us', 'CRC us', 'ESP32 est.',
                                                     'of 1 s', 'alloc B', 'max B'))
    for r in sorted(rows, key=lambda r: r['profile']):
        est_ms = r['us_per_telegram'] * mhz / ESP32_MHZ / 1000
        table[r['profile']] = dict(r, esp32_ms=round(est_ms, 1), share_pct=round(est_ms / 10, 1))
        print('%-11s %6d %10d %8d %9.1f ms %8.1f%% %10d %10d' % (
            r['profile'], r['bytes'], r['us_per_telegram'], r['crc_us_per_telegram'], est_ms, est_ms / 10,
            r['alloc_median'], r['alloc_max']))
    benchmark.extra_info.update(host_mhz=mhz, profiles=table)
