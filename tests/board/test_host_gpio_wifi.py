"""GPIO lines as files the rig sees; WiFi as a table of networks the rig provides."""

import asyncio
import json
import threading

import pytest

from hil.board.gpio import GpioFolder, HostPin
from hil.board.wifi import NOT_FOUND, WRONG_PASSWORD, HostWifi


def test_outputs_are_visible_to_the_rig(tmp_path):
    board = GpioFolder(tmp_path / "gpio")
    rig = GpioFolder(tmp_path / "gpio")  # another process would open the same folder
    seen = []
    relay = HostPin(board, "relay", "out")
    relay.listeners.append(lambda name, v: seen.append((name, v)))
    assert rig.read("relay") == 0  # an output starts off, as after a reset
    relay.on()
    assert rig.read("relay") == 1 and relay.value() == 1
    relay.on()  # no change: no event
    relay.off()
    assert rig.read("relay") == 0
    assert seen == [("relay", 1), ("relay", 0)]
    assert HostPin(board, "led", "out", value=1).value() == 1 and rig.read("led") == 1


def test_inputs_are_driven_by_the_rig(tmp_path):
    board = GpioFolder(tmp_path / "gpio")
    button = HostPin(board, "button", "in")
    assert button.value() == 0  # nobody pressed it yet
    GpioFolder(tmp_path / "gpio").write("button", 1)
    assert button.value() == 1
    with pytest.raises(ValueError, match="'button' is an input: the rig drives it"):
        button.on()
    with pytest.raises(ValueError, match="level 2, expected 0 or 1"):
        board.write("button", 2)
    (tmp_path / "gpio" / "button").write_text("banana")
    with pytest.raises(ValueError, match="expected 0 or 1, found 'banana'"):
        button.value()


def test_the_rig_waits_for_a_line(tmp_path):
    board = GpioFolder(tmp_path / "gpio")
    relay = HostPin(board, "relay", "out")
    timer = threading.Timer(0.05, relay.on)
    timer.start()
    waited = board.wait_for("relay", 1, timeout=2)
    assert 0.03 < waited < 2
    with pytest.raises(TimeoutError, match="line 'relay' .* expected 0 within 0.05 s, still 1"):
        board.wait_for("relay", 0, timeout=0.05)


def wifi_state(tmp_path):
    return json.loads((tmp_path / "io" / "wifi.json").read_text())


def test_access_point_and_joining(tmp_path):
    w = HostWifi({"home": "secret", "neighbour": "x"}, tmp_path / "io", ap_ip="127.0.0.1", assoc_s=0.01)
    assert wifi_state(tmp_path) == {"ap": None, "sta": None, "ip": None, "error": None, "ap_auth": None,
                                    "ap_psk_sha256": None}
    assert w.ap_start("smartplug-10021e") == "127.0.0.1"
    assert w.ap_active() and wifi_state(tmp_path)["ap"] == "smartplug-10021e"
    assert [s for s, _ in w.scan()] == ["home", "neighbour"]

    assert asyncio.run(w.connect("home", "wrong")) == (False, WRONG_PASSWORD)
    assert not w.isconnected() and w.ip() is None
    assert wifi_state(tmp_path)["error"] == "wrong password"
    assert asyncio.run(w.connect("cafe", "secret")) == (False, NOT_FOUND)
    assert asyncio.run(w.connect("home", "secret")) == (True, None)
    assert w.isconnected() and w.ip() == "127.0.0.1"
    assert wifi_state(tmp_path) == {"ap": "smartplug-10021e", "sta": "home", "ip": "127.0.0.1", "error": None,
                                    "ap_auth": "open", "ap_psk_sha256": None}
    w.ap_stop()
    w.disconnect()
    assert wifi_state(tmp_path) == {"ap": None, "sta": None, "ip": None, "error": None, "ap_auth": None,
                                    "ap_psk_sha256": None}
    with pytest.raises(ValueError, match="1..32 characters"):
        w.ap_start("x" * 33)


def test_a_network_the_rig_takes_away_drops_the_board(tmp_path):
    table = tmp_path / "networks.yaml"
    table.write_text("home: secret\n")
    w = HostWifi(table, tmp_path / "io", assoc_s=0)
    assert asyncio.run(w.connect("home", "secret")) == (True, None)
    table.write_text("home: changed\n")  # the router's password changed
    assert not w.isconnected()
    assert wifi_state(tmp_path)["sta"] is None and wifi_state(tmp_path)["error"] == "connection lost"
    assert asyncio.run(w.connect("home", "changed")) == (True, None)
