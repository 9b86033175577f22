"""The SmartPlug as a real process on an emulated board: its chip over a pty at 4800 8E1, its relay line,
its flash folder, loopback HTTP. ESPHome REST, the HomeWizard Energy Socket API (through
python-homewizard-energy, the library Home Assistant uses), bad requests, and a power cut (kill -9)."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from homewizard_energy import HomeWizardEnergy
from smartplug_rig import (
    PLUG_MAC,
    PLUG_NAME,
    LineWatcher,
    manual_load_plug,
    plug_board,
    relay_line,
    state,
    status,
    wait_for,
)

from hil.board_process import BoardProcess
from hil.emulators.cse7766 import Cse7766Emulator


@pytest.fixture(scope="module")
def plug(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BoardProcess, Cse7766Emulator]]:
    """One plug whose chip measures the manual's load (237.0 V, 0.654 A, 311.3 W)."""
    with manual_load_plug(tmp_path_factory.mktemp("plug")) as p:
        yield p


def test_page_and_rest_show_what_the_chip_measures(plug: tuple[BoardProcess, Cse7766Emulator]) -> None:
    board, chip = plug
    wait_for(lambda: state(board, "sensor", "current"), lambda s: s == "0.654 A", 10, "Current", board)
    assert state(board, "sensor", "voltage") == "237.0 V"
    assert state(board, "sensor", "power") == "311.3 W"
    status_code, _, body = board.get("/")
    page = body.decode()
    assert status_code == 200
    assert f"<title>{PLUG_NAME} Web Server</title>" in page
    for text in ("237.0 V", "0.654 A", "311.3 W", "Threshold ON +5 W", "Interval -1 min", "SmartMeter Status",
                 "Disconnected"):
        assert text in page, text
    code, d = board.get_json("/sensor/Power")               # by name too, as ESPHome
    assert code == 200 and d == {"id": "sensor-power", "state": "311.3 W", "value": 311.3}
    # the chip's CF pulses reach the plug's energy (3.113 J a pulse, ~100 pulses a second at 311.3 W)
    s = wait_for(lambda: status(board), lambda s: s["energy_mwh"] > 0 and s["chip"]["accepted"] > 10, 5,
                 "plug energy", board)
    assert s["chip"]["bad_checksum"] == 0 and s["chip"]["garbage_bytes"] == 0
    assert chip.sent_frames >= s["chip"]["frames"]


def test_homewizard_library_reads_and_switches(plug: tuple[BoardProcess, Cse7766Emulator]) -> None:
    board, _ = plug
    gpio = relay_line(board)

    async def session() -> tuple[Any, Any, Any, Any]:
        # state changes need the token (docs/security.md): the library takes a session that sends it
        http = aiohttp.ClientSession(headers={"Authorization": f"Bearer {board.token}"})
        async with http, HomeWizardEnergy(f"127.0.0.1:{board.port}", clientsession=http) as hw:
            device = await hw.device()
            data = await hw.data()
            await hw.state_set(power_on=True)
            on = await hw.state()
            await hw.state_set(power_on=False, switch_lock=True)
            locked = await hw.state()
            return device, data, on, locked

    wait_for(lambda: state(board, "sensor", "power"), lambda s: s == "311.3 W", 10, "Power", board)
    # the chip's current register is refreshed on its own frames: wait for it too (run alone, this test
    # starts right after the board booted)
    wait_for(lambda: board.get_json("/api/v1/data")[1].get("active_current_a"), lambda a: a == 0.654, 10,
             "Current", board)
    device, data, on, locked = asyncio.run(session())
    assert device.product_type == "HWE-SKT" and device.api_version == "v1"
    assert device.serial == PLUG_MAC.replace(":", "")
    assert data.active_power_w == 311.3 and data.active_voltage_v == 237.0 and data.active_current_a == 0.654
    assert data.wifi_ssid == "home"
    assert data.total_energy_import_kwh is not None and data.total_energy_export_kwh == 0
    assert on.power_on is True and on.switch_lock is False
    assert locked.power_on is False and locked.switch_lock is True
    assert gpio.read("relay") == 0
    # locked: a relay change is refused with a message, through every door, and nothing moves
    code, answer = board.put_json("/api/v1/state", {"power_on": True})
    assert code == 400 and "switch_lock" in answer["error"]["description"]
    code, answer = board.get_json("/switch/relay")
    assert answer["state"] == "OFF"
    code, _, body = board.request("POST", "/switch/relay/toggle")
    assert code == 400 and b"switch_lock" in body
    assert gpio.read("relay") == 0
    # the answer to PUT echoes the keys it changed
    code, answer = board.put_json("/api/v1/state", {"switch_lock": False, "power_on": True})
    assert code == 200 and answer == {"switch_lock": False, "power_on": True}
    gpio.wait_for("relay", 1, 2)
    code, answer = board.put_json("/api/v1/state", {"power_on": False})
    assert code == 200 and answer == {"power_on": False}
    gpio.wait_for("relay", 0, 2)


def _settings(board: BoardProcess) -> dict[str, Any]:
    return status(board)["settings"]


def test_bad_requests_change_nothing(plug: tuple[BoardProcess, Cse7766Emulator]) -> None:
    board, _ = plug
    gpio = relay_line(board)
    before = (_settings(board), gpio.read("relay"), board.get_json("/api/v1/state")[1])
    cases: list[tuple[str, str, bytes | None, int, str]] = [
        ("POST", "/switch/nope/toggle", None, 404, "expected one of"),
        ("GET", "/sensor/nope", None, 404, "expected one of"),
        ("POST", "/switch/relay/explode", None, 404, "expected toggle"),
        ("POST", "/button/relay/press", None, 404, "expected one of"),
        ("POST", "/number/threshold_on/set?value=10.001", None, 400, "-10.000 ... 10.000"),
        ("POST", "/number/interval/set?value=0", None, 400, "1 ... 60"),
        ("POST", "/number/interval/set?value=abc", None, 400, "expected"),
        ("PUT", "/api/v1/state", b'{"power_on": tru', 400, "malformed JSON"),
        ("PUT", "/api/v1/state", b'{"power_on": "yes"}', 400, "expected true or false"),
        ("PUT", "/api/v1/state", b'{"colour": "red"}', 400, "unknown key"),
        ("PUT", "/api/v1/state", b"[]", 400, "expected a JSON object"),
        ("PUT", "/api/smartplug/v1/meter", b'{"poll_s": 0}', 400, "poll_s: expected"),
        ("PUT", "/api/smartplug/v1/settings", b'{"mode": true, "failsafe_n": 0}', 400, "expected 1 ... 96"),
        ("PUT", "/api/v1/state", b'{"power_on": true, "pad": "' + b"x" * 4000 + b'"}', 413, "at most"),
    ]
    for method, path, body, want, words in cases:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        code, _, answer = board.request(method, path, body, headers)
        assert code == want, (method, path, code, answer)
        assert words.encode() in answer, (method, path, answer)
    # at the interval's upper bound the +1 button is refused, and the setting stays
    code, _ = board.request("POST", "/number/interval/set?value=60")[:2]
    assert code == 200
    code, _, answer = board.request("POST", "/switch/interval__1_min/toggle")
    assert code == 400 and b"expected 1 ... 60 min" in answer
    assert _settings(board)["interval_min"] == 60
    assert board.request("POST", "/number/interval/set?value=%d" % before[0]["interval_min"])[0] == 200
    after = (_settings(board), gpio.read("relay"), board.get_json("/api/v1/state")[1])
    assert after == before
    s = status(board)
    assert s["plug"]["refused"] >= 10
    # a client that connects and sends half a request does not stall the others (the chip's first frame
    # awaited first: this test may run on a fresh board, before any other test of the module)
    wait_for(lambda: state(board, "sensor", "voltage"), lambda v: v == "237.0 V", 10, "Voltage", board)
    with socket.create_connection(("127.0.0.1", board.port)) as half:
        half.sendall(b"GET /sensor/power HTTP/1.1\r\nHost: x\r\n")
        assert state(board, "sensor", "voltage") == "237.0 V"


def test_kill_minus_9_keeps_settings_and_relay(tmp_path: Path) -> None:
    board = plug_board(tmp_path)
    gpio = relay_line(board)
    with board:
        board.start()
        assert gpio.read("relay") == 0          # first boot: the fail-safe state, off
        for path in ("/switch/smartmeter_mode/turn_on", "/switch/threshold_on_-5_w/toggle",
                     "/button/threshold_off__5_w/press", "/switch/interval_-1_min/toggle",
                     "/number/threshold_on/set?value=-0.160", "/switch/relay/toggle"):
            code, _, body = board.request("POST", path)
            assert code == 200, (path, body)
        gpio.wait_for("relay", 1, 2)
        want = _settings(board)
        assert want == {"v": 1, "on_wh": -160, "off_wh": 630, "interval_min": 14, "mode": True,
                        "failsafe_n": 4, "failsafe_on": False}
        code, _ = board.put_json("/api/v1/state", {"brightness": 42})
        assert code == 200
        watch = LineWatcher(gpio, "relay")
        board.kill()                             # the power cut: no chance to save anything more
        board.start()
        seen = watch.stop()
        assert seen == [1], f"the relay line moved during the reboot: {seen}"
        assert _settings(board) == want
        assert state(board, "switch", "relay") == "ON"
        assert state(board, "switch", "smartmeter_mode") == "ON"
        assert state(board, "sensor", "threshold_on") == "-0.160 kWh"
        assert state(board, "sensor", "interval") == "14 min"
        hw_state = board.get_json("/api/v1/state")[1]
        assert hw_state == {"power_on": True, "switch_lock": False, "brightness": 42}
        # and off stays off
        assert board.request("POST", "/switch/relay/turn_off")[0] == 200
        gpio.wait_for("relay", 0, 2)
        watch = LineWatcher(gpio, "relay")
        board.restart()
        assert watch.stop() == [0]
        assert state(board, "switch", "relay") == "OFF"
        assert "boots with the relay ON (restored from flash)" in board.log_text()
        saved = json.loads((board.flash / "state.json").read_text())
        assert saved["ctl"]["relay"] is False
