"""The emulated 34972A relay outlets: state per outlet, listener, power-cycle, channel-list errors."""

import threading
import time

import pytest

from hil.emulators.instruments.pdu import PduDevice, parse_channel_list
from hil.emulators.instruments.scpi import ScpiError
from hil.instruments import InstrumentError, Pdu


class Board:
    """What a PDU outlet powers: records (time, on) for every switch it sees."""

    def __init__(self) -> None:
        self.events: list[tuple[int, bool, float]] = []
        self.changed = threading.Condition()

    def __call__(self, outlet: int, on: bool) -> None:
        with self.changed:
            self.events.append((outlet, on, time.monotonic()))
            self.changed.notify_all()


@pytest.fixture
def board() -> Board:
    return Board()


@pytest.fixture
def pdu(serve, connect, board) -> Pdu:
    device = PduDevice(outlets=8, on_switch=board)
    return connect(Pdu, serve(device), model="Keysight 34972A", outlets=8)


def test_channel_lists() -> None:
    assert parse_channel_list("(@101,103:105)", 1, 8) == [1, 3, 4, 5]
    assert parse_channel_list("(@ 203:201 )", 2, 8) == [3, 2, 1]
    with pytest.raises(ScpiError, match="channel 109: expected 101..108"):
        parse_channel_list("(@101,109)", 1, 8)
    with pytest.raises(ScpiError, match=r"expected a channel list like \(@101,102\), got 101"):
        parse_channel_list("101", 1, 8)
    with pytest.raises(ScpiError, match="expected a channel or a range a:b, got '101:102:103'"):
        parse_channel_list("(@101:102:103)", 1, 8)


def test_outlets_switch_independently_and_notify_the_rig(pdu, board) -> None:
    assert pdu.states() == dict.fromkeys(range(1, 9), False)
    pdu.on(2)
    pdu.on(5)
    pdu.on(5)  # already on: no new event
    assert pdu.is_on(2) and pdu.is_on(5) and not pdu.is_on(1)
    pdu.off(2)
    assert [(o, on) for o, on, _ in board.events] == [(2, True), (5, True), (2, False)]
    assert pdu.states() == {n: n == 5 for n in range(1, 9)}


def test_power_cycle_is_off_then_on_with_the_requested_gap(pdu, board) -> None:
    pdu.on(1)
    pdu.cycle(1, off_s=0.15)
    (_, _, t_on1), (_, off, t_off), (_, on, t_on2) = board.events
    assert (off, on) == (False, True)
    assert t_on2 - t_off >= 0.15
    assert pdu.is_on(1)


def test_bad_outlet_is_refused_and_changes_nothing(pdu, board) -> None:
    with pytest.raises(InstrumentError, match="outlet: expected 1..8, got 9"):
        pdu.on(9)  # the driver refuses before sending
    with pytest.raises(InstrumentError, match="-224 Illegal parameter value; channel 109: expected 101..108"):
        pdu.write("ROUT:CLOS (@101,109)")  # one bad channel: the whole list is refused
    assert board.events == []
    assert not pdu.is_on(1)


def test_reset_cuts_every_outlet(pdu, board) -> None:
    pdu.write("ROUT:CLOS (@101:103)")
    pdu.reset()
    assert pdu.states() == dict.fromkeys(range(1, 9), False)
    assert [on for _, on, _ in board.events] == [True, True, True, False, False, False]
    assert pdu.query("SYST:CTYP? 100") == "Agilent Technologies,34903A,0,1.0"
