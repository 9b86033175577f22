"""Reader + parser throughput against dsmr-parser on the same telegrams, CRC checked in both.

Two inputs per meter type:
- the example telegram (test_suites/data/telegrams) fed again and again;
- a minute of a live line: 60 consecutive 1 Hz telegrams from the P1 emulator with a household load that
  changes every second (registers, powers, demand, clock change; ids, history and gas repeat, as on a
  real meter). Our reader runs both without and with `reuse` (lines identical to the previous
  telegram's are not parsed again); reuse is left out of the repeated-example case, where every line
  would repeat and the figure would mean nothing.

Run: .venv/bin/pytest benches/bench_p1_parser.py --benchmark-only --benchmark-columns=min,median,rounds
The `speedup` benchmarks time both parsers in alternation, in CPU time (so other work on the machine
weighs on both alike), and record the median ratio as extra_info["speedup"] (reports/benchmarks.json).
"""

import random
import statistics
import time

import pytest
from dsmr_parser import telegram_specifications as specs
from dsmr_parser.parsers import TelegramParser

from firmware.p1.stack import P1Stack
from firmware.timebase import local_to_utc
from hil.emulators.p1.profiles import PROFILES
from hil.emulators.p1.source import TelegramSource, new_meter
from test_suites.p1.telegram_files import telegram_bytes

EXAMPLES = {"e-MUCS": ("dsmr_parser_07.txt", specs.BELGIUM_FLUVIUS),
            "DSMR 5": ("dsmr_parser_04.txt", specs.V5)}
LIVE = {"e-MUCS": ("emucs17-3p", specs.BELGIUM_FLUVIUS), "DSMR 5": ("dsmr5", specs.V5)}
REPEAT = 60


def live_minute(profile_key: str) -> list[bytes]:
    """60 consecutive telegrams of a meter whose load changes every second (seeded)."""
    profile = PROFILES[profile_key]
    rng = random.Random(7)
    meter = new_meter(profile, local_to_utc(2025, 1, 15, 18, 0, 0), import_wh=(4592767, 6664174),
                      export_wh=(1269851, 439646), gas_dm3=12785123)

    def load(_t: int) -> dict:
        return {"import_w": rng.randint(300, 6000), "export_w": 0, "gas_dm3_h": rng.randint(0, 900)}

    source = TelegramSource(profile, meter, load)
    return [source.next().data for _ in range(60)]


def ours(frames: list[bytes], reuse: bool) -> int:
    stack = P1Stack(require_crc=True, reuse=reuse)
    n = 0
    for data in frames:
        n += len(stack.feed(data))
    assert stack.counters["crc_errors"] == 0 and stack.counters["parse_errors"] == 0
    return n


def theirs(parser: TelegramParser, texts: list[str]) -> int:
    for text in texts:
        parser.parse(text, throw_ex=True)
    return len(texts)


def inputs(kind: str, meter: str) -> tuple[list[bytes], dict]:
    if kind == "example":
        name, spec = EXAMPLES[meter]
        return [telegram_bytes(name)] * REPEAT, spec
    key, spec = LIVE[meter]
    return live_minute(key), spec


CASES = [(k, m) for k in ("example", "live minute") for m in ("e-MUCS", "DSMR 5")]


@pytest.mark.parametrize("kind, meter", CASES)
def test_bench_ours(benchmark, kind, meter):
    frames, _ = inputs(kind, meter)
    benchmark.extra_info["telegrams_per_round"] = len(frames)
    assert benchmark(ours, frames, False) == len(frames)


@pytest.mark.parametrize("meter", ["e-MUCS", "DSMR 5"])
def test_bench_ours_reuse(benchmark, meter):
    frames, _ = inputs("live minute", meter)
    benchmark.extra_info["telegrams_per_round"] = len(frames)
    assert benchmark(ours, frames, True) == len(frames)


@pytest.mark.parametrize("kind, meter", CASES)
def test_bench_dsmr_parser(benchmark, kind, meter):
    frames, spec = inputs(kind, meter)
    parser = TelegramParser(spec, apply_checksum_validation=True)
    texts = [f.decode("latin-1") for f in frames]
    benchmark.extra_info["telegrams_per_round"] = len(frames)
    assert benchmark(theirs, parser, texts) == len(frames)


SPEEDUP_CASES = [(k, m, r) for k, m in CASES for r in (False, True) if k == "live minute" or not r]


@pytest.mark.parametrize("kind, meter, reuse", SPEEDUP_CASES)
def test_bench_speedup(benchmark, kind, meter, reuse):
    """One round: our stack, then dsmr-parser, on the same telegrams; the ratio of their CPU times."""
    frames, spec = inputs(kind, meter)
    parser = TelegramParser(spec, apply_checksum_validation=True)
    texts = [f.decode("latin-1") for f in frames]
    ratios = []

    def both() -> None:
        a = time.process_time()
        ours(frames, reuse)
        b = time.process_time()
        theirs(parser, texts)
        c = time.process_time()
        ratios.append((c - b) / (b - a))

    benchmark.pedantic(both, rounds=15, iterations=1, warmup_rounds=1)
    measured = ratios[1:]  # the warm-up round is not a measurement
    benchmark.extra_info["speedup"] = round(statistics.median(measured), 2)
    benchmark.extra_info["speedup_min"] = round(min(measured), 2)
    benchmark.extra_info["reuse"] = reuse
