"""Home Assistant's HomeWizard integration, as python-homewizard-energy 10 (the release Home Assistant
uses) drives it, against both boards: set-up, `combined()` on every update, switching, the lock,
identify, the system endpoint; and the paths HomeWizard does not document answer 404 with a reason.

As on HomeWizard's own devices, the v1 API writes only once the user enabled "Local API v1" (a user's
request: the rig's token); before that every write the library makes is refused (401) and changes nothing
(docs/security.md). Each test enables it first, as a user would."""

from __future__ import annotations

import socket

from hil.board_process import BoardProcess
from test_suites.apps.smartplug_rig import PLUG_MAC, LineWatcher, relay_line, state, wait_for
from test_suites.clients.clients_rig import run_client


def raw_status_line(port: int, request: bytes) -> bytes:
    """The first line the board answers to a raw request."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(request)
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(256)
            if not chunk:
                break
            data += chunk
    return data.split(b"\r\n", 1)[0]


def refused_while_local_api_is_off(board: BoardProcess, clients_python) -> dict:
    """Run the library's writes with Local API v1 off (they must all be refused), then enable it."""
    assert board.get_json("/api/v1/local_api") == (200, {"enabled": False})
    out = run_client(clients_python, "hw_client.py", "writes", f"127.0.0.1:{board.port}")
    for name in ("identify", "cloud_off"):
        assert out[name]["raised"] == "RequestError" and "401" in out[name]["message"], (name, out[name])
    assert board.put_json("/api/v1/local_api", {"enabled": True}) == (200, {"enabled": True})
    return out


def test_socket_through_home_assistants_library(plug, clients_python) -> None:
    board, _ = plug
    gpio = relay_line(board)
    wait_for(lambda: state(board, "sensor", "power"), lambda s: s == "311.3 W", 10, "Power", board)
    wait_for(lambda: state(board, "sensor", "current"), lambda s: s == "0.654 A", 10, "Current", board)
    off = refused_while_local_api_is_off(board, clients_python)
    assert off["turn_on"]["raised"] == "RequestError" and "401" in off["turn_on"]["message"]
    assert off["state"]["value"]["power_on"] is False and gpio.read("relay") == 0
    led = LineWatcher(gpio, "led")
    out = run_client(clients_python, "hw_client.py", "socket", f"127.0.0.1:{board.port}")
    seen = led.stop()

    device = out["device"]["value"]
    assert device["product_type"] == "HWE-SKT" and device["api_version"] == "1.0.0"  # "v1", parsed
    assert device["serial"] == PLUG_MAC.replace(":", "") and device["model_name"] == "Energy Socket"
    combined = out["combined"]["value"]          # every field of Home Assistant's update, none missing
    m = combined["measurement"]
    assert m["power_w"] == 311.3 and m["voltage_v"] == 237.0 and m["current_a"] == 0.654
    assert m["energy_import_kwh"] is not None and m["energy_export_kwh"] == 0
    assert combined["system"]["cloud_enabled"] is False and combined["system"]["wifi_ssid"] == "home"
    assert combined["state"] == {"power_on": False, "switch_lock": False, "brightness": 255}
    assert combined["system"]["status_led_brightness_pct"] == 100
    # switching: the library's answers and the state read back
    assert out["turn_on"]["value"]["power_on"] is True
    assert out["state_on"]["value"]["power_on"] is True
    assert out["state_off"]["value"]["power_on"] is False
    assert out["lock"]["value"]["switch_lock"] is True
    assert out["turn_off_locked"]["value"]["power_on"] is False   # off and locked: allowed (lock keeps off)
    assert out["unlock"]["value"]["switch_lock"] is False
    assert round(out["brightness"]["value"]["status_led_brightness_pct"]) == 50   # 50 * 2.55 sent, 127 kept
    # identify: the library's True, and the LED line blinked
    assert out["identify"] == {"value": True}
    assert 1 in seen, f"the LED never lit during identify: {seen}"
    assert out["system"]["value"]["cloud_enabled"] is False
    assert out["cloud_off"]["value"]["cloud_enabled"] is False
    assert out["cloud_on"]["raised"] == "RequestError" and "400" in out["cloud_on"]["message"]
    assert out["telegram"]["raised"] == "UnsupportedError"
    assert out["combined_after"]["value"]["state"]["brightness"] == 127
    assert gpio.read("relay") == 0


def test_p1_meter_through_home_assistants_library(meter, clients_python) -> None:
    off = refused_while_local_api_is_off(meter.board, clients_python)
    assert off["state"]["raised"] == "UnsupportedError"
    out = run_client(clients_python, "hw_client.py", "p1", f"127.0.0.1:{meter.board.port}")
    device = out["device"]["value"]
    assert device["product_type"] == "HWE-P1" and device["model_name"] == "P1 Meter"
    combined = out["combined"]["value"]
    m = combined["measurement"]
    assert m["power_w"] == 2673 and m["energy_import_t1_kwh"] == 4592.767
    assert 6664.174 <= m["energy_import_t2_kwh"] < 6665 and m["energy_export_t1_kwh"] == 1269.851  # t2 runs
    assert combined["system"]["cloud_enabled"] is False and combined["state"] is None
    assert out["telegram"]["value"].startswith("/") and "!" in out["telegram"]["value"]
    assert out["identify"] == {"value": True}
    assert out["system"]["value"]["cloud_enabled"] is False
    assert out["cloud_off"]["value"]["cloud_enabled"] is False
    assert out["state"]["raised"] == "UnsupportedError"


def test_unknown_paths_are_404_with_reason_phrases(plug, meter) -> None:
    board, _ = plug
    for b in (board, meter.board):
        for method, path in (("GET", "/api/v1/nothing"), ("PUT", "/api/v1/nothing"), ("GET", "/api/v2/x/y"),
                             ("GET", "/a/b/c/d"), ("DELETE", "/api/v1/data/x")):
            code, _, body = b.request(method, path)
            assert code == 404 and b"nothing at" in body, (b.kind, method, path, code, body)
        # the Host is one of the board's own (issue 11's allow-list answers any other 421)
        line = raw_status_line(b.port, b"GET /api/v1/nothing HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert line == b"HTTP/1.0 404 Not Found", line
        # a real route with another method stays a 405 that names the methods it takes
        code, headers, body = b.request("DELETE", "/api/v1/system")
        assert code == 405 and headers.get("Allow") == "GET, PUT" and b"expected GET or PUT" in body
        token = f"Authorization: Bearer {b.token}\r\n".encode()
        line = raw_status_line(b.port, b"POST /api/v1/data HTTP/1.1\r\nHost: 127.0.0.1\r\n" + token + b"\r\n")
        assert line == b"HTTP/1.0 405 Method Not Allowed", line
        line = raw_status_line(b.port, b"POST /api/v1/data HTTP/1.1\r\nHost: x\r\n\r\n")
        assert line == b"HTTP/1.0 421 Misdirected Request", line
    # the P1 meter has no state (HomeWizard documents it for the socket only), the socket no telegram
    assert meter.board.request("GET", "/api/v1/state")[0] == 404
    assert board.request("GET", "/api/v1/telegram")[0] == 404
