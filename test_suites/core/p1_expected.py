"""Expected values of the example telegrams, and the check that compares a decode with them.

Portable (CPython and MicroPython): used by test_p1_conformance.py here (run under both interpreters) and
by test_suites/p1/test_conformance.py. The values are copied from the telegram text by hand (timestamps
converted to UTC by hand: CET = UTC+1, CEST = UTC+2), not read back from the parser.
"""

from firmware.fixed import Dec
from firmware.p1.stack import P1Stack
from firmware.timebase import iso_utc

_HERE = __file__.rsplit('/', 1)[0] if '/' in __file__ else '.'


def _telegram_dir():
    """The example telegrams: where the MicroPython runner put them, else $BCHAIN_TELEGRAMS, else the
    repository's own copy (test_suites/data/telegrams, see SOURCES.md there; hil/testdata.py on the host)."""
    try:
        from mpy_paths import TELEGRAMS as where  # written by mpy/run.mjs when it mirrors a telegram folder
        return where
    except ImportError:
        pass
    try:
        import os
        where = os.getenv('BCHAIN_TELEGRAMS')
        if where:
            return where
    except (ImportError, AttributeError):
        pass
    return _HERE + '/../data/telegrams'


TELEGRAMS = _telegram_dir()


def telegram_bytes(name):
    """The exact bytes of one example telegram or stream file (see _telegram_dir)."""
    with open(TELEGRAMS + '/' + name, 'rb') as f:
        return f.read()


def decode(name, chunk=None):
    """(stack, telegrams) after feeding the file, whole or in chunks of `chunk` bytes."""
    stack = P1Stack(keep_rejected=True)
    data = telegram_bytes(name)
    out = []
    step = chunk or len(data) or 1
    for i in range(0, len(data), step):
        out += stack.feed(data[i:i + step])
    out += stack.end()
    return stack, out


def shown(t, ref):
    """(value as text or int, unit) of one object."""
    o = t.objects[ref]
    return (o.value.text() if isinstance(o.value, Dec) else o.value), o.unit


def check(name, chunk=None):
    """Problems found decoding `name` against EXPECTED (an empty list when it decodes as written)."""
    crc, header, count, values, clock = EXPECTED[name]
    stack, telegrams = decode(name, chunk)
    if len(telegrams) != 1:
        return ['%s: expected one telegram, got %d; %r' % (name, len(telegrams), stack.counters)]
    t = telegrams[0]
    problems = []
    if t.errors:
        problems.append('%s: lines rejected: %r' % (name, t.errors))
    if stack.counters['crc_errors']:
        problems.append('%s: crc errors %r' % (name, stack.counters))
    if t.crc != crc:
        problems.append('%s: crc %r, expected %r' % (name, t.crc, crc))
    if t.header != header:
        problems.append('%s: header %r, expected %r' % (name, t.header, header))
    if len(t.objects) != count:
        problems.append('%s: %d objects, expected %d' % (name, len(t.objects), count))
    for ref in values:
        if ref not in t.objects:
            problems.append('%s %s: missing' % (name, ref))
        elif shown(t, ref) != values[ref]:
            problems.append('%s %s: %r, expected %r' % (name, ref, shown(t, ref), values[ref]))
    got = t.objects.get('0-0:1.0.0')
    got = None if got is None or got.ts is None else iso_utc(got.ts)
    if got != clock:
        problems.append('%s clock: %r, expected %r' % (name, got, clock))
    return problems


# file: (crc, header, number of objects, {ref: (value text, unit)}, telegram clock in UTC)
EXPECTED = {
    "dsmr_parser_01.txt": ("absent", "ISk5\\2MT382-1004", 16,
                           {"1-0:1.8.1": ("1.001", "kWh"), "1-0:2.8.2": ("1.001", "kWh"),
                            "1-0:1.7.0": ("1.01", "kW"), "0-0:96.14.0": (1, None),
                            "0-0:17.0.0": ("999.00", "kW"), "0-1:24.3.0": ("1.001", "m3")}, None),
    "dsmr_parser_02.txt": ("absent", "ISk5\\2MT382-1000", 16,
                           {"1-0:1.8.1": ("12345.678", "kWh"), "1-0:1.7.0": ("1.19", "kW"),
                            "0-0:96.14.0": (2, None), "0-0:17.0.0": ("16", "A")}, None),
    "dsmr_parser_03.txt": ("ok", "KFM5KAIFA-METER", 33,
                           {"1-3:0.2.8": ("42", None), "1-0:1.8.1": ("1581.123", "kWh"),
                            "1-0:1.8.2": ("1435.706", "kWh"), "1-0:1.7.0": ("2.027", "kW"),
                            "1-0:31.7.0": ("0", "A"), "0-1:24.2.1": ("981.443", "m3")},
                           "2016-11-13T19:57:57Z"),
    "dsmr_parser_04.txt": ("ok", "ISk5\\2MT382-1000", 37,
                           {"1-0:1.8.1": ("4.426", "kWh"), "1-0:1.8.2": ("2.399", "kWh"),
                            "1-0:2.8.1": ("2.444", "kWh"), "1-0:1.7.0": ("0.244", "kW"),
                            "1-0:32.7.0": ("230.0", "V"), "1-0:31.7.0": ("0.48", "A"),
                            "0-1:24.2.1": ("0.107", "m3")}, "2017-01-02T18:20:02Z"),
    "dsmr_parser_05.txt": ("ok", "ISK5\\2M550T-1012", 38,
                           {"1-0:1.8.1": ("2130.115", "kWh"), "1-0:1.8.2": ("245.467", "kWh"),
                            "1-0:32.7.0": ("229.9", "V"), "0-0:96.7.21": (5, None), "0-0:96.7.9": (3, None),
                            "1-0:72.32.0": (192, None), "0-2:24.2.1": ("246.138", "m3"),
                            "0-1:24.2.1": ("0", None), "0-1:24.1.0": (3, None)},
                           "2020-04-26T20:33:25Z"),
    "dsmr_parser_06.txt": ("ok", "NWA-WARMTELINK", 8,
                           {"0-1:24.2.1": ("240.860", "GJ")}, "2026-02-15T19:05:23Z"),
    "dsmr_parser_07.txt": ("ok", "FLU5\\253769484_A", 36,
                           {"0-0:96.1.4": ("50217", None), "1-0:1.8.1": ("0.034", "kWh"),
                            "1-0:1.8.2": ("15.758", "kWh"), "1-0:2.8.2": ("0.011", "kWh"),
                            "1-0:1.4.0": ("2.351", "kW"), "1-0:1.6.0": ("2.589", "kW"),
                            "0-0:98.1.0": (3, None), "1-0:32.7.0": ("234.7", "V"),
                            "1-0:31.7.0": ("0.00", "A"), "0-0:96.3.10": (1, None),
                            "0-0:17.0.0": ("999.9", "kW"), "1-0:31.4.0": ("999", "A"),
                            "0-1:24.2.3": ("112.384", "m3"), "0-2:24.2.1": ("872.234", "m3"),
                            "0-1:24.1.0": (3, None), "0-2:24.1.0": (7, None)},
                           "2020-05-12T11:54:09Z"),
    "dsmr_parser_08.txt": ("ok", "FLU5\\253769484_A", 36,
                           {"1-0:1.8.1": ("301.548", "kWh"), "1-0:1.6.0": ("3.064", "kW"),
                            "1-0:31.7.0": ("0.27", "A"), "0-1:24.2.3": ("92.287", "m3")},
                           "2023-11-02T11:15:48Z"),
    "dsmr_parser_09.txt": ("absent", "ESY5Q3DB1024 V3.04", 9,
                           {"1-0:1.8.0*255": ("52185.7825309", "kWh"), "1-0:1.7.0*255": ("2124.86", "W"),
                            "0-0:96.1.255*255": ("1ESY1313002565", None)}, None),
    "dsmr_parser_10.txt": ("absent", "ESY5Q3DA1004 V3.04", 8,
                           {"1-0:1.8.0*255": ("32549.5061662", "kWh"), "1-0:21.7.0*255": ("557.29", "W")},
                           None),
    "dsmr_parser_11.txt": ("ok", "EST5\\253710000_A", 18,
                           {"1-0:1.8.1": ("5017120", "Wh"), "1-0:1.8.2": ("1528646", "Wh"),
                            "1-0:2.8.2": ("58", "Wh"), "1-0:1.7.0": ("286", "W")},
                           "2022-10-06T13:50:14Z"),
    "dsmr_parser_12.txt": ("ok", "ISk5\x02MIE5T-200", 25,
                           {"1-0:1.8.1": ("10.181", "kWh"), "1-0:2.7.0": ("0.270", "kW"),
                            "1-0:32.7.0": ("242.5", "V")}, "2023-02-02T12:27:47Z"),
    "dsmr_parser_13.txt": ("ok", "SAG5SAG-METER", 45,
                           {"1-0:1.8.1": ("47.719", "kWh"), "1-0:2.8.1": ("401.829", "kWh"),
                            "1-0:2.7.0": ("2.601", "kW"), "1-0:31.7.0": ("3", "A")},
                           "2023-07-24T13:07:30Z"),
    "dsmr_reader_01.txt": ("ok", "KFM5KAIFA-METER", 20,
                           {"1-0:1.8.1": ("1073.079", "kWh"), "1-0:1.8.2": ("1263.199", "kWh"),
                            "1-0:1.7.0": ("0.143", "kW")}, "2016-03-03T15:43:47Z"),
    "dsmr_reader_03.txt": ("ok", "ISK5\\2M550T-1011", 35,
                           {"1-0:1.8.1": ("9012.345", "kWh"), "1-0:2.8.2": ("9789.012", "kWh"),
                            "0-0:96.1.1": ("xxx", None), "0-1:24.2.1": ("123.456", "m3")},
                           "2017-01-10T19:40:57Z"),
    "dsmr_reader_04.txt": ("ok", "XMX5LGBBFFB123456789", 36,
                           {"1-0:1.8.1": ("510.747", "kWh"), "1-0:2.8.2": ("123.456", "kWh"),
                            "0-1:24.2.1": ("845.206", "m3")}, "2017-01-02T11:00:00Z"),
    "dsmr_reader_05.txt": ("ok", "ISk5\x02MT382-1000", 35,
                           {"1-0:1.8.1": ("123456.789", "kWh"), "1-0:1.7.0": ("1.193", "kW"),
                            "0-1:24.2.1": ("12785.123", "m3")}, "2010-12-09T10:30:20Z"),
    "dsmr_reader_06.txt": ("ok", "FLU5S456789_A", 20,
                           {"1-0:1.8.2": ("2549.919", "kWh"), "1-0:2.8.1": ("1968.710", "kWh"),
                            "1-0:2.7.0": ("0.611", "kW"), "0-1:24.2.3": ("1414.287", "m3")},
                           "2020-08-07T06:27:11Z"),
    "dsmr_reader_07.txt": ("ok", "FLU5\u00ab769484_A", 37,
                           {"1-0:1.6.0": ("11.173", "kW"), "1-0:31.7.0": ("2.18", "A"),
                            "0-1:24.2.3": ("734.607", "m3"), "0-2:24.2.3": ("0.000", "m3")},
                           "2023-01-19T11:46:38Z"),
    "dsmr_reader_08.txt": ("ok", "FLU5S456789_A", 24,
                           {"1-0:1.8.1": ("260.129", "kWh"), "0-1:24.2.3": ("29.553", "m3")},
                           "2019-08-21T19:00:25Z"),
    "dsmr_reader_09.txt": ("ok", "FLU5\u00ab769484_A", 29,
                           {"1-0:1.6.0": ("1.566", "kW"), "1-0:31.7.0": ("1.60", "A")},
                           "2023-02-01T14:50:56Z"),
    "dsmr_reader_10.txt": ("ok", "FLU5\u00ab769484_A", 24,
                           {"1-0:1.8.1": ("172.987", "kWh"), "0-1:24.2.3": ("0.000", None)},
                           "2020-03-05T21:29:45Z"),
    "dsmr_reader_11.txt": ("ok", "XMX5LGBBFFB123456789", 36,
                           {"1-0:1.7.0": ("0.999", "kW"), "1-0:2.7.0": ("1.332", "kW")},
                           "2015-11-10T18:29:59Z"),
    "dsmr_reader_12.txt": ("ok", "XMX5LGBBFFB123456789", 36, {"1-0:1.7.0": ("0.192", "kW")},
                           "2015-11-10T18:29:59Z"),
    "dsmr_reader_13.txt": ("ok", "XMX5LGBBFFB123456789", 24, {"1-0:1.8.2": ("500.013", "kWh")},
                           "2015-11-10T18:29:59Z"),
    "dsmr_reader_15.txt": ("ok", "ISK5\x02M550E-1012", 26,
                           {"1-0:1.8.1": ("1043.936", "kWh"), "0-2:24.2.1": ("241.773", "m3")},
                           "2019-11-08T13:55:19Z"),
    "dsmr_reader_16.txt": ("ok", "KFM5KAIFA-METER", 20, {"1-0:1.8.2": ("1263.199", "kWh")},
                           "2016-03-03T15:43:47Z"),
    "dsmr_reader_17.txt": ("ok", "XMX5LGBBFFB123456789", 36,
                           {"0-1:24.2.1": ("845.206", "m3")}, "2015-07-01T17:29:59Z"),
    "dsmr_reader_18.txt": ("ok", "XMX5LGBBFFB123456789", 33,
                           {"1-0:1.8.2": ("714.405", "kWh"), "1-0:31.7.0": ("111", "A"),
                            "0-1:24.2.1": ("1197.484", "m3")}, "2016-02-10T19:30:34Z"),
    "dsmr_reader_19.txt": ("ok", "XMX5LGBBFFB231126481", 23,
                           {"1-0:1.8.1": ("1255.252", "kWh"), "0-2:24.2.1": ("1438.997", "m3")},
                           "2016-03-17T21:10:58Z"),
    "dsmr_reader_20.txt": ("ok", "Lux5\\ABCDEFG123_D", 18,
                           {"1-0:1.7.0": ("3.074", "kW"), "0-0:17.0.0": ("27.600", "kVA")},
                           "2019-10-31T13:22:39Z"),
    "dsmr_reader_21.txt": ("ok", "KAM5", 27,
                           {"1-0:32.7.0": ("238.0", "V"), "1-0:31.7.0": ("0.0", "A")},
                           "2021-11-15T09:09:40Z"),
}

BAD_CRC = {"dsmr_reader_02.txt": ("ABCD", "4BC6"), "dsmr_reader_14.txt": ("0000", "58C8")}


