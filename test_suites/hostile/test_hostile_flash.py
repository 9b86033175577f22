"""A flash that refuses writes (the rig's `<io>/flash_fail`, hil/board/hal.py): every request that
would change something fails (507), the relay does not move, and a reboot finds what was answered."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from smartplug_rig import relay_line, status

from hil.board_process import BoardProcess


def fail_writes(board: BoardProcess, names: str = "*") -> Path:
    """Make the board's flash refuse writes of these files (`*`: all); returns the switch file."""
    f = board.flash.with_name(board.flash.name + ".io") / "flash_fail"
    f.write_text(names + "\n", encoding="utf-8")
    return f


CHANGES = [
    ("PUT", "/api/v1/state", {"power_on": True}),
    ("POST", "/switch/relay/turn_on", None),
    ("POST", "/switch/smartmeter_mode/turn_on", None),
    ("POST", "/number/threshold_on/set?value=0.250", None),
    ("POST", "/button/interval__1_min/press", None),
    ("PUT", "/api/smartplug/v1/settings", {"on_wh": 100}),
    ("PUT", "/api/smartplug/v1/meter", {"address": "127.0.0.1:9"}),
]


@pytest.mark.parametrize(("method", "path", "body"), CHANGES, ids=[f"{m} {p}" for m, p, _ in CHANGES])
def test_a_write_that_fails_fails_the_request(plug: BoardProcess, method: str, path: str,
                                              body: object) -> None:
    before = status(plug)
    _, meter_before = plug.get_json("/api/smartplug/v1/meter")
    switch = fail_writes(plug)
    data = None if body is None else json.dumps(body)
    code, _, answer = plug.request(method, path, data, {"Content-Type": "application/json"})
    assert code == 507, answer
    assert b"flash" in answer
    after = status(plug)
    assert relay_line(plug).read("relay") == 0 and after["relay"] is False
    assert after["settings"] == before["settings"] and after["switch_lock"] == before["switch_lock"]
    assert plug.get_json("/api/smartplug/v1/meter")[1] == meter_before
    # healed: the same request works, and a power cut keeps it
    switch.unlink()
    code, _, answer = plug.request(method, path, data, {"Content-Type": "application/json"})
    assert code == 200, answer


def test_relay_state_survives_a_reboot_only_when_stored(plug: BoardProcess) -> None:
    switch = fail_writes(plug, "state.json")
    code, _, _ = plug.request("PUT", "/api/v1/state", json.dumps({"power_on": True}))
    assert code == 507 and relay_line(plug).read("relay") == 0
    switch.unlink()
    code, _, _ = plug.request("PUT", "/api/v1/state", json.dumps({"power_on": True}))
    assert code == 200 and relay_line(plug).read("relay") == 1
    plug.restart()
    assert relay_line(plug).read("relay") == 1 and status(plug)["relay"] is True


def test_smartmeter_settings_write_failure(meter: BoardProcess) -> None:
    fail_writes(meter)
    code, _, answer = meter.request("PUT", "/api/smartmeter/v1/settings", json.dumps({"stale_s": 5}),
                                    {"Content-Type": "application/json"})
    assert code == 507 and b"nothing changed" in answer
    assert meter.get_json("/api/smartmeter/v1/settings")[1]["stale_s"] == 30
    assert meter.get_json("/api/status")[1]["storage_errors"] >= 1
