"""SmartMeter settings in flash: they survive kill -9 at any instant; a corrupt file gives defaults and a
logged error, never a crash loop."""

from __future__ import annotations

import random
import threading

from smartmeter_rig import MeterRig, wait_for


def test_kill_and_restart_keeps_settings_and_wifi(tmp_path) -> None:
    with MeterRig(tmp_path) as rig:
        rig.start()
        assert rig.board.put_json("/api/smartmeter/v1/settings", {"stale_s": 7}) == (
            200,
            {"stale_s": 7, "p1_line": "auto"},
        )
        port = rig.board.port
        rig.board.restart(hard=True)  # SIGKILL: a power cut
        assert rig.board.port == port
        assert rig.board.get_json("/api/smartmeter/v1/settings") == (200, {"stale_s": 7, "p1_line": "auto"})
        st = wait_for(lambda: (s := rig.status())["fresh"] and s["wifi"]["state"] == "joined" and s, 5,
                      "readings and WiFi after the restart")
        assert st["stale_s"] == 7 and st["storage_errors"] == 0
        assert st["wifi"]["state"] == "joined" and st["wifi"]["ap"] is False  # credentials survived too


def test_kill_at_any_instant_during_writes_leaves_old_or_new(tmp_path) -> None:
    rng = random.Random(4)
    with MeterRig(tmp_path) as rig:
        rig.start()
        written: set[int] = {30}
        saved = [0]
        for cycle in range(3):
            stop = threading.Event()

            def writer(stop: threading.Event = stop) -> None:
                n = 0
                while not stop.is_set():
                    n += 1
                    value = 10 + n % 50
                    written.add(value)
                    try:
                        if (
                            rig.board.put_json("/api/smartmeter/v1/settings", {"stale_s": value}, timeout=2)[
                                0
                            ]
                            == 200
                        ):
                            saved[0] += 1
                    except OSError:
                        return  # the board was killed under us

            t = threading.Thread(target=writer)
            goal = saved[0] + rng.randint(1, 8)  # the kill comes after this many saves, the next under way
            t.start()
            wait_for(lambda g=goal: saved[0] >= g, 20, f"{goal} saved settings")
            rig.board.kill()
            stop.set()
            t.join(5)
            rig.board.start()
            code, settings = rig.board.get_json("/api/smartmeter/v1/settings")
            assert code == 200 and settings["stale_s"] in written, (cycle, settings)
            st = rig.status()
            assert st["storage_errors"] == 0, rig.board.log_tail()
        assert "storage:" not in rig.board.log_text()  # no corrupt, partial or recovered file ever


def test_corrupt_settings_give_defaults_and_a_logged_error(tmp_path) -> None:
    with MeterRig(tmp_path) as rig:
        rig.flash.mkdir(parents=True, exist_ok=True)
        (rig.flash / "smartmeter.json").write_text('{"stale_s": 7, "p1_li')  # cut mid-write
        (rig.flash / "wifi.json").write_bytes(b"\xff\xfe garbage")
        rig.start()
        assert rig.board.get_json("/api/smartmeter/v1/settings") == (200, {"stale_s": 30, "p1_line": "auto"})
        st = rig.status()
        assert st["storage_errors"] == 2
        log = rig.board.log_text()
        assert "smartmeter.json: expected a JSON object" in log and "wifi.json" in log
        assert (rig.flash / "smartmeter.json.bad").is_file()
        # no WiFi credentials any more: the access point and its portal, and the meter is still read
        assert st["wifi"]["ap"] is True
        _, _, page = rig.board.get("/")
        assert b"WiFi Settings" in page
        n = wait_for(lambda: (s := rig.status())["fresh"] and s["telegrams"], 5, "readings")
        wait_for(lambda: rig.status()["telegrams"] >= n + 2, 5, "two more telegrams")  # it runs on
        assert rig.board.alive and rig.board.starts == 1  # no crash, no loop
        rig.board.restart()
        assert rig.status()["storage_errors"] == 0  # the bad file was put aside: the next boot is clean
