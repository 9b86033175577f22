"""Provisioning on a hostile LAN: a bad Save never loses the network, the portal is not open on the LAN,
and the access point is never open (a per-device password, also when wifi.json is unreadable)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from urllib.parse import urlencode

from smartmeter_rig import MeterRig
from smartplug_rig import NETWORK, PLUG_MAC, provision, status, wait_for

from hil.board_process import BoardProcess

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def radio(board: BoardProcess) -> dict:
    """The board's radio as the host HAL publishes it."""
    return json.loads((board.flash.with_name(board.flash.name + ".io") / "wifi.json").read_text())


def label_password(board: BoardProcess) -> str:
    """The access point's password as the console prints it (the device label)."""
    found = re.findall(r"label: access point \S+, password (\S+)", board.log_text())
    assert found, board.log_tail()
    return found[-1]


def test_bad_save_keeps_the_old_network(plug: BoardProcess) -> None:
    stored = (plug.flash / "wifi.json").read_bytes()
    joins = status(plug)["wifi"]["joins"]
    code, _, page = plug.request("POST", "/wifisave", urlencode({"ssid": "home", "psk": "wrong-password"}),
                                 FORM, timeout=20)
    assert code == 400 and b"Could not join home: wrong password. Nothing was stored" in page
    assert b"keeps home" in page
    assert (plug.flash / "wifi.json").read_bytes() == stored
    st = wait_for(lambda: status(plug)["wifi"], lambda w: w["state"] == "joined", 10, "back on home", plug)
    assert st["ssid"] == "home" and st["joins"] == joins + 1 and radio(plug)["ap"] is None
    plug.restart()  # and after a reboot too
    wait_for(lambda: status(plug)["wifi"]["state"], lambda s: s == "joined", 10, "joined after reboot", plug)


def test_unknown_network_keeps_the_old_one(plug: BoardProcess) -> None:
    code, _, page = plug.request("POST", "/wifisave", urlencode({"ssid": "Elsewhere", "psk": "whatever123"}),
                                 FORM, timeout=20)
    assert code == 400 and b"network not found" in page
    assert json.loads((plug.flash / "wifi.json").read_text())["ssid"] == "home"
    wait_for(lambda: status(plug)["wifi"]["state"], lambda s: s == "joined", 10, "back on home", plug)


def test_flash_refusing_the_new_credentials_keeps_the_old(tmp_path: Path) -> None:
    flash = provision(tmp_path / "plug")
    board = BoardProcess("smartplug", flash, mac=PLUG_MAC, networks=dict(NETWORK, other="other-pw-12"))
    with board:
        board.start()
        wait_for(lambda: status(board)["wifi"]["state"], lambda s: s == "joined", 10, "joined", board)
        (flash.with_name(flash.name + ".io") / "flash_fail").write_text("wifi.json")
        code, _, page = board.request("POST", "/wifisave", urlencode({"ssid": "other", "psk": "other-pw-12"}),
                                      FORM, timeout=20)
        assert code == 507 and b"flash refused" in page and b"keeps home" in page
        assert json.loads((flash / "wifi.json").read_text())["ssid"] == "home"
        st = wait_for(lambda: status(board)["wifi"], lambda w: w["state"] == "joined", 10, "back", board)
        assert st["ssid"] == "home"


def test_access_point_has_the_label_password(tmp_path: Path) -> None:
    with MeterRig(tmp_path, provisioned=False) as rig:
        rig.start()
        r = radio(rig.board)
        pw = label_password(rig.board)
        assert r["ap"] == "smartmeter" and r["ap_auth"] == "wpa2-psk" and len(pw) == 12
        assert r["ap_psk_sha256"] == hashlib.sha256(pw.encode()).hexdigest()
        assert pw not in rig.board.get("/api/status")[2].decode() and pw not in rig.board.get("/")[2].decode()
        rig.board.restart()  # the same password at every boot (it is on the label)
        assert label_password(rig.board) == pw and radio(rig.board)["ap_auth"] == "wpa2-psk"


def test_unreadable_wifi_json_opens_a_protected_access_point(tmp_path: Path) -> None:
    with MeterRig(tmp_path) as rig:
        (rig.flash / "wifi.json").write_bytes(b"\xff\xfe not json")
        rig.start()
        wait_for(lambda: radio(rig.board)["ap"], lambda a: a == "smartmeter", 10, "the access point")
        assert radio(rig.board)["ap_auth"] == "wpa2-psk"
