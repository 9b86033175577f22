"""The emulated rig's instruments started from rigs/emulated.yaml and driven through pyvisa-py."""

import math
import threading

import pytest

from hil.emulators.instruments.launch import InstrumentWorlds, powerdetector_for, start_emulated
from hil.emulators.instruments.world import AcLine, AcSample
from hil.emulators.powerdetector import LivePowerDetector
from hil.instruments import AcLoad, Dmm, InstrumentError, Pdu, PowerAnalyzer
from hil.rig import load_rig
from hil.rig.instruments import open_instruments


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def bench():
    """The emulated rig with its instruments running and every driver open."""
    rig = load_rig()
    clock = FakeClock()
    contact = LivePowerDetector(powerdetector_for(rig.powerdetectors["pd1"]), clock)
    switched: list[tuple[int, bool]] = []
    lock = threading.Lock()

    def outlet(n: int, on: bool) -> None:
        with lock:
            switched.append((n, on))

    worlds = InstrumentWorlds(
        power={"analyzer": lambda: AcSample(231.0, 8.66, 2000.0)},
        line={"load": lambda: AcLine(231.0)},
        resistance={"dmm": contact.resistance},
        outlets={"pdu": outlet},
    )
    with start_emulated(rig, worlds) as running:
        started = rig.with_resources(running.resources)
        drivers = open_instruments(started)
        try:
            yield started, drivers, contact, clock, switched, running
        finally:
            for driver in drivers.values():
                driver.close()


def test_every_instrument_answers_as_its_rig_model(bench) -> None:
    rig, drivers, *_ = bench
    assert set(drivers) == {"analyzer", "load", "dmm", "pdu"}
    assert isinstance(drivers["analyzer"], PowerAnalyzer)
    assert isinstance(drivers["load"], AcLoad)
    assert isinstance(drivers["dmm"], Dmm)
    assert isinstance(drivers["pdu"], Pdu) and drivers["pdu"].outlets == 8
    ports = {r.split("::")[2] for r in (spec.resource for spec in rig.instruments.values())}
    assert len(ports) == 4


def test_analyzer_and_load_read_their_worlds(bench) -> None:
    _, drivers, *_, running = bench
    assert drivers["analyzer"].measure().watts == pytest.approx(2000.0)
    load = drivers["load"]
    load.set_mode("CP", 500)
    load.input_on()
    assert load.measure().watts == pytest.approx(500.0, rel=1e-4)
    assert running.device("load").draw().amps == pytest.approx(500 / 231, rel=1e-4)  # fed back to the world


def test_dmm_sees_the_powerdetector_follow_plug2(bench) -> None:
    _, drivers, contact, clock, *_ = bench
    dmm = drivers["dmm"]
    assert dmm.resistance() == math.inf
    contact.set_output(True)
    clock.t += 0.015
    assert not dmm.contact_closed()  # 30 ms pick-up
    clock.t += 0.030
    assert dmm.contact_closed()
    contact.set_output(False)
    clock.t += 0.025
    assert dmm.resistance() == math.inf


def test_pdu_power_cycles_a_board_by_its_rig_outlet(bench) -> None:
    rig, drivers, *_, switched, _ = bench
    pdu_spec, outlet = rig.outlet("plug1")
    pdu = drivers[pdu_spec.name]
    pdu.on(outlet)
    pdu.cycle(outlet, off_s=0.05)
    assert switched == [(2, True), (2, False), (2, True)]
    assert pdu.states() == {n: n == 2 for n in range(1, 9)}


def test_two_rigs_run_side_by_side_without_sharing_ports() -> None:
    rig = load_rig()
    with start_emulated(rig) as a, start_emulated(rig) as b:
        assert not set(a.resources.values()) & set(b.resources.values())
        drivers = open_instruments(rig.with_resources(b.resources), ["dmm"])
        assert drivers["dmm"].resistance() == math.inf  # nothing connected
        drivers["dmm"].close()


def test_unstarted_instruments_are_refused_with_a_hint() -> None:
    with pytest.raises(InstrumentError, match="resource is still 'auto'; start the emulated instruments"):
        open_instruments(load_rig(), ["dmm"])
