"""A pulled P1 cable: after the staleness time the SmartMeter shows nothing as current, everywhere; once
the cable is back the readings return."""

from __future__ import annotations

import json
import threading
import time

from smartmeter_rig import MeterRig, wait_for
from test_smartmeter import page_rows, read_events

STALE_S = 2
OUT_PERIODS = 4  # the cable stays out 4 telegram periods (4 s): long enough to go stale, then comes back


def test_pulled_cable_empties_page_and_apis_then_recovers(tmp_path) -> None:
    with MeterRig(tmp_path, extra=["--stale-s", str(STALE_S)]) as rig:
        rig.start()
        wait_for(lambda: rig.status()["fresh"], 10, "a fresh reading")
        _, rows, _ = page_rows(rig)
        assert rows["Power Consumed"] == "2.673 kW"

        events: list[tuple[str, str]] = []

        def went_empty(ev: list[tuple[str, str]]) -> bool:
            return any(k == "state" and '"value":null' in d and "power_consumed" in d for k, d in ev)

        connects = rig.status()["events"]["connects"]
        listener = threading.Thread(target=lambda: events.extend(read_events(rig.board.port, 8, went_empty)))
        listener.start()
        wait_for(lambda: rig.status()["events"]["connects"] > connects, 5, "the event stream subscribed")
        before = rig.status()["telegrams"]
        rig.pull_cable(OUT_PERIODS)  # mid-telegram: 300 bytes into the next one
        pulled = time.monotonic()

        wait_for(lambda: not rig.status()["fresh"], STALE_S + 3, "the reading to turn stale")
        assert time.monotonic() - pulled >= STALE_S - 1.0  # not before the staleness time (1 telegram/s)

        _, rows, names = page_rows(rig)
        assert len(names) == 14 and set(rows.values()) == {""}, rows
        # the page and /api/status say why, and since when; the log says it once
        silence = rig.status()["silence"]
        assert silence["silent_s"] > STALE_S and silence["since"].endswith("Z"), silence
        assert silence["message"].startswith("No telegram from the meter since ")
        assert "(the meter's clock): the readings are stale after 2 s" in silence["message"]
        page = rig.board.get("/")[2].decode()
        assert "No telegram from the meter since " in page and "check the P1 cable" in page
        wait_for(lambda: "No telegram from the meter" in rig.board.log_text(), 3, "the log line")
        code, s = rig.board.get_json("/sensor/power_consumed")
        assert code == 200 and s == {"id": "sensor-power_consumed", "state": "NA", "value": None}
        code, body = rig.board.get_json("/api/plug/v1/reading")
        assert code == 503 and body["fresh"] is False and body["age_s"] > STALE_S
        assert "older than 2.000 s" in body["error"]
        code, data = rig.board.get_json("/api/v1/data")
        assert code == 200 and "total_power_import_kwh" not in data and "active_power_w" not in data
        assert data.get("wifi_ssid") == "HomeNet"
        code, _, text = rig.board.get("/api/v1/telegram")
        assert code == 503 and b"no current meter reading" in text
        listener.join(10)
        assert went_empty(events), events[-5:]

        # plugged back: the tail of a telegram arrives alone (dropped), then whole telegrams again
        wait_for(lambda: rig.status()["fresh"], OUT_PERIODS + 4, "readings after the cable is back")
        _, rows, _ = page_rows(rig)
        assert rows["Power Consumed"] == "2.673 kW"
        wait_for(lambda: "telegrams arrive again" in rig.board.log_text(), 3, "the log line of the return")
        log = rig.board.log_text()
        assert log.count("No telegram from the meter") == 1, log   # once, not every second of silence
        assert rig.status()["silence"] is None and "No telegram" not in rig.board.get("/")[2].decode()
        st = rig.status()
        assert st["p1"]["crc_errors"] == 0 and st["telegrams"] == st["p1"]["accepted"] > before
        assert st["p1"]["truncated"] + st["p1"]["garbage_bytes"] >= 1  # the cut telegram was not taken
        code, body = rig.board.get_json("/api/plug/v1/reading")
        assert code == 200
        assert rig.source.expected[body["meter_ts"]]["import_wh"][1] == body["import_wh"]["t2"]
        snapshot = [
            json.loads(d) for k, d in read_events(rig.board.port, 2, lambda ev: len(ev) >= 15) if k == "state"
        ]
        assert {"id": "sensor-power_consumed", "state": "2.673 kW", "value": 2.673} in [
            {k: x[k] for k in ("id", "state", "value")} for x in snapshot]
