"""Reader + parser throughput against dsmr-parser on the same telegrams, CRC checked in both.

Run: .venv/bin/pytest benches/bench_p1_parser.py --benchmark-only
The ratio test prints and records (in the benchmark JSON's extra_info) how many times faster we are.
"""

import pytest
from dsmr_parser import telegram_specifications as specs
from dsmr_parser.parsers import TelegramParser

from firmware.p1.stack import P1Stack
from test_suites.p1.telegram_files import telegram_bytes

CASES = {
    "e-MUCS (Fluvius 1.7.1)": ("dsmr_parser_07.txt", specs.BELGIUM_FLUVIUS),
    "DSMR 5": ("dsmr_parser_04.txt", specs.V5),
}
BATCH = 50


def ours(data: bytes) -> int:
    stack = P1Stack()
    n = 0
    for _ in range(BATCH):
        n += len(stack.feed(data))
    assert stack.counters["accepted"] == BATCH and stack.counters["crc_errors"] == 0
    return n


def theirs(parser: TelegramParser, text: str) -> int:
    n = 0
    for _ in range(BATCH):
        parser.parse(text, throw_ex=True)
        n += 1
    return n


@pytest.mark.parametrize("case", sorted(CASES))
def test_bench_ours(benchmark, case):
    data = telegram_bytes(CASES[case][0])
    benchmark.extra_info["telegrams_per_round"] = BATCH
    assert benchmark(ours, data) == BATCH


@pytest.mark.parametrize("case", sorted(CASES))
def test_bench_dsmr_parser(benchmark, case):
    name, spec = CASES[case]
    parser = TelegramParser(spec, apply_checksum_validation=True)
    text = telegram_bytes(name).decode("latin-1")
    benchmark.extra_info["telegrams_per_round"] = BATCH
    assert benchmark(theirs, parser, text) == BATCH
