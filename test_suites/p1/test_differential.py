"""Our parser agrees with dsmr-parser (an independent implementation) on every value dsmr-parser produces.

Where the two disagree, KNOWN_DISAGREEMENTS names the case and why ours is right.
"""

from decimal import Decimal
from typing import Any

import pytest
from dsmr_parser.objects import CosemObject, MBusObject, MBusObjectPeak, ProfileGenericObject

from firmware.fixed import Dec
from firmware.p1.stack import P1Stack

from .dsmr_oracle import SPEC_OF, oracle_values, plain, spec
from .telegram_files import telegram_bytes

# (file, reference, field): why dsmr-parser's value is not the right one
KNOWN_DISAGREEMENTS = {
    ("dsmr_parser_02.txt", "0-0:96.13.1", "value"):
        "0-0:96.13.1 is a text message code (hex-coded octets that may start with 0); dsmr-parser's DSMR 2.2"
        " specification reads it as an integer, which would turn '0031' into 31",
    ("dsmr_reader_17.txt", "0-1:24.2.1", "timestamp"):
        "the Landis+Gyr E350 writes its season flag in lower case ('150701190000s'); dsmr-parser accepts only"
        " 'S'/'W' and drops the gas reading's time, we read 's' as summer time, as the meter means",
}


def ours_plain(value: Any) -> Any:
    """Our value in the same terms as plain(dsmr value)."""
    if isinstance(value, Dec):
        return Decimal(value.text())
    return value


def same(ours: Any, theirs: Any) -> bool:
    """Equal, allowing the representational choices that differ without changing the value."""
    ours = ours_plain(ours)
    theirs = plain(theirs)
    if ours == theirs:
        return True
    if isinstance(ours, int) and isinstance(theirs, str) and theirs.isdigit():
        return ours == int(theirs)  # dsmr-parser keeps tariff/counters as text ('0001')
    if isinstance(ours, Decimal) and isinstance(theirs, int):
        return ours == theirs
    if isinstance(ours, str) and isinstance(theirs, Decimal):
        return Decimal(ours) == theirs
    return False


def comparisons(name: str):
    """(reference, field, ours, theirs) for every value dsmr-parser produces for this example."""
    data = telegram_bytes(name)
    stack = P1Stack()
    (t,) = stack.feed(data) + stack.end()
    for ref, value_name, theirs in oracle_values(data.decode("latin-1"), spec(name)):
        ours = t.objects.get(ref)
        assert ours is not None, f"{name}: dsmr-parser read {ref} ({value_name}), we have no such object"
        if isinstance(theirs, list):  # 13 months of peaks
            assert len(theirs) == len(t.history), f"{name} {ref}: history length"
            for i, (peak, entry) in enumerate(zip(theirs, t.history, strict=True)):
                assert isinstance(peak, MBusObjectPeak)
                month_start, peak_at, value, unit = entry
                yield ref, f"history[{i}].month_start", month_start, peak.datetime
                yield ref, f"history[{i}].peak_at", peak_at, peak.occurred
                yield ref, f"history[{i}].value", value, peak.value
                yield ref, f"history[{i}].unit", unit, peak.unit
        elif isinstance(theirs, ProfileGenericObject):
            yield ref, "value", ours.value, theirs.buffer_length
            for i, (event, entry) in enumerate(zip(theirs.buffer, t.events, strict=True)):
                yield ref, f"events[{i}].end", entry[0], event.datetime
                yield ref, f"events[{i}].duration", entry[1], event.value
        elif isinstance(theirs, MBusObject):
            yield ref, "timestamp", ours.ts, theirs.datetime
            yield ref, "value", ours.value, theirs.value
            yield ref, "unit", ours.unit, theirs.unit
        else:
            assert isinstance(theirs, CosemObject)
            if ours.ts is not None and ours.value is None:  # a timestamp object
                yield ref, "timestamp", ours.ts, theirs.value
            else:
                yield ref, "value", ours.value, theirs.value
                if theirs.unit is not None:
                    yield ref, "unit", ours.unit, theirs.unit


@pytest.mark.parametrize("name", sorted(SPEC_OF))
def test_parser_agrees_with_dsmr_parser(name):
    checked = 0
    wrong = []
    for ref, field, ours, theirs in comparisons(name):
        checked += 1
        if (name, ref, field) in KNOWN_DISAGREEMENTS:
            assert not same(ours, theirs), f"{name} {ref} {field}: listed as a disagreement but agrees now"
            continue
        if not same(ours, theirs):
            wrong.append(f"{ref} {field}: ours {ours!r}, dsmr-parser {theirs!r}")
    assert checked > 0
    assert wrong == [], f"{name}: " + "; ".join(wrong)
