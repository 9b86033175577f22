"""Regression suite: every input the fuzzer kept (test_suites/fuzz/corpus) still keeps every invariant.

The invariants are those of hil/fuzz/p1_check.py (never raises, accepted frames are real input spans
whose CRC holds or that have none and declare no DSMR >= 4 version, counters consistent, chunking
changes nothing, the reader recovers). The tests at the bottom prove the checker catches a stack that
breaks them.
"""

from pathlib import Path

import pytest

from firmware.p1.reader import TelegramReader
from firmware.p1.stack import P1Stack
from hil.fuzz import p1_check
from hil.fuzz.p1_check import GOOD, InvariantViolation, check_stream

CORPUS = Path(__file__).resolve().parent / "corpus"
FILES = sorted(p for p in CORPUS.glob("*") if p.is_file())


def test_corpus_is_there_and_small():
    assert len(FILES) >= 20, f"expected the committed fuzz corpus in {CORPUS}"
    assert len(FILES) <= 200, f"{len(FILES)} files: merge with libFuzzer -merge=1 to keep it small"
    total = sum(p.stat().st_size for p in FILES)
    assert total <= 300 * 1024, f"corpus is {total} bytes; keep it under 300 KB"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name[:12])
def test_corpus_input_keeps_every_invariant(path: Path):
    check_stream(path.read_bytes())


def test_corpus_reaches_every_framing_outcome():
    # the corpus is only a regression suite if it exercises what can go wrong, not just good telegrams
    seen = {k: 0 for k in ("accepted", "crc_errors", "truncated", "oversized", "garbage_bytes",
                           "parse_errors")}
    for p in FILES:
        st = P1Stack()
        st.feed(p.read_bytes())
        st.end()
        for k in seen:
            seen[k] += st.counters[k] > 0
    assert all(seen.values()), f"corpus inputs per counter that fires: {seen}"


# --- the checker can fail -------------------------------------------------------------------------


class _LaxReader(TelegramReader):
    """A broken reader: accepts a telegram whatever its CRC says."""

    def _finish(self, out):
        if self.crc_digits:
            self.crc_val = p1_check.crc16_arc(bytes(self.buf))
        super()._finish(out)


def _lax_stack() -> P1Stack:
    st = P1Stack()
    st.reader = _LaxReader()
    st.counters = st.reader.counters
    return st


def test_checker_catches_a_reader_that_ignores_the_crc():
    body = GOOD[: GOOD.index(b"!") + 1]
    check_stream(GOOD, _lax_stack)  # a good telegram passes either way
    with pytest.raises(InvariantViolation, match="CRC does not hold"):
        check_stream(body + b"0000\r\n", _lax_stack)


def test_checker_catches_a_parser_exception_the_stack_swallows(monkeypatch: pytest.MonkeyPatch):
    def boom(*args, **kwargs):
        raise ZeroDivisionError("parser bug")

    monkeypatch.setattr("firmware.p1.parser.Parser.parse", boom)
    monkeypatch.setattr(p1_check, "parse_telegram", boom)
    with pytest.raises(ZeroDivisionError, match="parser bug"):
        check_stream(GOOD)


def test_checker_catches_counters_that_lie():
    class Miscounting(P1Stack):
        def feed(self, chunk):
            out = super().feed(chunk)
            self.counters["garbage_bytes"] -= 1
            return out

    with pytest.raises(InvariantViolation, match="non-negative"):
        check_stream(GOOD, Miscounting)


def test_chunk_sizes_vary_with_the_data_and_cover_it():
    a, b = p1_check.chunk_sizes(GOOD), p1_check.chunk_sizes(GOOD + b"x")
    assert a != b[: len(a)] and sum(a) >= len(GOOD) and all(1 <= n <= 64 for n in a)
