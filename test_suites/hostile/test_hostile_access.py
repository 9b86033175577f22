"""Who may change a module: every state change without a token is refused (401) and changes nothing; a
token comes only after the button press (HomeWizard API v2 model); a DNS-rebinding Host is refused (421)
even with a token; a foreign Origin is refused (403); no answer carries Access-Control-Allow-Origin."""

from __future__ import annotations

import json

import pytest
from smartplug_rig import relay_line, status

from hil.board_process import BoardProcess

JSON = {"Content-Type": "application/json"}

# every state-changing request of the SmartPlug (docs/openapi/smartplug.yaml)
PLUG_CHANGES = [
    ("PUT", "/api/v1/state", {"power_on": True}),
    ("PUT", "/api/v1/state", {"switch_lock": True}),
    ("POST", "/switch/relay/toggle", None),
    ("POST", "/switch/relay/turn_on", None),
    ("POST", "/switch/smartmeter_mode/turn_on", None),
    ("POST", "/switch/threshold_on__5_w/toggle", None),
    ("POST", "/button/threshold_off_-5_w/press", None),
    ("POST", "/number/threshold_on/set?value=-9.999", None),
    ("POST", "/number/interval/set?value=7", None),
    ("PUT", "/api/smartplug/v1/settings", {"on_wh": -9999, "mode": True}),
    ("PUT", "/api/smartplug/v1/meter", {"address": "10.6.6.6:80"}),
    ("POST", "/wifisave", "ssid=Evil&psk=password123"),
    ("DELETE", "/api/user", {"name": "local/rig"}),
    ("PUT", "/api/v1/local_api", {"enabled": True}),
    ("PUT", "/api/smartplug/v1/peakguard", {"on": True}),
]


def snapshot(board: BoardProcess) -> tuple[object, ...]:
    """Everything a state change could touch: relay line, status (settings, lock, mode), meter, WiFi."""
    st = status(board)
    _, meter = board.get_json("/api/smartplug/v1/meter")
    return (relay_line(board).read("relay"), st["relay"], st["settings"], st["switch_lock"], meter,
            st["wifi"]["ssid"], sorted(json.loads((board.flash / "auth.json").read_text())["users"]))


def send(board: BoardProcess, method: str, path: str, body: object, headers: dict[str, str] | None = None,
         auth: bool = False) -> tuple[int, dict[str, str], bytes]:
    """One request; body a dict (JSON) or a form string."""
    h = dict(headers or {})
    if isinstance(body, dict):
        data: str | None = json.dumps(body)
        h.setdefault("Content-Type", "application/json")
    else:
        data = body if isinstance(body, str) else None
        if data is not None:
            h.setdefault("Content-Type", "application/x-www-form-urlencoded")
    return board.request(method, path, data, h, auth=auth)


@pytest.mark.parametrize(("method", "path", "body"), PLUG_CHANGES,
                         ids=[f"{m} {p}" for m, p, _ in PLUG_CHANGES])
def test_state_change_without_a_token_is_refused(idle_plug: BoardProcess, method: str, path: str,
                                                 body: object) -> None:
    plug = idle_plug
    before = snapshot(plug)
    code, headers, answer = send(plug, method, path, body)
    assert code == 401, answer
    assert "Authorization: Bearer" in json.loads(answer)["error"]
    assert "Access-Control-Allow-Origin" not in headers
    code, _, _ = send(plug, method, path, body, {"Authorization": "Bearer " + "0" * 32})
    assert code == 401  # a guessed token is no better
    assert snapshot(plug) == before


def test_get_wifisave_changes_nothing(plug: BoardProcess) -> None:
    before = (plug.flash / "wifi.json").read_bytes()
    code, _, body = plug.request("GET", "/wifisave?ssid=HomeNet&psk=wrongwrong")
    assert code == 405 and b"POST /wifisave" in body
    assert (plug.flash / "wifi.json").read_bytes() == before
    assert status(plug)["wifi"]["state"] == "joined"


def test_portal_needs_a_login_once_joined(plug: BoardProcess) -> None:
    code, _, body = plug.request("GET", "/wifi", auth=False)
    assert code == 401 and b"Log in" in body
    code, _, body = plug.request("GET", "/wifi")
    assert code == 200 and b"WiFi Settings" in body


def test_a_token_only_after_the_button(plug: BoardProcess) -> None:
    code, _, body = send(plug, "POST", "/api/user", {"name": "local/ha"})
    assert code == 403 and b"user:creation-not-enabled" in body
    plug.press_button()
    code, _, body = send(plug, "POST", "/api/user", {"name": "local/ha"})
    assert code == 200
    token = json.loads(body)["token"]
    assert len(token) == 32 and token not in (plug.flash / "auth.json").read_text()  # only its hash
    code, _, _ = send(plug, "PUT", "/api/v1/state", {"power_on": True}, {"Authorization": f"Bearer {token}"})
    assert code == 200 and relay_line(plug).read("relay") == 1
    code, _, _ = send(plug, "DELETE", "/api/user", {}, {"Authorization": f"Bearer {token}"})
    assert code == 204
    code, _, _ = send(plug, "PUT", "/api/v1/state", {"power_on": False}, {"Authorization": f"Bearer {token}"})
    assert code == 401 and relay_line(plug).read("relay") == 1
    code, _, body = send(plug, "POST", "/api/user", {"name": "nolocal"})
    assert code == 400 and b"local/" in body


@pytest.mark.parametrize("host", ["attacker.example", "attacker.example:80", "smartplug-10021e.evil.com",
                                  "192.168.1.66", "localhost.attacker.example"])
def test_dns_rebinding_host_is_refused(idle_plug: BoardProcess, host: str) -> None:
    plug = idle_plug
    for method, path, body in (("GET", "/api/smartplug/v1/status", None), ("GET", "/", None),
                               ("PUT", "/api/v1/state", {"power_on": True})):
        code, _, answer = send(plug, method, path, body, {"Host": host}, auth=True)
        assert code == 421, (method, path, answer)
        assert b"DNS rebinding" in answer
    assert relay_line(plug).read("relay") == 0
    # the module's own names and addresses are fine
    for good in (f"127.0.0.1:{plug.port}", "smartplug-10021e.local", "SmartPlug-10021E.local:80"):
        code, _, _ = plug.request("GET", "/api/v1/state", headers={"Host": good})
        assert code == 200, good


@pytest.mark.parametrize("origin", ["http://attacker.example", "null", "http://127.0.0.1:1"])
def test_foreign_origin_is_refused_even_with_a_token(plug: BoardProcess, origin: str) -> None:
    code, headers, answer = send(plug, "PUT", "/api/v1/state", {"power_on": True}, {"Origin": origin},
                                 auth=True)
    assert code == 403 and b"cross-origin" in answer
    assert relay_line(plug).read("relay") == 0
    code, _, _ = send(plug, "PUT", "/api/v1/state", {"power_on": True},
                      {"Origin": f"http://127.0.0.1:{plug.port}"}, auth=True)
    assert code == 200  # its own pages


def test_a_page_session_needs_the_header_no_simple_request_can_send(plug: BoardProcess) -> None:
    plug.press_button()
    code, headers, _ = plug.request("POST", "/login", b"", {"X-Requested-With": "page"}, auth=False)
    assert code == 200
    cookie = headers["Set-Cookie"].split(";")[0]
    assert "HttpOnly" in headers["Set-Cookie"] and "SameSite=Strict" in headers["Set-Cookie"]
    code, _, body = plug.request("POST", "/switch/relay/toggle", b"", {"Cookie": cookie}, auth=False)
    assert code == 403 and b"X-Requested-With" in body and relay_line(plug).read("relay") == 0
    code, _, _ = plug.request("POST", "/switch/relay/toggle", b"",
                              {"Cookie": cookie, "X-Requested-With": "page"}, auth=False)
    assert code == 200 and relay_line(plug).read("relay") == 1


def test_smartmeter_settings_need_a_token(meter: BoardProcess) -> None:
    for method, path, body in (("PUT", "/api/smartmeter/v1/settings", {"stale_s": 5}),
                               ("PUT", "/api/v1/system", {"cloud_enabled": False}),
                               ("PUT", "/api/v1/identify", None)):
        code, _, _ = send(meter, method, path, body)
        assert code == 401, path
    _, settings = meter.get_json("/api/smartmeter/v1/settings")
    assert settings["stale_s"] == 30
    code, _, _ = send(meter, "PUT", "/api/smartmeter/v1/settings", {"stale_s": 5}, auth=True)
    assert code == 200
