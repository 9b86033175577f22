"""Hostile values under a valid CRC: the SmartMeter serves none of them, keeps the last good reading and
counts what it refused (GET /api/status `refused`). Each case is its own test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import serial
from smartplug_rig import wait_for
from telegrams import START, Values, telegram

from firmware.apps.common.plausible import RESYNC_N
from hil.board_process import BoardProcess
from hil.serial_lines import PtyPair

GOOD_IMPORT_T1 = 4_592_767


def status(meter: BoardProcess) -> dict[str, Any]:
    """GET /api/status."""
    code, d = meter.get_json("/api/status")
    assert code == 200, d
    return d


@pytest.fixture
def line(meter: BoardProcess, p1_line: PtyPair) -> Iterator[serial.Serial]:
    """The meter's side of the P1 line, after three good telegrams were taken."""
    ser = p1_line.open(0, baudrate=115200)
    try:
        for i in range(3):
            ser.write(telegram(Values(ts=START + i, import_wh=(GOOD_IMPORT_T1 + i, 6_664_174))))
        wait_for(lambda: status(meter)["telegrams"], lambda n: n >= 3, 10, "three good telegrams", meter)
        yield ser
    finally:
        ser.close()


def refusals(d: dict[str, Any]) -> int:
    """Telegrams the SmartMeter did not take although their CRC was right (refused or unparsable)."""
    return d["refused"]["telegrams"] + d["p1"]["parse_errors"]


HOSTILE = {
    "negative register": Values(ts=START + 3, import_wh=(-1000, 6_664_174)),
    "negative voltage": Values(ts=START + 3, import_wh=(GOOD_IMPORT_T1 + 3, 6_664_174), voltage="-230.0"),
    "99,999 A": Values(ts=START + 3, import_wh=(GOOD_IMPORT_T1 + 3, 6_664_174), current="99999"),
    "29-digit register": Values(ts=START + 3, register_text="1" * 25 + ".000"),
    "register ran backwards": Values(ts=START + 3, import_wh=(GOOD_IMPORT_T1 - 500, 6_664_174)),
    "register jumps 100 kWh in a second": Values(ts=START + 3,
                                                 import_wh=(GOOD_IMPORT_T1 + 100_000, 6_664_174)),
    "clock an hour ahead": Values(ts=START + 3600, import_wh=(GOOD_IMPORT_T1 + 3, 6_664_174)),
    "clock in 2150": Values(clock="500101000000W"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_telegram_is_refused_and_counted(case: str, meter: BoardProcess, line: serial.Serial) -> None:
    before = status(meter)
    line.write(telegram(HOSTILE[case]))
    after = wait_for(lambda: status(meter), lambda d: refusals(d) > refusals(before), 10,
                     f"the {case} telegram refused", meter)
    assert after["telegrams"] == before["telegrams"]  # not taken
    code, data = meter.get_json("/api/v1/data")
    assert code == 200 and data["total_power_import_t1_kwh"] == (GOOD_IMPORT_T1 + 2) / 1000
    assert data["active_voltage_l1_v"] == 230.1 and data["active_current_l1_a"] == 11
    code, reading = meter.get_json("/api/plug/v1/reading")
    assert code == 200 and reading["meter_ts"] == START + 2
    # a good telegram after it is taken again
    line.write(telegram(Values(ts=START + 4, import_wh=(GOOD_IMPORT_T1 + 4, 6_664_174))))
    wait_for(lambda: status(meter)["telegrams"], lambda n: n == before["telegrams"] + 1, 10,
             "the next good telegram", meter)


def test_a_meter_that_really_jumped_is_followed_after_consistent_telegrams(meter: BoardProcess,
                                                                           line: serial.Serial) -> None:
    # a replaced meter: lower registers from now on, consistent with each other; RESYNC_N in a row
    base = 1_000_000
    for i in range(RESYNC_N):  # one at a time: a burst would overrun the board's UART buffer (as on an ESP32)
        line.write(telegram(Values(ts=START + 10 + i, import_wh=(base + i, 10))))
        wait_for(lambda: status(meter)["refused"], lambda r, i=i: r["telegrams"] + r["resyncs"] == i + 1,
                 10, f"telegram {i} of the new meter judged", meter)
    d = status(meter)
    assert d["refused"]["telegrams"] == RESYNC_N - 1 and d["refused"]["resyncs"] == 1
    code, data = meter.get_json("/api/v1/data")
    assert data["total_power_import_t1_kwh"] == (base + RESYNC_N - 1) / 1000
