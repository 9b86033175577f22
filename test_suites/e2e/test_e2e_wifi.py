"""A WiFi drop: the board leaves the network, the plugs cannot reach the SmartMeter, both come back."""

from __future__ import annotations

import pytest

from hil.fixtures.devices import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.needs_wifi_control, pytest.mark.rig_cost(1)]


def test_smartmeter_wifi_drop_stops_the_plugs_polls_and_both_recover(rig, smartmeter, smartplugs, step):
    plug = smartplugs["plug1"]
    wait_until(plug.connected, bool, 10.0, "plug1 Connected", [plug, smartmeter])
    with step("the SmartMeter's WiFi goes away"):
        rig.wifi_drop("meter")
    with step("the meter notices it lost the network; plug1's polls fail"):
        wait_until(lambda: smartmeter.status().get("wifi", {}).get("state"), lambda s: s == "lost", 10.0,
                   "SmartMeter WiFi state lost", [smartmeter])
        failed = plug.status()["meter"]["counters"]["failed"]
        wait_until(lambda: plug.status()["meter"]["counters"]["failed"], lambda n: n >= failed + 2, 10.0,
                   "plug1 polls fail", [plug])
    with step("WiFi back: the meter rejoins and plug1 reads it again"):
        rig.wifi_restore("meter")
        wait_until(lambda: smartmeter.status().get("wifi", {}).get("state"), lambda s: s == "joined", 15.0,
                   "SmartMeter rejoined", [smartmeter])
        ok = plug.status()["meter"]["counters"]["ok"]
        wait_until(lambda: plug.status()["meter"]["counters"]["ok"], lambda n: n >= ok + 2, 10.0,
                   "plug1 polls succeed again", [plug])
    assert plug.connected()
