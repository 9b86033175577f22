"""The SmartMeter as a real process on a real pty, read over loopback HTTP by real clients.

One board runs for the whole module (it reads an emulated Fluvius e-MUCS meter holding the manual's
registers, 2673 W import). Every check compares what the board serves with what the emulator's meter
state held for the telegram the board last took (the rig records that per telegram).
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from html.parser import HTMLParser

import pytest
from smartmeter_rig import MeterRig, wait_for

from firmware.p1.crc16 import crc16_arc

MANUAL_NAMES = [
    "Energy Consumed Tariff 1",
    "Energy Consumed Tariff 2",
    "Energy Produced Tariff 1",
    "Energy Produced Tariff 2",
    "Power Consumed",
    "Power Produced",
    "Electricity Failures",
    "Long Electricity Failures",
    "Voltage Phase 1",
    "Voltage Phase 2",
    "Voltage Phase 3",
    "Current Phase 1",
    "Current Phase 2",
    "Current Phase 3",
]


class StatesTable(HTMLParser):
    """Rows of the States table: (tr id, [cell texts])."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, list[str]]] = []
        self.title = ""
        self._in_title = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag == "tr" and dict(attrs).get("id"):
            self.rows.append((dict(attrs)["id"] or "", []))
        elif tag == "td" and self.rows:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag == "td" and self._cell is not None:
            self.rows[-1][1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif self._cell is not None:
            self._cell.append(data)


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory):
    r = MeterRig(tmp_path_factory.mktemp("smartmeter"))
    r.start()
    wait_for(lambda: r.status()["p1"]["accepted"] >= 2, 10, "two telegrams taken")
    yield r
    r.close()


def last_expected(rig: MeterRig) -> dict:
    code, body = rig.board.get_json("/api/plug/v1/reading")
    assert code == 200, body
    return rig.source.expected[body["meter_ts"]]


def page_rows(rig: MeterRig) -> tuple[str, dict[str, str], list[str]]:
    code, headers, body = rig.board.get("/")
    assert code == 200 and headers["Content-Type"].startswith("text/html")
    p = StatesTable()
    p.feed(body.decode())
    return p.title, {cells[0]: cells[1] for _, cells in p.rows}, [cells[0] for _, cells in p.rows]


def matches_a_recent_telegram(rig: MeterRig, rows: dict[str, str]) -> bool:
    recent = sorted(rig.source.expected)[-3:]
    return any(rig.source.expected[ts]["rows"] == rows for ts in recent)


def test_page_shows_the_manuals_rows_with_the_meters_values(rig: MeterRig) -> None:
    title, rows, names = page_rows(rig)
    assert title == "smartmeter Web Server"
    assert names == MANUAL_NAMES
    # the page and the emulator agree on one of the last telegrams (one may arrive between two reads)
    assert matches_a_recent_telegram(rig, rows), (rows, rig.source.expected[max(rig.source.expected)]["rows"])
    assert rows["Energy Produced Tariff 1"] == "1269.851 kWh"  # no export flows: the manual's value
    assert rows["Power Consumed"] == "2.673 kW" and rows["Power Produced"] == "0.000 kW"
    assert rows["Electricity Failures"] == "" and rows["Long Electricity Failures"] == ""  # not sent in BE
    assert rows["Voltage Phase 1"] == "230.0 V" and rows["Current Phase 1"] == "3.9 A"  # 891 W / 230 V
    _, _, body = rig.board.get("/")
    assert b'<form method="POST" action="/update" enctype="multipart/form-data">' in body


def test_rest_sensor_by_object_id_and_by_name(rig: MeterRig) -> None:
    code, a = rig.board.get_json("/sensor/energy_produced_tariff_2")
    assert code == 200 and a == {
        "id": "sensor-energy_produced_tariff_2",
        "state": "439.646 kWh",
        "value": 439.646,
    }
    code, b = rig.board.get_json("/sensor/Energy%20Produced%20Tariff%202")
    assert code == 200 and b == a
    code, v = rig.board.get_json("/sensor/voltage_phase_3")
    assert (code, v["state"], v["value"]) == (200, "230.0 V", 230.0)
    code, f = rig.board.get_json("/sensor/electricity_failures")
    assert code == 200 and f == {"id": "sensor-electricity_failures", "state": "NA", "value": None}
    exp = last_expected(rig)
    code, e = rig.board.get_json("/sensor/energy_consumed_tariff_2")
    assert code == 200 and abs(e["value"] * 1000 - exp["import_wh"][1]) <= 2  # within 2 telegrams of 0.74 Wh


def test_unknown_entities_are_404_with_what_exists(rig: MeterRig) -> None:
    code, body = rig.board.get_json("/sensor/energy_consumed_tariff_3")
    assert (
        code == 404
        and "energy_consumed_tariff_3" in body["error"]
        and "energy_consumed_tariff_1" in body["error"]
    )
    code, body = rig.board.get_json("/switch/relay")
    assert code == 404 and "no switch entities" in body["error"]
    code, body = rig.board.get_json("/light/x")
    assert code == 404 and 'domain "light"' in body["error"]
    code, body = rig.board.get_json("/nothing/here/at/all")
    assert code == 404 and "GET /nothing/here/at/all" in body["error"]
    code, _, raw = rig.board.request("POST", "/sensor/power_consumed/turn_on")
    assert code == 405 and b"read-only" in raw


def test_plug_reading_is_the_meters_registers(rig: MeterRig) -> None:
    code, body = rig.board.get_json("/api/plug/v1/reading")
    assert code == 200 and body["fresh"] is True
    exp = rig.source.expected[body["meter_ts"]]
    assert body["import_wh"] == {
        "t1": exp["import_wh"][0],
        "t2": exp["import_wh"][1],
        "total": sum(exp["import_wh"]),
    }
    assert body["export_wh"] == {
        "t1": exp["export_wh"][0],
        "t2": exp["export_wh"][1],
        "total": sum(exp["export_wh"]),
    }
    assert (body["import_w"], body["export_w"], body["power_w"]) == (2673, 0, 2673)
    assert body["meter_time"].endswith("Z") and 0 <= body["age_s"] < 2.5
    seq = body["seq"]
    wait_for(lambda: rig.board.get_json("/api/plug/v1/reading")[1]["seq"] > seq, 3, "the next telegram")


def test_telegram_endpoint_gives_the_bytes_the_meter_sent(rig: MeterRig) -> None:
    code, headers, body = rig.board.get("/api/v1/telegram")
    assert code == 200 and headers["Content-Type"].startswith("text/plain")
    end = body.index(b"!") + 1
    assert body[end : end + 4] == b"%04X" % crc16_arc(body[:end])
    sent = {rig.source.expected[ts]["data"] for ts in sorted(rig.source.expected)[-3:]}
    assert body in sent


def test_homewizard_client_reads_the_meter(rig: MeterRig) -> None:
    from homewizard_energy import HomeWizardEnergy

    async def read() -> tuple:
        async with HomeWizardEnergy(host=f"127.0.0.1:{rig.board.port}") as api:
            return await api.device(), await api.data()

    device, data = asyncio.run(read())
    assert device.product_type == "HWE-P1" and device.api_version == "v1"
    assert device.serial == "240ac4000001"
    exp = rig.source.expected
    ts = [
        t for t in sorted(exp)[-3:] if exp[t]["import_wh"][1] == round(data.total_energy_import_t2_kwh * 1000)
    ]
    assert ts, (data.total_energy_import_t2_kwh, [exp[t]["import_wh"] for t in sorted(exp)[-3:]])
    e = exp[ts[-1]]
    assert round(data.total_energy_import_t1_kwh * 1000) == e["import_wh"][0]
    assert round(data.total_energy_import_kwh * 1000) == sum(e["import_wh"])
    assert round(data.total_energy_export_t1_kwh * 1000) == e["export_wh"][0]
    assert data.active_power_w == 2673 and data.active_power_l1_w == 891
    assert data.active_voltage_l1_v == 230.0 and data.active_current_l1_a == 3.87
    assert data.smr_version == 50 and data.active_tariff == 2
    assert data.unique_meter_id == "1EMU0000000001" and data.gas_unique_id == "7EMU0000000001"
    assert data.wifi_ssid == "HomeNet"
    assert data.any_power_fail_count is None  # a Belgian meter does not send it
    assert data.external_devices and list(data.external_devices.values())[0].unit == "m3"


def read_events(port: int, seconds: float, stop=None) -> list[tuple[str, str]]:
    """(event, data) pairs read from /events with a plain socket, as an ESPHome-style client would."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET /events HTTP/1.1\r\nHost: smartmeter.local\r\nAccept: text/event-stream\r\n\r\n")
    buf = b""
    deadline = time.monotonic() + seconds
    events: list[tuple[str, str]] = []
    try:
        while time.monotonic() < deadline:
            s.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                chunk = s.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            buf += chunk
            *done, buf = buf.split(b"\n\n")
            for block in done:
                fields = dict(line.split(": ", 1) for line in block.decode().splitlines() if ": " in line)
                if "event" in fields:
                    events.append((fields["event"], fields.get("data", "")))
            if stop is not None and stop(events):
                break
    finally:
        s.close()
    return events


def test_events_stream_sends_ping_states_and_changes(rig: MeterRig) -> None:
    def changed(events: list[tuple[str, str]]) -> bool:
        return len([e for e in events if e[0] == "state"]) > 14

    events = read_events(rig.board.port, 5, changed)
    assert events[0][0] == "ping" and json.loads(events[0][1])["title"] == "smartmeter"
    first = [json.loads(d) for kind, d in events[1:15]]
    assert all(kind == "state" for kind, _ in events[1:15])
    assert [x["id"] for x in first] == ["sensor-" + n.lower().replace(" ", "_") for n in MANUAL_NAMES]
    by_id = {x["id"]: x for x in first}
    assert by_id["sensor-power_consumed"] == {      # ESPHome's "detail all": the UI's name and unit
        "id": "sensor-power_consumed", "name_id": "sensor/Power Consumed", "name": "Power Consumed",
        "domain": "sensor", "icon": "", "entity_category": 0, "sorting_weight": 4, "uom": "kW",
        "state": "2.673 kW",
        "value": 2.673,
    }
    assert by_id["sensor-long_electricity_failures"]["value"] is None
    later = [json.loads(d) for kind, d in events[15:] if kind == "state"]
    assert later, "the meter's registers advance: a state event must follow"
    assert later[0]["id"] == "sensor-energy_consumed_tariff_2"  # night tariff: only T2 moves
    assert later[0]["name"] == "Energy Consumed Tariff 2"       # live events say which row they are
    assert float(later[0]["state"].split()[0]) > by_id["sensor-energy_consumed_tariff_2"]["value"]


def test_settings_survive_nothing_changes_on_bad_input(rig: MeterRig) -> None:
    code, before = rig.board.get_json("/api/smartmeter/v1/settings")
    assert code == 200 and before == {"stale_s": 30, "p1_line": "auto"}
    for body, word in (
        ("{bad json", "malformed"),
        ('{"stale_s": 0}', "1 ... 600"),
        ('{"stale_s": "5"}', "integer"),
        ('{"colour": 1}', "unknown setting"),
        ("[]", "JSON object"),
    ):
        code, _, raw = rig.board.request(
            "PUT", "/api/smartmeter/v1/settings", body, {"Content-Type": "application/json"}
        )
        assert code == 400 and word in json.loads(raw)["error"], (body, raw)
    assert rig.board.get_json("/api/smartmeter/v1/settings") == (200, before)
    code, _, raw = rig.board.request("PUT", "/api/v1/system", '{"cloud_enabled": true}')
    assert code == 400 and b"no cloud" in raw


def test_oversized_body_is_413_and_the_board_goes_on(rig: MeterRig) -> None:
    code, _, raw = rig.board.request(
        "PUT", "/api/smartmeter/v1/settings", b"{" + b" " * 5000 + b"}", {"Content-Type": "application/json"}
    )
    assert code == 413 and b"expected at most 1024" in raw
    code, _, raw = rig.board.request(
        "POST", "/update", b"x" * 3000, {"Content-Type": "application/octet-stream"}
    )
    assert code == 400 and b"image truncated: 3000 bytes came" in raw  # OTA: refused, nothing written
    assert rig.board.get_json("/api/smartmeter/v1/settings")[0] == 200


def test_peak_guard_reports_need_the_plugs_header_and_the_table_stays_open_to_read(rig: MeterRig) -> None:
    report = "/api/peakguard/v1?id=web-page&priority=9&shed=0&on=1&load_w=2000&draw_w=2000"
    # what a web page's <img> makes the user's browser send: no X-Requested-With (it would need a preflight)
    code, _, body = rig.board.request("GET", report)
    answer = json.loads(body)
    assert code == 403 and "X-Requested-With" in answer["error"] and "nothing stored" in answer["error"]
    code, table = rig.board.get_json("/api/peakguard/v1")
    assert code == 200 and "web-page" not in [p["id"] for p in table["plugs"]]
    refused = table["counters"]["refused"]
    assert refused >= 1
    # a plug's report (its header): taken, and published to every reader
    code, _, body = rig.board.request("GET", report.replace("web-page", "smartplug-test"),
                                      headers={"X-Requested-With": "peakguard"})
    assert code == 200 and json.loads(body)["fresh"] is True
    # (it shows from the SmartMeter's next second on: the table answers as it stood before this second)
    def published() -> dict | None:
        table = rig.board.get_json("/api/peakguard/v1")[1]
        return table if table["plugs"] else None

    table = wait_for(published, 10, "the plug's report in the SmartMeter's table")
    assert [p["id"] for p in table["plugs"]] == ["smartplug-test"] and table["counters"]["refused"] == refused
