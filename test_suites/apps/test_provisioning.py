"""First boot of a SmartMeter: its access point and portal, Save with bad input, a wrong password, an
unknown network, the right one; the access point stops once joined; a restart joins without the portal;
mDNS then answers for smartmeter.local and _hwenergy._tcp."""

from __future__ import annotations

import json
import uuid
from urllib.parse import urlencode

import pytest
from smartmeter_rig import MeterRig, wait_for

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def radio(rig: MeterRig) -> dict:
    """What the board's radio does, as the host HAL shows it to the rig."""
    return json.loads((rig.flash.with_name(rig.flash.name + ".io") / "wifi.json").read_text())


def save(rig: MeterRig, ssid: str, psk: str) -> tuple[int, str]:
    code, _, body = rig.board.request(
        "POST", "/wifisave", urlencode({"ssid": ssid, "psk": psk}), FORM, timeout=20
    )
    return code, body.decode()


def test_portal_save_wrong_password_then_join(tmp_path) -> None:
    with MeterRig(tmp_path, provisioned=False) as rig:
        rig.start()
        st = rig.status()["wifi"]
        assert st["state"] == "ap" and st["ap"] is True
        assert radio(rig)["ap"] == "smartmeter" and radio(rig)["sta"] is None
        code, _, page = rig.board.get("/")
        page = page.decode()
        assert code == 200
        for text in (
            "WiFi Networks",
            "<li>HomeNet (-40 dBm)</li>",
            "WiFi Settings",
            ">SSID<",
            ">Password<",
            'value="Save"',
            "OTA Update",
            'action="/update"',
        ):
            assert text in page, text
        wait_for(lambda: rig.status()["fresh"], 5, "the meter read while in access-point mode")

        code, page = save(rig, "HomeNet", "short")
        assert code == 400 and "password: expected 8 to 63 characters" in page
        assert not (rig.flash / "wifi.json").exists()  # nothing stored

        # a failed try stores nothing (docs/security.md): 400 and the reason on the page
        code, page = save(rig, "HomeNet", "wrong horse")
        assert code == 400 and "Could not join HomeNet: wrong password" in page
        assert not (rig.flash / "wifi.json").exists()
        st = rig.status()["wifi"]
        assert st["state"] == "ap" and st["ap"] is True and radio(rig)["ap"] == "smartmeter"
        _, _, again = rig.board.get("/")
        assert b"Could not join HomeNet: wrong password" in again  # the portal keeps saying why

        code, page = save(rig, "CoffeeShop", "whatever123")
        assert code == 400 and "Could not join CoffeeShop: network not found" in page

        code, page = save(rig, "HomeNet", "correct horse")
        assert code == 200 and "Connected to HomeNet" in page and "smartmeter.local" in page
        wait_for(lambda: radio(rig)["ap"] is None, 5, "the access point to stop")
        assert radio(rig)["sta"] == "HomeNet"
        st = rig.status()["wifi"]
        assert st == {
            "state": "joined",
            "ssid": "HomeNet",
            "ip": "127.0.0.1",
            "ap": False,
            "error": None,
            "joins": 1,
        }
        _, _, page_b = rig.board.get("/")
        assert b"smartmeter Web Server" in page_b and b"WiFi Settings" not in page_b

        rig.board.restart()  # the credentials are in flash: joined at boot, no access point
        wait_for(lambda: rig.status()["wifi"]["state"] == "joined", 5, "joined after restart")
        second = rig.board.log_text().split("--- start 2")[1]
        assert "access point smartmeter up" not in second and "joined HomeNet" in second
        assert json.loads((rig.flash / "wifi.json").read_text()) == {
            "ssid": "HomeNet",
            "password": "correct horse",
        }
        assert b"correct horse" not in rig.board.get("/api/status")[2]  # the password is never served


def test_mdns_answers_for_smartmeter_local_and_hwenergy(tmp_path) -> None:
    zeroconf = pytest.importorskip("zeroconf")
    suffix = "-" + uuid.uuid4().hex[:8]
    with MeterRig(tmp_path) as rig:
        rig.board.mdns = True
        rig.board.mdns_suffix = suffix
        rig.start()
        zc = zeroconf.Zeroconf(interfaces=["127.0.0.1"], ip_version=zeroconf.IPVersion.V4Only)
        try:
            name = f"smartmeter{suffix}._hwenergy._tcp.local."

            def found() -> zeroconf.ServiceInfo | None:
                return zc.get_service_info("_hwenergy._tcp.local.", name, timeout=1000)

            info = wait_for(found, 10, "the _hwenergy._tcp record", interval=0.2)
            assert info.port == rig.board.port
            assert info.server == f"smartmeter{suffix}.local."
            assert info.parsed_addresses() == ["127.0.0.1"]
            assert info.properties[b"product_type"] == b"HWE-P1" and info.properties[b"path"] == b"/api/v1"
            assert info.properties[b"serial"] == b"240ac4000001"
            http = zc.get_service_info(
                "_http._tcp.local.", f"smartmeter{suffix}._http._tcp.local.", timeout=3000
            )
            assert http is not None and http.port == rig.board.port
        finally:
            zc.close()
