"""The SCPI interpreter on its own: headers, paths, parameters, error queue, status register."""

import pytest

from hil.emulators.instruments import scpi
from hil.emulators.instruments.scpi import Call, ScpiDevice, ScpiError, parse_number


def device() -> ScpiDevice:
    dev = ScpiDevice("ACME,MODEL1,EMULATED,1.0", error_queue_size=5)
    dev.value = 0.0
    dev.add(
        "SOURce:VOLTage[:LEVel]", lambda c: setattr(dev, "value", (c.count(1), c.number(0, 0, 10, "V"))[1])
    )
    dev.add("SOURce:VOLTage[:LEVel]?", lambda c: f"{dev.value:g}")
    dev.add("MEASure:CURRent?", lambda c: "1.5")
    dev.add("OUTPut<n>:STATe?", lambda c: str(c.suffix(0, 1, 4)))
    dev.add("BROKen", lambda c: 1 / 0)
    return dev


def errors(dev: ScpiDevice) -> list[str]:
    found = []
    while (e := dev.next_error()) != '0,"No error"':
        found.append(e)
    return found


def test_long_short_and_case_forms_reach_the_same_command() -> None:
    dev = device()
    for header in ("SOURce:VOLTage:LEVel", "SOUR:VOLT", "sour:volt:lev", ":SOURCE:VOLTAGE"):
        dev.execute(f"{header} 2.5")
        assert dev.execute("SOUR:VOLT?") == ["2.5"]
        dev.execute("SOUR:VOLT 0")
    assert errors(dev) == []


def test_a_partial_mnemonic_is_not_a_short_form() -> None:
    dev = device()
    assert dev.execute("SOU:VOLT?") == []
    assert errors(dev) == ['-113,"Undefined header; SOU:VOLT?"']


def test_numeric_suffix_defaults_to_1_and_is_range_checked() -> None:
    dev = device()
    assert dev.execute("OUTP:STAT?;:OUTP3:STAT?") == ["1", "3"]
    assert dev.execute("OUTP:STAT?") == ["1"]
    assert dev.execute("OUTP3:STAT?") == ["3"]
    assert dev.execute("OUTP7:STAT?") == []
    assert errors(dev) == ['-114,"Header suffix out of range; OUTP7:STAT?: expected 1..4, got 7"']


def test_compound_message_uses_the_previous_header_path() -> None:
    dev = device()
    assert dev.execute("SOUR:VOLT 3;VOLT?;:MEAS:CURR?;*IDN?") == ["3", "1.5", "ACME,MODEL1,EMULATED,1.0"]
    assert errors(dev) == []


def test_units_and_keywords_in_numeric_parameters() -> None:
    dev = device()
    dev.execute("SOUR:VOLT 1500MV")
    assert dev.value == pytest.approx(1.5)
    dev.execute("SOUR:VOLT MAX")
    assert dev.value == 10
    assert parse_number("250MS", "S", "x") == pytest.approx(0.25)
    assert parse_number("1.5KOHM", "OHM", "x") == pytest.approx(1500)
    assert parse_number("2MOHM", "OHM", "x") == pytest.approx(2e6)
    with pytest.raises(ScpiError) as err:
        parse_number("3A", "V", "SOUR:VOLT")
    assert err.value.code == scpi.INVALID_SUFFIX


@pytest.mark.parametrize(
    ("line", "entry"),
    [
        ("SOUR:VOLT 11", '-222,"Data out of range; SOUR:VOLT: expected 0 .. 10 V, got 11"'),
        ("SOUR:VOLT", '-109,"Missing parameter; SOUR:VOLT: expected 1 parameter(s), got 0"'),
        ("SOUR:VOLT 1,2", '-108,"Parameter not allowed; SOUR:VOLT: expected at most 1 parameter(s), got 2"'),
        ("SOUR:VOLT abc", '-104,"Data type error; SOUR:VOLT parameter 1: expected a number, got ABC"'),
        ("SOUR:VOLT 'x", "-102,\"Syntax error; unterminated string in 'SOUR:VOLT 'x'\""),
        ("SOUR:VOLT,1", "-102,\"Syntax error; expected a space after the header, got 'SOUR:VOLT,1'\""),
        ("123", "-102,\"Syntax error; expected a command header, got '123'\""),
        ("FOO?", '-113,"Undefined header; FOO?"'),
        ("SOUR:VOLT 1\x07", "-101,\"Invalid character; byte 0x07 in 'SOUR:VOLT 1\\x07'\""),
        ("BROK", '-300,"Device-specific error; BROK: ZeroDivisionError: division by zero"'),
    ],
)
def test_each_mistake_lands_in_the_error_queue_and_changes_nothing(line: str, entry: str) -> None:
    dev = device()
    dev.execute("SOUR:VOLT 4")
    assert dev.execute(line) == []
    assert errors(dev) == [entry]
    assert dev.execute("SOUR:VOLT?") == ["4"]


def test_command_error_abandons_the_rest_of_the_message_execution_error_does_not() -> None:
    dev = device()
    assert dev.execute("NOPE;SOUR:VOLT 5;SOUR:VOLT?") == []
    assert dev.value == 0
    assert dev.execute("SOUR:VOLT 50;VOLT 5;VOLT?") == ["5"]
    assert [e.split(",")[0] for e in errors(dev)] == ["-113", "-222"]
    assert dev.execute("SOUR:VOLT 6;SOUR:VOLT?") == []  # relative to SOUR: SOUR:SOUR:VOLT? is undefined
    assert errors(dev) == ['-113,"Undefined header; SOUR:VOLT?"']


def test_queue_overflow_replaces_the_last_entry_and_cls_clears() -> None:
    dev = device()
    for _ in range(8):
        dev.execute("NOPE")
    queued = list(dev.errors)
    assert len(queued) == 5
    assert queued[-1] == '-350,"Queue overflow"'
    assert dev.execute("SYST:ERR:COUN?") == ["5"]
    dev.execute("*CLS")
    assert dev.execute("SYST:ERR?") == ['0,"No error"']


def test_event_status_register_records_error_classes_and_clears_on_read() -> None:
    dev = device()
    dev.execute("NOPE")  # command error: CME (32)
    dev.execute("SOUR:VOLT 99")  # execution error: EXE (16)
    dev.execute("BROK")  # device-specific: DDE (8)
    assert dev.execute("*ESR?") == ["56"]
    assert dev.execute("*ESR?") == ["0"]


def test_call_helpers_explain_what_was_expected() -> None:
    call = Call("MODE", ("fast",), ())
    with pytest.raises(ScpiError) as err:
        call.choice(0, ("NORMal", "CONTinuous"))
    assert err.value.detail == "MODE: expected one of NORMal, CONTinuous, got fast"
    assert Call("MODE", ("cont",), ()).choice(0, ("NORMal", "CONTinuous")) == "CONTinuous"
    assert Call("X", ("ON",), ()).boolean(0) is True
    with pytest.raises(ScpiError):
        Call("X", ("2",), ()).boolean(0)
