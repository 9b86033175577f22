"""The SmartMeter's API v2 over HTTPS: the same reading as API v1 under v2's names, and Home Assistant's
v2 client (python-homewizard-energy's HomeWizardEnergyV2) against it: refused as it ships (it trusts
only HomeWizard's CA), working once its TLS context pins the module's certificate (docs/security.md)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial
from https_client import v2
from smartplug_rig import wait_for
from telegrams import START, Values, meter_time, telegram

from hil.board.auth import read_users
from hil.board_process import BoardProcess
from hil.serial_lines import PtyPair
from test_suites.clients.clients_rig import CLIENTS_PYTHON

HERE = Path(__file__).resolve().parent


@pytest.fixture
def reading(meter: BoardProcess, p1_line: PtyPair) -> Iterator[BoardProcess]:
    """The meter after three good telegrams, listening on HTTPS."""
    ser: serial.Serial = p1_line.open(0, baudrate=115200)
    try:
        for i in range(3):
            ser.write(telegram(Values(ts=START + i, import_wh=(4_592_767 + i, 6_664_174))))
        wait_for(lambda: meter.get_json("/api/status")[1]["telegrams"], lambda n: n >= 3, 10,
                 "three good telegrams", meter)
        meter.wait_https()
        yield meter
    finally:
        ser.close()


def test_v2_measurement_is_the_v1_reading_under_v2_names(reading: BoardProcess) -> None:
    code, data = reading.get_json("/api/v1/data")
    assert code == 200
    code, headers, m = v2(reading, "GET", "/api/measurement", reading.token)
    assert code == 200 and headers["X-Api-Version"] == "2.0.0"
    assert m["energy_import_t1_kwh"] == data["total_power_import_t1_kwh"] == 4592.769
    assert m["energy_import_kwh"] == data["total_power_import_kwh"]
    assert m["energy_export_t2_kwh"] == data["total_power_export_t2_kwh"] == 439.646
    assert m["power_w"] == data["active_power_w"] == 2673 and m["tariff"] == 2
    assert m["voltage_l1_v"] == 230.1 and m["current_l1_a"] == 11 and m["protocol_version"] == 50
    assert m["unique_id"] == data["unique_id"] and m["meter_model"] == "ISk5\\2MT382-1000"
    t = meter_time(START + 2)   # YYMMDDhhmmssW, local time
    assert m["timestamp"] == f"20{t[0:2]}-{t[2:4]}-{t[4:6]}T{t[6:8]}:{t[8:10]}:{t[10:12]}"
    assert not {"wifi_ssid", "total_power_import_kwh", "active_power_w"} & set(m)
    code, _, text = v2(reading, "GET", "/api/telegram", reading.token)
    assert code == 200 and text == reading.get("/api/v1/telegram")[2].decode("latin-1")
    code, _, device = v2(reading, "GET", "/api", reading.token)
    assert device["product_type"] == "HWE-P1" and device["api_version"] == "2.0.0"


def test_home_assistants_v2_client(reading: BoardProcess) -> None:
    if not CLIENTS_PYTHON.exists():
        pytest.fail(f"expected the client environment at {CLIENTS_PYTHON}, got nothing: run scripts/setup")
    reading.press_button()                                   # the script asks for a token within 30 s
    r = subprocess.run([str(CLIENTS_PYTHON), str(HERE / "hw_v2_client.py"), f"127.0.0.1:{reading.https_port}",
                        reading.token, reading.fingerprint()], capture_output=True, text=True, timeout=120,
                       check=False)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout)
    # as it ships: HomeWizard's CA only, so the module's own certificate fails verification
    assert out["stock_device"]["raised"] == "RequestError", out["stock_device"]
    assert "CERTIFICATE_VERIFY_FAILED" in out["stock_device"]["cause"], out["stock_device"]
    # pinned: every model the library builds parses
    device = out["device"]["value"]
    assert device["product_type"] == "HWE-P1" and device["api_version"] == "2.0.0"
    assert device["model_name"] == "P1 Meter" and device["serial"] == "240ac4000001"
    m = out["measurement"]["value"]
    assert m["energy_import_t1_kwh"] == 4592.769 and m["power_w"] == 2673 and m["protocol_version"] == 50
    assert m["timestamp"].startswith("20") and m["unique_id"] == "K8EG004046395507"   # hex, as text
    system = out["system"]["value"]
    assert system["cloud_enabled"] is False and system["api_v1_enabled"] is False
    assert out["telegram"]["value"].startswith("/ISk5")
    assert out["identify"] == {"value": None}
    assert out["api_v1_on"]["value"]["api_v1_enabled"] is True
    assert reading.get_json("/api/v1/local_api") == (200, {"enabled": True})
    # pairing through the library: a token after the press, usable, then deleted
    assert len(out["get_token"]["value"]) == 32 and out["with_new_token"]["value"]["power_w"] == 2673
    assert out["delete_token"] == {"value": None}
    assert "local/homeassistant" not in read_users(reading.flash) and "local/rig" in read_users(reading.flash)
    assert out["wrong_pin"]["raised"] == "RequestError" and "Fingerprint" in out["wrong_pin"]["cause"]
