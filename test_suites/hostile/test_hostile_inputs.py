"""Hostile input gets a 4xx and nothing is stored: the cases of the issue, each a test, on both devices.
Numbers follow MicroPython's rule (ASCII digits only) under CPython too."""

from __future__ import annotations

import json

import pytest
from smartplug_rig import status

from hil.board_process import BoardProcess

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize("value", ["%C2%B2", "%D9%A1", "%EF%BC%91", "%E2%91%A0", "1%00", "%FF"])
def test_non_ascii_numbers_are_refused(idle_plug: BoardProcess, value: str) -> None:
    before = status(idle_plug)["settings"]
    for oid in ("interval", "threshold_on"):
        code, _, body = idle_plug.request("POST", f"/number/{oid}/set?value={value}")
        assert code == 400, (oid, body)
    assert status(idle_plug)["settings"] == before


@pytest.mark.parametrize("body", [b'{"address": "\\ud800"}', b'{"address": "a\\udfff:80"}',
                                  b'{"\\ud800": 1}', b'{"address": "\xed\xa0\x80"}'])
def test_lone_surrogates_are_refused_and_nothing_is_stored(idle_plug: BoardProcess, body: bytes) -> None:
    _, before = idle_plug.get_json("/api/smartplug/v1/meter")
    code, _, answer = idle_plug.request("PUT", "/api/smartplug/v1/meter", body, JSON)
    assert code == 400, answer
    assert idle_plug.get_json("/api/smartplug/v1/meter") == (200, before)
    assert idle_plug.get_json("/api/smartplug/v1/status")[0] == 200


@pytest.mark.parametrize("path", ["/api/smartplug/v1/settings", "/api/v1/state"])
def test_lone_surrogate_in_other_json_is_refused(idle_plug: BoardProcess, path: str) -> None:
    code, _, _ = idle_plug.request("PUT", path, b'{"mode": "\\udc00"}', JSON)
    assert code == 400


@pytest.mark.parametrize("path", ["/switch/relay/toggle", "/switch/smartmeter_mode/turn_on"])
def test_undecodable_form_body_is_refused(idle_plug: BoardProcess, path: str) -> None:
    code, _, answer = idle_plug.request("POST", path, b"x=%FF%FE\xff", FORM)
    assert code == 400 and b"UTF-8" in answer
    assert status(idle_plug)["relay"] is False


def test_meter_address_must_be_printable_ascii(idle_plug: BoardProcess) -> None:
    for addr in ("smart\u00e9meter", "a\tb", "host:\u0661\u0662"):
        code, _, _ = idle_plug.request("PUT", "/api/smartplug/v1/meter", json.dumps({"address": addr}), JSON)
        assert code == 400, addr


def test_empty_system_put_is_a_400(meter: BoardProcess) -> None:
    for body in (b"{}", b'{"cloud_enabled": true}', b'{"x": 1}', b"[]"):
        code, _, answer = meter.request("PUT", "/api/v1/system", body, JSON)
        assert code == 400, (body, answer)
    assert meter.get_json("/api/status")[1]["http"]["server_errors"] == 0


def test_undecodable_wifisave_on_the_access_point(tmp_path) -> None:
    from smartmeter_rig import MeterRig

    with MeterRig(tmp_path, provisioned=False) as rig:
        rig.start()
        code, _, answer = rig.board.request("POST", "/wifisave", b"ssid=%FF&psk=\xfe", FORM)
        assert code == 400 and b"UTF-8" in answer
        assert not (rig.flash / "wifi.json").exists()
