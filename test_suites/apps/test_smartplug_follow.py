"""A SmartPlug follows the SmartMeter and switches at the interval boundary: the whole chain as processes.

P1 emulator (a household: 200 W base load plus the plug's 2 kW appliance while the plug's relay line is
1, read back from the rig's GPIO file: the loop is closed) -> pty -> SmartMeter board process -> loopback
HTTP (found by mDNS, zeroconf on loopback) -> SmartPlug board process -> relay line.

The meter runs ten times faster than real time (time_scale 0.1): one telegram every 5 meter seconds, a
1-minute interval lasts 6 s. The plug polls every 0.5 s (5 meter seconds), well inside the controller's
30-meter-second gap limit. Thresholds: ON 0.005 kWh, OFF 0.030 kWh. Relay off: E = 200 W x 1 min =
3.3 Wh < 5 Wh -> on. Relay on: E = 2.2 kW x 1 min = 36.7 Wh > 30 Wh -> off.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from smartplug_rig import NETWORK, plug_board, provision, relay_line, state, status, wait_for

from firmware.timebase import iso_utc, local_to_utc
from hil.board_process import BoardProcess
from hil.emulators.p1.profiles import get_profile
from hil.emulators.p1.source import TelegramSource, new_meter
from hil.emulators.p1.writer import P1Writer

BASE_W = 200
APPLIANCE_W = 2000
T0 = local_to_utc(2024, 1, 15, 10, 6, 45, None, 60)  # meter clock at the first telegram: 10:06:45 local
TIME_SCALE = 0.1
PERIOD_S = 5


def test_plug_follows_the_meter_and_switches_at_the_boundary(tmp_path: Path) -> None:
    suffix = "-" + uuid.uuid4().hex[:8]        # this rig's mDNS names: parallel rigs stay apart
    plug = plug_board(tmp_path, meter={"address": "", "poll_s": 0.5}, mdns=True, mdns_suffix=suffix)
    (plug.flash / "settings.json").write_text(json.dumps(
        {"v": 1, "on_wh": 5, "off_wh": 30, "interval_min": 1, "mode": True, "failsafe_n": 4,
         "failsafe_on": False}), encoding="utf-8")
    gpio = relay_line(plug)

    drawn: dict[int, int] = {}  # meter second a telegram closes -> the watts the meter integrated up to it

    def load(t: int) -> dict[str, Any]:
        on = gpio.read("relay") == 1
        drawn[t] = BASE_W + (APPLIANCE_W if on else 0)
        return {"import_w": drawn[t], "export_w": 0}

    def registered_wh(start: int) -> float:
        """What the meter registered over the minute from ``start``: its steps as it drew them."""
        return sum(w * PERIOD_S for t, w in drawn.items() if start < t <= start + 60) / 3600

    profile = get_profile("emucs17-3p")
    source = TelegramSource(profile, new_meter(profile, T0), load, period_s=PERIOD_S)
    writer = P1Writer(source, None, time_scale=TIME_SCALE)
    meter = BoardProcess("smartmeter", provision(tmp_path / "meter"), p1=writer.connect_to, networks=NETWORK,
                         mdns=True, mdns_suffix=suffix)
    try:
        meter.start()
        plug.start()
        assert gpio.read("relay") == 0
        # the plug finds the SmartMeter by mDNS (it answers 503 until the first telegram); then the meter runs
        wait_for(lambda: status(plug)["meter"]["address"], lambda a: a == f"127.0.0.1:{meter.port}", 15,
                 "the plug resolves smartmeter.local", plug)
        writer.start()
        decisions: list[dict[str, Any]] = []
        relay_seen: list[int | None] = [0]

        def watch() -> list[dict[str, Any]]:
            s = status(plug)
            d = s["last_decision"]
            if d is not None and (not decisions or decisions[-1] != d):
                decisions.append(d)
            r = gpio.read("relay")
            if r != relay_seen[-1]:
                relay_seen.append(r)
            return decisions

        wait_for(watch, lambda ds: len(ds) >= 3, 40, "three boundaries after the first reading", plug,
                 poll_s=0.1)
        s = status(plug)
        assert s["meter"]["source"] == "mdns" and s["meter"]["counters"]["resolved"] >= 1
        assert state(plug, "text_sensor", "smartmeter_status") == "Connected"
    finally:
        plug.kill()
        meter.kill()
        writer.stop()

    b1 = local_to_utc(2024, 1, 15, 10, 7, 0, None, 60)
    by_boundary = {d["boundary"]: d for d in decisions}
    first, on, off = (by_boundary.get(b1 + 60 * k) for k in range(3))
    trace = [(iso_utc(d["boundary"]), d["kind"], d["e_wh"], d["relay"]) for d in decisions]
    # 10:06:45 -> 10:07:00 is not a whole interval: the first boundary only starts the measurement
    assert first is not None and first["kind"] == "measured" and first["relay"] is False, trace
    # 10:07 -> 10:08 with the relay off: E = 200 W x 1 min = 3.3 Wh < ON 5 Wh -> on
    assert on is not None and on["kind"] == "switch" and on["before"] is False and on["relay"] is True, trace
    assert 3 <= on["e_wh"] <= 4, trace
    # 10:08 -> 10:09 with the appliance on: E = 2.2 kW x 1 min = 36.7 Wh > OFF 30 Wh -> off
    assert off is not None and off["kind"] == "switch" and off["relay"] is False, trace
    # the plug's E is what the meter registered (to its 1 Wh registers), not 36.7 Wh exactly: the appliance
    # draws from the first telegram after the relay closed, a period or two into the minute depending on
    # when the plug polled (one telegram late: 34 Wh)
    assert abs(off["e_wh"] - registered_wh(b1 + 60)) <= 1, (trace, registered_wh(b1 + 60))
    for d in (first, on, off):
        # the switch happens on the first reading at or after the boundary (one telegram / poll later)
        assert 0 <= d["t"] - d["boundary"] <= 10, trace
    assert relay_seen[:3] == [0, 1, 0], relay_seen
