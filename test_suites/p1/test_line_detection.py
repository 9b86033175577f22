"""The SmartMeter's 'auto' P1 line format on an emulated rig (issue 11, item 7), in rig time.

A rig of one SmartMeter fed by the P1 emulator over a real pty pair, on the virtual rig clock (the e-MUCS
meter: a `RigRuntime`; the DSMR 2.2 meter: the same parts put together here, because a rig waits for a
plug reading at start and a DSMR 2.2 meter, having no clock, never gives one). The emulator
is the wire too: while the board listens at another speed than the meter sends, it gets what its UART
would decode (garbage), so a wrong switch costs telegrams here as it does on a real line. Noise is the
emulator's fault injection on every telegram (`repeat('noise', pos=1)`: the identification line spoilt,
so no telegram is valid, CRC or not) for longer than the 25 s after which the line format is questioned.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from firmware.p1.line_hunt import PROBE_MS, SWITCH_MS
from hil.emulators.p1.faults import FaultInjector
from hil.emulators.p1.profiles import get_profile
from hil.emulators.p1.source import ConstantLoad, TelegramSource, new_meter
from hil.emulators.p1.writer import P1Writer, line_format
from hil.fixtures.devices import SmartMeterClient
from hil.rig import load_rig_text
from hil.rig.clock.virtual import US, LineTap, VirtualClock
from hil.rig.model import Board
from hil.rig.runtime import DEFAULT_START, RigRuntime
from hil.rig.runtime.actors import Injected, P1Actor, SerialQuiet
from hil.rig.runtime.boards import EmulatedBoard

FAST, SLOW = "115200 8N1", "9600 7E1"

RIG = """\
version: 1
name: p1-line
clock: virtual
quantum_s: 1.0
boards:
  meter: {{role: smartmeter, emulated: true, console: auto, http: auto, mac: "02:00:5e:00:00:0a"}}
p1: {{profile: {profile}, port: auto, board: meter}}
"""


@pytest.fixture
def emucs() -> Iterator[RigRuntime]:
    """A started one-meter rig: a Fluvius e-MUCS 2 meter (115200 8N1, CRC, a telegram a second)."""
    rt = RigRuntime(load_rig_text(RIG.format(profile="emucs2-1p"), source="p1-line.yaml"))
    with rt:
        yield rt


class ClockedMeter:
    """A SmartMeter board and a P1 emulator (with its fault injector) on a virtual clock: a one-meter rig."""

    def __init__(self, folder: Path, profile: str) -> None:
        """Start the clock, the meter (telegram 0 at the clock's start) and the board."""
        prof = get_profile(profile)
        self.clock = VirtualClock(DEFAULT_START, folder / "clock", quantum_s=1.0)
        self.period_s = float(prof.period_s)
        source = TelegramSource(prof, new_meter(prof, DEFAULT_START), ConstantLoad(800, 0, 60),
                                period_s=prof.period_s)
        self.line = FaultInjector(line_format(source), prof.crc, seed=1)
        self.writer = P1Writer(source, None, injector=self.line)
        pair = self.writer.pair
        assert pair is not None
        self.writer.serial.close()
        self.writer.serial = Injected(pair)  # type: ignore[assignment]
        self.clock.add_actor(P1Actor(self.writer, DEFAULT_START * US))
        self.clock.add_quiet("P1 line", SerialQuiet(pair, lambda: self.writer.bytes_sent))
        spec = Board("meter", "smartmeter", True, "auto", "auto", "02:00:5e:00:00:0b")
        tap = LineTap("p1", lambda: pair.moved[0], lambda: pair.discard_unread(1))
        self.board = EmulatedBoard(spec, folder / "meter", p1=self.writer.connect_to, clock=self.clock,
                                   lines=[tap])
        self.board.power_on()
        self.smartmeter = self.board

    def now(self) -> float:
        """Return rig time."""
        return self.clock.now()

    def close(self) -> None:
        """Stop the board, the clock and the meter."""
        self.board.proc.kill()
        self.clock.close()
        self.writer.stop()


@pytest.fixture
def dsmr22(tmp_path: Path) -> Iterator[ClockedMeter]:
    """A DSMR 2.2 meter (9600 7E1, no CRC, a telegram every 10 s) and a SmartMeter in 'auto'."""
    m = ClockedMeter(tmp_path, "dsmr22")
    try:
        yield m
    finally:
        m.close()


def status(rt: Any) -> dict[str, Any]:
    """The SmartMeter's GET /api/status."""
    return SmartMeterClient(rt.smartmeter).status()


def next_telegram(rt: Any, after: int, timeout: float) -> float:
    """Wait (rig time) until the SmartMeter took a telegram beyond `after` accepted; return the rig time."""
    rt.clock.wait_for(lambda: status(rt)["p1"]["accepted"], lambda a: a > after, timeout, 1.0,
                      f"a telegram accepted after {after}")
    return rt.now()


def noise(rt: Any, seconds: float) -> dict[str, Any]:
    """Noise on every telegram for `seconds` of rig time; the status at its end (noise still on)."""
    assert rt.line is not None
    rt.line.repeat("noise", pos=1, n=8)
    try:
        rt.clock.sleep(seconds)
        return status(rt)
    finally:
        rt.line.stop_repeat()


def test_noise_never_moves_a_crc_line_and_its_meter_is_read_at_once_when_back(emucs: RigRuntime) -> None:
    rt = emucs
    next_telegram(rt, 2, 30)
    before = status(rt)
    assert before["line"] == FAST and before["line_good"] == FAST
    during = noise(rt, 2 * SWITCH_MS / 1000)          # 50 s: twice the time after which a line is questioned
    assert during["p1"]["crc_errors"] - before["p1"]["crc_errors"] >= 45
    assert during["line"] == FAST and during["line_switches"] == before["line_switches"]
    assert not during["line_probing"]
    # the meter is back: its next telegram (1 s period) is taken at once, nothing lost to a format hunt
    t0 = rt.now()
    t1 = next_telegram(rt, during["p1"]["accepted"], 10)
    assert t1 - t0 <= 2 * rt.period_s
    assert rt.writer is not None and rt.writer.misread == 0


def test_a_dsmr22_meter_is_found_and_noise_costs_at_most_a_probe(dsmr22: ClockedMeter) -> None:
    rt = dsmr22
    period = rt.period_s                              # 10 s
    # the board starts at 115200 8N1: garbage until 'auto' tries 9600 7E1 (bytes, no telegram for 25 s)
    t_boot = rt.now()
    t_first = next_telegram(rt, 0, SWITCH_MS / 1000 + 3 * period)
    assert t_first - t_boot <= SWITCH_MS / 1000 + period + 2
    found = status(rt)
    assert found["line"] == SLOW and found["line_good"] == SLOW and found["line_switches"] == 1
    assert rt.writer.misread > 0                      # the board really got garbage at 115200

    t_last = next_telegram(rt, found["p1"]["accepted"], 2 * period)
    before = status(rt)
    misread = rt.writer.misread
    # noise over five telegram periods: after 25 s without a telegram 115200 8N1 is probed for 12 s only
    during = noise(rt, 5 * period + 5)
    assert during["line_switches"] - before["line_switches"] == 2     # the probe and back
    assert during["line"] == SLOW and during["line_good"] == SLOW and not during["line_probing"]
    assert rt.writer.misread > misread                # a telegram went out during the probe: garbage
    assert during["p1"]["accepted"] == before["p1"]["accepted"]
    # the meter is back: its next telegram is taken on the known-good format (no second probe meanwhile)
    t_end = rt.now()
    t_back = next_telegram(rt, during["p1"]["accepted"], 2 * period)
    assert t_back - t_end <= period + 2
    assert t_end - t_last >= (SWITCH_MS + PROBE_MS) / 1000   # the probe was over before the meter came back
