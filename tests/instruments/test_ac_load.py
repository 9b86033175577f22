"""The emulated Chroma 63804 AC load: the pure model and the SCPI device through pyvisa-py."""

import pytest

from hil.emulators.instruments.ac_load import RATINGS, AcLoadDevice, AcLoadModel
from hil.emulators.instruments.world import AcLine
from hil.instruments import AcLoad, InstrumentError

LINE = AcLine(230.0, 50.0)


@pytest.mark.parametrize(
    ("mode", "setting", "amps"),
    [
        ("CC", {"amps": 5.0}, 5.0),
        ("CR", {"ohms": 52.9}, 230.0 / 52.9),
        ("CP", {"watts": 2000.0}, 2000.0 / 230.0),
    ],
)
def test_model_draws_according_to_its_mode(mode: str, setting: dict[str, float], amps: float) -> None:
    model = AcLoadModel(RATINGS["63804"], mode=mode, on=True, **setting)
    sample = model.draw(LINE)
    assert sample.amps == pytest.approx(amps)
    assert sample.watts == pytest.approx(230.0 * amps)
    assert sample.power_factor == pytest.approx(1.0)


def test_model_draws_nothing_when_off_dead_or_overvolted_and_respects_ratings() -> None:
    model = AcLoadModel(RATINGS["63802"], mode="CC", amps=15.0, on=False)
    assert model.draw(LINE).amps == 0.0
    model.on = True
    assert model.draw(AcLine(0.0)).amps == 0.0  # the plug's relay is open
    assert model.draw(AcLine(400.0)).amps == 0.0  # above the 350 V rating
    assert model.draw(LINE).watts == pytest.approx(1800.0)  # 15 A would be 3450 W > 1800 W rating


@pytest.fixture
def line() -> dict[str, AcLine]:
    return {"line": LINE}


@pytest.fixture
def load_device(line) -> AcLoadDevice:
    return AcLoadDevice(world=lambda: line["line"])


@pytest.fixture
def load(serve, connect, load_device) -> AcLoad:
    chroma = connect(AcLoad, serve(load_device), model="Chroma 63804")
    chroma.reset()
    return chroma


def test_resistive_bank_through_pyvisa_follows_the_line(load, line, load_device) -> None:
    load.set_mode("CR", 52.9)
    assert load.measure().watts == 0.0  # input still off
    load.input_on()
    assert load.is_on()
    reading = load.measure()
    assert reading.volts == pytest.approx(230.0)
    assert reading.watts == pytest.approx(230.0**2 / 52.9, rel=1e-4)
    assert load_device.draw().watts == pytest.approx(reading.watts, rel=1e-4)  # what the rig feeds back
    line["line"] = AcLine(0.0)  # the plug switched off
    assert load.measure().amps == 0.0
    assert load.query("MEAS:POW:PFAC?") == "0.0000"


def test_out_of_range_setpoint_is_refused_and_changes_nothing(load) -> None:
    load.set_mode("CC", 2.0)
    with pytest.raises(
        InstrumentError,
        match=r"'CURRent 50' refused: -222 Data out of range; "
        r"CURRENT: expected 0 .. 45 A",
    ):
        load.set_mode("CC", 50.0)
    assert float(load.query("CURR?")) == 2.0
    with pytest.raises(InstrumentError, match="MODE: expected one of CC, CR, CP, got CV"):
        load.write("MODE CV")
    assert load.mode() == "CC"
    with pytest.raises(InstrumentError, match="mode: expected one of CC, CR, CP, got 'CV'"):
        load.set_mode("CV", 1.0)  # the driver refuses before sending


def test_reset_turns_the_input_off(load) -> None:
    load.set_mode("CP", 500.0)
    load.input_on()
    load.reset()
    assert not load.is_on()
    assert load.mode() == "CC"
    assert load.query("INPut?") == "0"  # the SCPI-standard spelling reaches the same state


def test_apparent_power_and_frequency(load) -> None:
    load.set_mode("CC", 2.0)
    load.input_on()
    assert float(load.query("MEAS:POW:APP?")) == pytest.approx(460.0)
    assert float(load.query("MEAS:FREQ?")) == pytest.approx(50.0)
    assert load.query("MEAS:POW:PFAC?") == "1.0000"
