"""Every example telegram decodes to the values it holds, whole and in small chunks.

The expected values (test_suites/core/p1_expected.py) are copied from the telegram text by hand, not read
back from the parser. The same checks, and the detailed ones in test_suites/core/test_p1_conformance.py,
also run under MicroPython (test_suites/toolchain/test_micropython.py).
"""

import pytest

from test_suites.core.p1_expected import BAD_CRC, EXPECTED, check, decode

from .telegram_files import all_telegram_names


def test_every_example_file_is_covered():
    assert set(all_telegram_names()) == set(EXPECTED) | set(BAD_CRC)


@pytest.mark.parametrize("chunk", [None, 1, 7, 64])
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_telegram_decodes_to_its_values(name, chunk):
    assert check(name, chunk) == []


@pytest.mark.parametrize("name", sorted(BAD_CRC))
def test_bad_crc_telegram_yields_nothing_and_is_counted(name):
    given, computed = BAD_CRC[name]
    stack, telegrams = decode(name)
    assert telegrams == []
    assert stack.counters["crc_errors"] == 1 and stack.counters["accepted"] == 0
    ((_raw, reason),) = stack.reader.rejected
    assert reason == f"CRC mismatch: telegram says {given}, computed {computed}"
