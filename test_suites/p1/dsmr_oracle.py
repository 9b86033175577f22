"""dsmr-parser (PyPI) as an independent oracle: every value it produces, keyed by the telegram's reference."""

import re
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from dsmr_parser import telegram_specifications as specs

# the specification dsmr-parser 1.11.2 parses each example with (test_suites/data/telegrams/SOURCES.md)
SPEC_OF = {
    "dsmr_parser_01.txt": "V2_2", "dsmr_parser_02.txt": "V2_2", "dsmr_parser_03.txt": "V4",
    "dsmr_parser_04.txt": "V5", "dsmr_parser_05.txt": "V5", "dsmr_parser_06.txt": "V5",
    "dsmr_parser_07.txt": "BELGIUM_FLUVIUS", "dsmr_parser_08.txt": "BELGIUM_FLUVIUS",
    "dsmr_parser_09.txt": "Q3D", "dsmr_parser_10.txt": "Q3D", "dsmr_parser_11.txt": "V5",
    "dsmr_parser_12.txt": "ISKRA_IE", "dsmr_parser_13.txt": "EON_HUNGARY",
    "dsmr_reader_01.txt": "V4", "dsmr_reader_03.txt": "V5", "dsmr_reader_04.txt": "V4",
    "dsmr_reader_05.txt": "V5", "dsmr_reader_06.txt": "BELGIUM_FLUVIUS",
    "dsmr_reader_07.txt": "BELGIUM_FLUVIUS", "dsmr_reader_08.txt": "BELGIUM_FLUVIUS",
    "dsmr_reader_09.txt": "BELGIUM_FLUVIUS", "dsmr_reader_10.txt": "BELGIUM_FLUVIUS",
    "dsmr_reader_11.txt": "V4", "dsmr_reader_12.txt": "V4", "dsmr_reader_13.txt": "V4",
    "dsmr_reader_15.txt": "V5", "dsmr_reader_16.txt": "V4", "dsmr_reader_17.txt": "V4",
    "dsmr_reader_18.txt": "V4", "dsmr_reader_19.txt": "V4", "dsmr_reader_20.txt": "LUXEMBOURG_SMARTY",
    "dsmr_reader_21.txt": "SWEDEN",
}


def spec(name: str) -> dict:
    """The dsmr-parser telegram specification for an example file."""
    return getattr(specs, SPEC_OF[name])


def oracle_values(text: str, specification: dict) -> Iterator[tuple[str, str, Any]]:
    """(reference as written, dsmr-parser value name, parsed dsmr-parser object) for every line it parses.

    Lines are matched with dsmr-parser's own signatures and parsed with its own value parsers, exactly as
    TelegramParser.parse does, so each value can be tied to the line (and reference) it came from.
    """
    for obj in specification["objects"]:
        pattern = re.compile(obj["obis_reference"], re.DOTALL | re.MULTILINE)
        for match in pattern.findall(text):
            ref = match[: match.index("(")]
            yield ref, obj["value_name"], obj["value_parser"].parse(match)


def plain(value: Any) -> Any:
    """A dsmr-parser value as int/str/Decimal/epoch seconds, for comparing with ours."""
    if isinstance(value, datetime):
        return int(value.timestamp())
    if isinstance(value, Decimal | int | str) or value is None:
        return value
    raise TypeError(f"unexpected dsmr-parser value {value!r}")
