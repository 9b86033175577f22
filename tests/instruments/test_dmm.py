"""The emulated Keysight 34461A: readings, ranges, overload, error queue, through pyvisa-py."""

import math

import pytest

from hil.emulators.instruments.dmm import DmmConfig, DmmDevice, reading
from hil.instruments import Dmm, InstrumentError


def test_reading_ranges_and_overload() -> None:
    auto = DmmConfig("RES")
    assert reading("RES", 0.05, auto) == pytest.approx(0.05)
    assert reading("RES", math.inf, auto) == 9.9e37
    assert reading("RES", 2e9, auto) == 9.9e37  # above 120 % of the 100 Mohm range
    assert reading("RES", 150.0, DmmConfig("RES", range=100.0)) == 9.9e37
    assert reading("RES", 119.0, DmmConfig("RES", range=100.0)) == pytest.approx(119.0)
    assert reading("VOLT", 3.3, DmmConfig("VOLT", resolution=1e-3)) == pytest.approx(3.3)
    assert reading("VOLT", 3.3004, DmmConfig("VOLT", resolution=1e-3)) == pytest.approx(3.300)


@pytest.fixture
def contact() -> dict[str, float]:
    return {"ohms": math.inf, "volts": 0.0}


@pytest.fixture
def dmm(serve, connect, contact) -> Dmm:
    device = DmmDevice(resistance=lambda: contact["ohms"], volts=lambda: contact["volts"])
    meter = connect(Dmm, serve(device), model="Keysight 34461A")
    meter.reset()
    return meter


def test_contact_resistance_follows_the_world(dmm, contact) -> None:
    assert dmm.resistance() == math.inf
    assert not dmm.contact_closed()
    contact["ohms"] = 0.05
    assert dmm.resistance() == pytest.approx(0.05)
    assert dmm.contact_closed()
    assert dmm.query("MEAS:RES? 100") == "+5.00000000E-02"
    contact["ohms"] = 150.0
    assert dmm.resistance(range_ohm=100) == math.inf  # overload on the 100 ohm range
    assert dmm.resistance() == pytest.approx(150.0)


def test_dc_volts_and_configure_then_read(dmm, contact) -> None:
    contact["volts"] = -3.3
    assert dmm.dc_volts() == pytest.approx(-3.3)
    dmm.write("CONF:VOLT:DC 10")
    assert dmm.query("CONF?") == '"VOLT +1.00000000E+01,+1.00000000E-06"'
    assert float(dmm.query("READ?")) == pytest.approx(-3.3)
    contact["volts"] = 12.5
    assert dmm.query("READ?") == "+9.90000000E+37"  # 12.5 V on the fixed 10 V range
    contact["volts"] = -12.5
    assert dmm.dc_volts(range_v=10) == -math.inf


def test_fetch_without_a_reading_and_bad_ranges_go_to_the_error_queue(dmm) -> None:
    dmm.write("FETC?", check=False)
    assert dmm.errors() == [
        (-230, "Data corrupt or stale; FETCh?: no reading stored; expected INITiate first")
    ]
    with pytest.raises(
        InstrumentError,
        match=r"-222 Data out of range; CONF:RES: "
        r"expected 0 .. 1e\+08 OHM, got 1e9",
    ):
        dmm.write("CONF:RES 1e9")
    assert dmm.query("CONF?").startswith('"VOLT ')  # the refused CONF:RES changed nothing
    dmm.write("CONF:RES")
    dmm.write("INIT")
    assert dmm.query("FETC?") == "+9.90000000E+37"  # open leads
