"""Peak Guard on a SmartPlug board (a real process over loopback HTTP): settings through its API and its
page rows, refusals that change nothing, settings and state kept across a power cut."""

from __future__ import annotations

import json
from pathlib import Path

from smartplug_rig import plug_board, state

PATH = "/api/smartplug/v1/peakguard"


def test_settings_api_rows_refusals_and_a_power_cut(tmp_path: Path) -> None:
    board = plug_board(tmp_path)
    with board:
        board.start()
        code, d = board.get_json(PATH)
        assert code == 200
        assert d["settings"] == {"v": 1, "on": False, "cap_w": 0, "priority": 5, "min_on_s": 300,
                                 "min_off_s": 300, "max_sw_h": 6, "load_w": 0}
        assert state(board, "switch", "peak_guard") == "OFF"
        assert state(board, "text_sensor", "peak_guard_cap") == "2.500 kW (auto: month peak, at least 2.5 kW)"
        code, d = board.put_json(PATH, {"on": True, "cap_w": 4600, "priority": 2, "min_on_s": 1200,
                                        "min_off_s": 600, "load_w": 2200})
        assert code == 200, d
        assert d["settings"]["cap_w"] == 4600 and d["status"]["on"] is True
        assert state(board, "switch", "peak_guard") == "ON"
        assert state(board, "text_sensor", "peak_guard_cap") == "4.600 kW"
        assert state(board, "text_sensor", "peak_guard_priority") == "2 (1 = shed last, 9 = shed first)"
        # without a SmartMeter: no projection yet, and the log says no switch happened
        assert state(board, "text_sensor", "peak_guard_last_decision") == "no switch yet"
        want = board.get_json(PATH)[1]["settings"]
        bad = (({"cap_w": 2000}, "expected 0 (auto"), ({"priority": 10}, "expected 1 ... 9"),
               ({"max_sw_h": 1}, "expected 2 ... 60"), ({"on": "yes"}, "expected true or false"),
               ({"cap_w": 5000, "colour": "red"}, "unknown Peak Guard setting"), ([], "expected"))
        for body, words in bad:
            code, _, answer = board.request("PUT", PATH, json.dumps(body),
                                            {"Content-Type": "application/json"})
            assert code == 400 and words.encode() in answer, (body, answer)
        assert board.get_json(PATH)[1]["settings"] == want
        assert board.request("POST", "/switch/peak_guard/toggle")[0] == 200
        assert state(board, "switch", "peak_guard") == "OFF"
        assert board.request("POST", "/switch/peak_guard/turn_on")[0] == 200
        board.kill()                       # the power cut
        board.start()
        assert board.get_json(PATH)[1]["settings"] == want
        assert json.loads((board.flash / "peakguard.json").read_text()) == want
        assert "peak guard settings" not in board.log_text()
        # a flash that refuses the write (the rig's <io>/flash_fail): 507, the change is taken back
        fail = board.flash.with_name(board.flash.name + ".io") / "flash_fail"
        fail.write_text("peakguard.json\n", encoding="utf-8")
        code, _, answer = board.request("PUT", PATH, json.dumps({"priority": 9, "on": False}),
                                        {"Content-Type": "application/json"})
        assert code == 507 and b"nothing changed" in answer, answer
        assert board.get_json(PATH)[1]["settings"] == want
        assert state(board, "switch", "peak_guard") == "ON"
        assert state(board, "text_sensor", "peak_guard_priority") == "2 (1 = shed last, 9 = shed first)"
        assert board.request("POST", "/switch/peak_guard/turn_off")[0] == 507
        assert state(board, "switch", "peak_guard") == "ON"
        fail.unlink()                      # healed: the same change is stored
        assert board.request("POST", "/switch/peak_guard/turn_off")[0] == 200
        assert json.loads((board.flash / "peakguard.json").read_text())["on"] is False
