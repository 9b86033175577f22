"""Every example telegram decodes to the values it holds.

The expected values below are copied from the telegram text by hand (timestamps converted to UTC by
hand: CET = UTC+1, CEST = UTC+2), not read back from the parser.
"""

import pytest

from firmware.fixed import Dec
from firmware.p1.readings import meter_reading
from firmware.p1.stack import P1Stack
from firmware.timebase import iso_utc

from .telegram_files import all_telegram_names, telegram_bytes


def decode(name: str):
    stack = P1Stack(keep_rejected=True)
    data = telegram_bytes(name)
    telegrams = stack.feed(data) + stack.end()
    return stack, telegrams


def one(name: str):
    stack, telegrams = decode(name)
    assert len(telegrams) == 1, f"{name}: expected one telegram, got {len(telegrams)}; {stack.counters}"
    return stack, telegrams[0]


def num(t, ref):
    o = t.objects[ref]
    return (o.value.text() if isinstance(o.value, Dec) else o.value), o.unit


def ts(t, ref):
    o = t.objects[ref]
    return None if o.ts is None else iso_utc(o.ts)


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


def test_every_example_file_is_covered():
    assert set(all_telegram_names()) == set(EXPECTED) | set(BAD_CRC)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_telegram_decodes_to_its_values(name):
    crc, header, count, values, clock = EXPECTED[name]
    stack, t = one(name)
    assert t.errors == [], f"{name}: lines rejected: {t.errors}"
    assert stack.counters["crc_errors"] == 0
    assert t.crc == crc
    assert t.header == header
    assert len(t.objects) == count, sorted(t.objects)
    for ref, expected in values.items():
        assert num(t, ref) == expected, f"{name} {ref}"
    if clock is None:
        assert "0-0:1.0.0" not in t.objects
    else:
        assert ts(t, "0-0:1.0.0") == clock


@pytest.mark.parametrize("name", sorted(BAD_CRC))
def test_bad_crc_telegram_yields_nothing_and_is_counted(name):
    given, computed = BAD_CRC[name]
    stack, telegrams = decode(name)
    assert telegrams == []
    assert stack.counters["crc_errors"] == 1 and stack.counters["accepted"] == 0
    (raw, reason), = stack.reader.rejected
    assert reason == f"CRC mismatch: telegram says {given}, computed {computed}"


def test_fluvius_capacity_objects_and_history():
    _, t = one("dsmr_parser_07.txt")
    assert ts(t, "1-0:1.6.0") == "2020-05-09T11:45:58Z"
    hist = [(iso_utc(a), iso_utc(b), v.text(), u) for a, b, v, u in t.history]
    assert hist == [
        ("2020-04-30T22:00:00Z", "2020-04-23T17:25:38Z", "3.695", "kW"),
        ("2020-03-31T22:00:00Z", "2020-03-05T11:21:39Z", "5.980", "kW"),  # meter says S; March 5 is CET
        ("2020-02-29T23:00:00Z", "2020-02-10T02:54:21Z", "4.318", "kW"),
    ]
    assert ts(t, "0-1:24.2.3") == "2020-05-12T11:45:58Z"


def test_mbus_devices_are_grouped_per_channel_and_kept_apart_from_the_meter():
    _, t = one("dsmr_parser_07.txt")
    devices = t.mbus()
    assert sorted(devices) == [1, 2]
    assert devices[1]["0-1:24.1.0"].value == 3
    assert devices[1]["0-1:96.1.1"].value == "37464C4F32313139303333373333"
    assert devices[2]["0-2:24.2.1"].value == Dec(872234, 3)
    assert devices[2]["0-2:24.1.0"].value == 7
    # the meter's own breaker state 0-0:96.3.10 is not an M-Bus object
    assert all("0-0:96.3.10" not in objs for objs in devices.values())
    assert t.objects["0-0:96.3.10"].value == 1


def test_placeholder_timestamp_gives_no_instant():
    _, t = one("dsmr_parser_08.txt")
    _, t10 = one("dsmr_reader_10.txt")
    assert t10.objects["0-1:24.2.3"].ts is None
    assert t.history  # the history in this telegram carries a placeholder: present, no instant
    assert any(a is None or b is None for a, b, _, _ in t.history)


def test_dsmr22_gas_value_on_the_following_line():
    _, t = one("dsmr_parser_01.txt")
    gas = t.objects["0-1:24.3.0"]
    assert gas.value == Dec(1001, 3) and gas.unit == "m3"
    assert iso_utc(gas.ts) == "2016-11-07T18:00:00Z"  # no S/W: the EU rule says winter time


def test_power_failure_log():
    _, t = one("dsmr_parser_05.txt")
    assert t.objects["1-0:99.97.0"].value == 1
    assert [(iso_utc(a), d.text()) for a, d in t.events] == [("2019-03-26T08:50:15Z", "2014")]


def test_lower_case_season_suffix_is_accepted():
    _, t = one("dsmr_reader_17.txt")
    assert ts(t, "0-1:24.2.1") == "2015-07-01T17:00:00Z"


def test_meter_reading_for_the_plugs_in_wh():
    _, t = one("dsmr_parser_07.txt")
    clock, imp, exp = meter_reading(t)
    assert iso_utc(clock) == "2020-05-12T11:54:09Z"
    assert (imp, exp) == (34 + 15758, 11)
    _, t11 = one("dsmr_parser_11.txt")
    assert meter_reading(t11)[1:] == (5017120 + 1528646, 58)


def test_garbage_after_the_end_mark_is_skipped_and_counted():
    stack, t = one("dsmr_parser_09.txt")
    assert stack.counters["garbage_bytes"] > 0 and stack.counters["accepted"] == 1


def test_interrupted_stream_yields_exactly_the_complete_telegram():
    stack, telegrams = decode("streams/dsmr_reader_interrupted_then_complete.txt")
    assert [t.objects["0-0:1.0.0"].ts for t in telegrams] == [1484077257]  # 2017-01-10T19:40:57Z
    assert stack.counters["truncated"] == 1 and stack.counters["accepted"] == 1
    assert stack.counters["crc_errors"] == 0


def test_stream_starting_mid_telegram_yields_exactly_the_complete_telegram():
    stack, telegrams = decode("streams/dsmr_reader_partial_then_complete.txt")
    assert len(telegrams) == 1 and telegrams[0].header == "KFM5KAIFA-METER"
    assert telegrams[0].crc == "ok"
    assert stack.counters["garbage_bytes"] > 0 and stack.counters["accepted"] == 1
