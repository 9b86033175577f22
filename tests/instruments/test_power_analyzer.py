"""The emulated WT310E through pyvisa-py and the PowerAnalyzer driver."""

import math
import time

import pytest

from hil.emulators.instruments.dmm import DmmDevice
from hil.emulators.instruments.integrator import Integrator
from hil.emulators.instruments.power_analyzer import PowerAnalyzerDevice
from hil.emulators.instruments.scpi import ScpiError
from hil.emulators.instruments.world import AcSample, scaled_clock
from hil.instruments import InstrumentError, PowerAnalyzer

SCALE = 100.0  # the analyzer's clock runs 100x: 1 s of integration takes 10 ms


def wait_for(condition, timeout_s: float = 3.0):
    """Poll ``condition`` until it returns something truthy; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


@pytest.fixture
def plug_output() -> dict[str, AcSample]:
    """The world at the analyzer's input: a mutable sample the test changes."""
    return {"sample": AcSample(230.0, 4.35, 1000.0)}


@pytest.fixture
def analyzer(serve, connect, plug_output) -> PowerAnalyzer:
    device = PowerAnalyzerDevice(world=lambda: plug_output["sample"], clock=scaled_clock(SCALE))
    server = serve(device)
    wt = connect(PowerAnalyzer, server, model="Yokogawa WT310E")
    wt.reset()
    wt.configure(rate_s=0.1)
    return wt


def test_identity_is_checked_against_the_rig_model(serve, connect) -> None:
    wt = connect(PowerAnalyzer, serve(PowerAnalyzerDevice()))
    identity = wt.expect_model("Yokogawa WT310E")
    assert (identity.manufacturer, identity.model, identity.emulated) == ("YOKOGAWA", "WT310E", True)
    with pytest.raises(
        InstrumentError, match="model 'Fluke 1738' is not one of Yokogawa WT310E, Yokogawa WT310"
    ):
        wt.expect_model("Fluke 1738")


def test_a_different_instrument_on_the_address_is_refused(serve) -> None:
    server = serve(DmmDevice())
    with pytest.raises(
        InstrumentError,
        match=r"expected a Yokogawa WT310E \(\*IDN\?"
        r" model WT310E\), got Keysight",
    ):
        PowerAnalyzer.open(server.resource, name="analyzer", model="Yokogawa WT310E")


def test_readings_follow_the_world(analyzer, plug_output) -> None:
    m = analyzer.measure()
    assert (m.volts, m.amps, m.watts) == pytest.approx((230.0, 4.35, 1000.0), rel=1e-4)
    plug_output["sample"] = AcSample(229.0, 0.0, 0.0)  # relay opened
    m = wait_for(lambda: (r := analyzer.measure()).amps == 0 and r)
    assert m.volts == pytest.approx(229.0)
    assert m.watts == 0.0


def test_no_data_items_read_as_nan(analyzer, plug_output) -> None:
    plug_output["sample"] = AcSample(230.0, 0.0, 0.0)
    wait_for(lambda: analyzer.measure().amps == 0)
    assert analyzer.query(":NUMeric:NORMal:ITEM1 LAMBda,1;:NUMeric:NORMal:VALue? 1") == "9.91E+37"


def test_integration_accumulates_energy_over_instrument_time(analyzer) -> None:
    assert analyzer.integration_state() == "reset"
    analyzer.integration_start()
    assert analyzer.integration_state() == "running"
    analyzer.wait_integrated(20, timeout_s=5)
    analyzer.integration_stop()
    m = analyzer.measure()
    assert analyzer.integration_state() == "stopped"
    # 1000 W held for TIME .. TIME+1 s (TIME is whole seconds), plus at most one update at the edges
    assert 1000 * m.seconds / 3600 <= m.wh <= 1000 * (m.seconds + 1 + 0.1 * SCALE) / 3600
    held = analyzer.energy_wh()
    assert held == m.wh  # stopped: the value holds


def test_integration_timer_stops_at_exactly_the_set_time(analyzer) -> None:
    analyzer.integration_timer(30)
    analyzer.integration_start()
    wait_for(lambda: analyzer.integration_state() == "timeup", timeout_s=5)
    m = analyzer.measure()
    assert m.seconds == 30
    assert m.wh == pytest.approx(1000 * 30 / 3600, rel=1e-4)


def test_integrator_misuse_is_refused_with_the_instruments_words(analyzer) -> None:
    analyzer.integration_start()
    with pytest.raises(
        InstrumentError, match="-200 Execution error; INTEGrate:STARt: integration is already running"
    ):
        analyzer.integration_start()
    with pytest.raises(InstrumentError, match="-221 Settings conflict; RATE: cannot change the update rate"):
        analyzer.write(":RATE 1S")
    with pytest.raises(InstrumentError, match="INTEGrate:RESet: integration is running; expected STOP first"):
        analyzer.write(":INTEGrate:RESet")
    analyzer.integration_reset()  # the driver stops first
    assert analyzer.integration_state() == "reset"
    assert analyzer.measure().wh == 0.0


def test_bad_settings_are_refused_and_leave_the_item_list_alone(analyzer) -> None:
    with pytest.raises(InstrumentError, match="ITEM3: expected one of U, I, P"):
        analyzer.write(":NUMeric:NORMal:ITEM3 VOLTS,1")
    with pytest.raises(InstrumentError, match="-114 Header suffix out of range"):
        analyzer.write(":NUMeric:NORMal:ITEM11 U,1")
    with pytest.raises(
        InstrumentError, match="RATE: expected one of 100MS, 250MS, 500MS, 1S, 2S, 5S, got 300MS"
    ):
        analyzer.write(":RATE 300MS")
    assert analyzer.query(":NUMeric:NORMal:ITEM3?") == "P,1"
    assert analyzer.query(":RATE?") == "1.0000E-01"


def test_an_undefined_query_times_out_and_names_the_queued_error(analyzer) -> None:
    analyzer.resource.timeout = 200
    with pytest.raises(
        InstrumentError,
        match=r"query ':MEASure:VOLTS\?': no answer .*-113.*Undefined"
        r" header; :MEASure:VOLTS\?",
    ):
        analyzer.query(":MEASure:VOLTS?")
    assert analyzer.query("*IDN?").startswith("YOKOGAWA")


def test_integrator_is_a_pure_state_machine() -> None:
    integ = Integrator(timer_s=10)
    integ.start(100.0)
    integ.accumulate(104.0, AcSample(230, 2, 460))
    integ.accumulate(106.0, AcSample(230, 2, -460))  # export counts in WH-
    integ.accumulate(120.0, AcSample(230, 2, 460))  # only 4 s left on the timer
    assert integ.state == "TIMeup"
    assert integ.seconds == 10
    assert integ.whp == pytest.approx(460 * 8 / 3600)
    assert integ.whm == pytest.approx(-460 * 2 / 3600)
    assert integ.wh == pytest.approx(460 * 6 / 3600)
    assert integ.ah == pytest.approx(2 * 10 / 3600)
    with pytest.raises(ScpiError):
        integ.start(121.0)
    integ.reset()
    assert (integ.state, integ.wh, integ.timer_s) == ("RESet", 0.0, 10)
    assert math.isclose(integ.seconds, 0.0)


def test_emulator_extras_and_modes_it_does_not_emulate(analyzer) -> None:
    assert float(analyzer.query(":MEASure:VOLTage?")) == pytest.approx(230.0)
    assert float(analyzer.query(":MEAS:CURR?")) == pytest.approx(4.35)
    assert analyzer.query(":MEAS:POW?;ENER?") == "1.0000E+03;0.0000E+00"  # 488.2 path rule
    with pytest.raises(
        InstrumentError, match="-221 Settings conflict; INTEGrate:MODE: only NORMal is emulated"
    ):
        analyzer.write(":INTEGrate:MODE CONTinuous")
    with pytest.raises(InstrumentError, match="COMMunicate:HEADer ON is not emulated; expected OFF"):
        analyzer.write(":COMM:HEAD ON")
    analyzer.write(":COMMunicate:VERBose ON")
    assert analyzer.query(":INTEGrate:STATe?") == "RESET"
    assert analyzer.query(":NUM:ITEM4?") == "WH,1"  # set by the driver
    assert analyzer.query(":NUMeric:NORMal:ITEM6?") == "LAMBDA,1"  # the *RST default, long form
    analyzer.write(":COMMunicate:VERBose OFF")
    assert analyzer.query(":NUMeric:NORMal:ITEM6?") == "LAMB,1"


def test_a_failing_world_holds_the_last_values_and_queues_an_error(analyzer, plug_output) -> None:
    plug_output["sample"] = "not a sample"  # the rig's callback breaks
    errors = wait_for(lambda: analyzer.errors())
    assert errors[0][0] == -300
    assert "update: world: TypeError: world callback: expected an AcSample, got str" in errors[0][1]
    assert analyzer.measure().watts == pytest.approx(1000.0)  # the last good update is held
    plug_output["sample"] = AcSample(230.0, 0.0, 0.0)
    wait_for(lambda: analyzer.measure().watts == 0.0)
