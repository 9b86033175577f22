"""The P1 stack against dsmr-parser on streams of distinct telegrams, both producing every value.

Inputs (`streams`), per emulator profile: a sampled emulated day, 144 telegrams ten minutes apart with a
load that changes every sample (registers, powers, clock, demand, peaks, gas captures all move; e-MUCS
meters carry a full 13-month peak history), and a 1 Hz minute of an e-MUCS 1.7 meter (60 consecutive
telegrams with a 13-month history, what a real line gives). No telegram is fed twice.

Each measured round starts cold: a new `P1Stack` (its timestamp caches and reference cache empty) and a new
dsmr-parser `TelegramParser`. Both check the CRC; both produce every value: dsmr-parser builds its objects
as it parses, our side makes its values while parsing too and then reads every object's value, unit and
timestamp and every history entry.

Three figures for our side (docs/p1-parser.md, "The speed figure", says why these):
- host: `P1Stack(crc=hil.p1_fastcrc.crc16_arc)` fed whole telegrams, the stack as host tools run it;
- device: the SmartMeter's own stack (`P1Stack(P1_MAX_TELEGRAM, require_crc=<the profile's line>,
  keep_frame=True)`) fed the line in UART_CHUNK-byte reads, as the ESP32's UART hands them on, with the
  compiled CRC standing in for the ESP32's viper CRC (both are machine code: under MicroPython's unix port
  the viper CRC is 0.3-1 % of a telegram's time, benches/bench_p1_native.py). dsmr-parser then gets the
  same reads through its own framing (`TelegramBuffer`, what its serial readers use) before it parses;
- portable: the device figure with the portable CRC (`crc16_table`, a Python step per byte): what a port
  without a native emitter (the WebAssembly build) runs. Not the ESP32's path: CPython pays ~40-70 us of
  per-byte CRC here that the ESP32 runs as machine code.
Line reuse (`P1Stack(reuse=True)`) is reported separately, on the 1 Hz minute only (a sampled day repeats
few lines, the repeated-example case would repeat all of them).

Run: .venv/bin/pytest benches/bench_p1_parser.py --benchmark-only -p no:cacheprovider \
         --benchmark-columns=median,rounds
The `speedup` benchmarks time both parsers in alternation in CPU time (other work on the machine weighs on
both alike) and record the median ratio as extra_info["speedup"] (extra_info["per_telegram_us"]: ours).
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
from dsmr_parser import telegram_specifications as specs
from dsmr_parser.clients.telegram_buffer import TelegramBuffer
from dsmr_parser.parsers import TelegramParser

from firmware.apps.smartmeter.app import P1_MAX_TELEGRAM
from firmware.p1.crc16 import crc16_table
from firmware.p1.stack import P1Stack
from firmware.timebase import local_to_utc
from hil.emulators.p1.profiles import PROFILES
from hil.emulators.p1.source import TelegramSource, new_meter
from hil.p1_fastcrc import crc16_arc as fast_crc

SPEC = {'emucs17-3p': specs.BELGIUM_FLUVIUS, 'emucs17-1p': specs.BELGIUM_FLUVIUS,
        'emucs2-3p': specs.BELGIUM_FLUVIUS, 'emucs2-1p': specs.BELGIUM_FLUVIUS, 'dsmr5': specs.V5,
        'dsmr42': specs.V4, 'dsmr22': specs.V2_2, 'smarty': specs.LUXEMBOURG_SMARTY}
SAMPLE_S = 600
# bytes per read in the device figure: the ESP32's UART FIFO holds 128 bytes and its driver hands them on at
# 120 (ESP-IDF's default full threshold) or when the line idles; a waiting P1 task wakes for each batch
UART_CHUNK = 120
MINUTE = 'emucs17-3p 1 Hz minute'


def history13(t0: int) -> list[tuple[int, int, int]]:
    """Thirteen closed months before t0 (oldest first), each with its peak quarter."""
    out = []
    for i in range(13, 0, -1):
        y, mo = divmod(2024 * 12 + 12 - i, 12)
        start = local_to_utc(y, mo + 1, 1, 0, 0, 0)
        out.append((start, start - 86400 * (2 + i) - 900 * (i + 3), 1500 + 211 * i))
    return out


@cache
def stream(name: str) -> tuple[bytes, ...]:
    """The telegrams of one input (see the module docstring), seeded."""
    key = name.split()[0]
    p = PROFILES[key]
    rng = random.Random(7)
    t0 = local_to_utc(2025, 1, 15, 0, 0, 0)
    hist = history13(t0) if key.startswith('emucs') else []
    meter = new_meter(p, t0, import_wh=(4592767, 6664174), export_wh=(1269851, 439646), gas_dm3=12785123,
                      history=hist)

    def load(_t: int) -> dict:
        return {'import_w': rng.randint(150, 6000 // (4 - p.phases)), 'export_w': 0,
                'gas_dm3_h': rng.randint(0, 900)}

    if name == MINUTE:
        return tuple(tg.data for tg, _ in zip(TelegramSource(p, meter, load, period_s=1), range(60),
                                              strict=False))
    return tuple(tg.data for tg, _ in zip(TelegramSource(p, meter, load, period_s=SAMPLE_S),
                                          range(86400 // SAMPLE_S), strict=False))


def produce(t: Any) -> int:
    """Read every value, unit and timestamp of a telegram (what dsmr-parser builds for each object)."""
    n = 0
    for o in t.objects.values():
        if o.value is not None or o.unit is not None or o.ts is not None:
            n += 1
    for _month, _at, v, _unit in t.history:
        if v is not None:
            n += 1
    return n


def ours(frames: tuple[bytes, ...], factory: Callable[[], P1Stack], chunk: int | None) -> int:
    """Feed a cold stack every telegram (whole, or in reads of `chunk` bytes); return the values produced."""
    stack = factory()
    n = 0
    reads = frames if chunk is None else reads_of(frames, chunk)
    for data in reads:
        for t in stack.feed(data):
            n += produce(t)
    c = stack.counters
    assert c['accepted'] == len(frames) and c['crc_errors'] == 0 and c['parse_errors'] == 0, c
    return n


@cache
def reads_of(frames: tuple[bytes, ...], chunk: int) -> tuple[bytes, ...]:
    """The line's bytes as reads of `chunk` bytes (a read may end a telegram and start the next)."""
    line = b''.join(frames)
    return tuple(line[i:i + chunk] for i in range(0, len(line), chunk))


def theirs(spec: dict, frames: tuple[bytes, ...], texts: list[str], chunk: int | None) -> int:
    """dsmr-parser, cold, on every telegram (CRC checked when the profile has one): the framed texts, or
    the same reads as ours through its TelegramBuffer (decoded per read, as its serial reader does)."""
    parser = TelegramParser(spec, apply_checksum_validation=b'!\r\n' not in frames[0][-3:])
    if chunk is None:
        for text in texts:
            parser.parse(text, throw_ex=True)
        return len(texts)
    buf = TelegramBuffer()
    n = 0
    for data in reads_of(frames, chunk):
        buf.append(data.decode('latin-1'))
        for text in buf.get_all():
            parser.parse(text, throw_ex=True)
            n += 1
    assert n == len(frames), n
    return n


def device(key: str, crc: Callable[..., int], reuse: bool = False) -> Callable[[], P1Stack]:
    """The SmartMeter's stack for this profile's line (a line without CRCs only on DSMR 2.2/3)."""
    return lambda: P1Stack(P1_MAX_TELEGRAM, require_crc=PROFILES[key].crc, keep_frame=True, crc=crc,
                           reuse=reuse)


def figure(name: str, fig: str) -> tuple[Callable[[], P1Stack], int | None]:
    """(stack factory, bytes per read or None for whole telegrams) of one figure on one input."""
    key = name.split()[0]
    return {'host': (lambda: P1Stack(require_crc=None, crc=fast_crc), None),
            'device': (device(key, fast_crc), UART_CHUNK),
            'portable': (device(key, crc16_table), UART_CHUNK),
            'host+reuse': (lambda: P1Stack(require_crc=None, crc=fast_crc, reuse=True), None),
            'device+reuse': (device(key, fast_crc, reuse=True), UART_CHUNK)}[fig]


INPUTS = ['%s sampled day' % k for k in PROFILES] + [MINUTE]
CASES = ([(i, f) for i in INPUTS for f in ('host', 'device', 'portable')]
         + [(MINUTE, 'host+reuse'), (MINUTE, 'device+reuse')])


def measure(name: str, fig: str, rounds: int) -> tuple[list[float], float]:
    """Ratios (their CPU time / ours) of `rounds` alternating rounds, and our median time per telegram."""
    frames = stream(name)
    texts = [f.decode('latin-1') for f in frames]
    spec = SPEC[name.split()[0]]
    factory, chunk = figure(name, fig)
    ratios, per = [], []
    for _ in range(rounds + 1):
        a = time.process_time()
        ours(frames, factory, chunk)
        b = time.process_time()
        theirs(spec, frames, texts, chunk)
        c = time.process_time()
        ratios.append((c - b) / (b - a))
        per.append((b - a) / len(frames))
    return ratios[1:], statistics.median(per[1:])  # the first round warms the interpreter, not our caches


@pytest.mark.parametrize('name, fig', CASES)
def test_bench_speedup(benchmark: Any, name: str, fig: str) -> None:
    """One round: our stack (cold), then dsmr-parser (cold), on the same distinct telegrams."""
    frames = stream(name)
    texts = [f.decode('latin-1') for f in frames]
    spec = SPEC[name.split()[0]]
    factory, chunk = figure(name, fig)
    ratios: list[float] = []
    per: list[float] = []

    def both() -> None:
        a = time.process_time()
        ours(frames, factory, chunk)
        b = time.process_time()
        theirs(spec, frames, texts, chunk)
        c = time.process_time()
        ratios.append((c - b) / (b - a))
        per.append((b - a) / len(frames))

    benchmark.pedantic(both, rounds=7, iterations=1, warmup_rounds=1)
    measured = ratios[1:]
    benchmark.extra_info.update(speedup=round(statistics.median(measured), 2),
                                speedup_min=round(min(measured), 2),
                                per_telegram_us=round(statistics.median(per[1:]) * 1e6, 1),
                                telegrams=len(frames), bytes_per_telegram=len(frames[0]),
                                bytes_per_read=chunk or 'telegram')
