"""Manual 5: Daily Energy restarts at local midnight, by the meter's clock, on a simulated midnight.

The rig's clock jumps to 23:59:10 local (every part runs through the jump in strides: the plugs keep
reading the meter); the plug's appliance (plug3's AC load, 2 kW) runs; when the meter's timestamp
crosses midnight the plug's Daily Energy starts again from 0. With one clock the plug's chip and the
meter count the same seconds: 50 s of 2 kW before midnight are 27.8 Wh on the plug.
"""

from __future__ import annotations

import pytest

from hil.fixtures.devices import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.needs_load]


def test_daily_energy_restarts_at_local_midnight_on_the_meters_clock(
        rig, smartplugs, instruments, p1, measure, step):
    plug = smartplugs["plug3"]
    load = instruments["load"]
    with step("the rig's clock jumps to 23:59:10 local"):
        midnight = p1.jump_to_local(23, 59, 10) + 50
        wait_until(lambda: plug.status()["meter_reading"], lambda r: r is not None and r[0] >= midnight - 50,
                   10.0, "plug3 reads the meter at 23:59", [plug])
    day_before = plug.status()["daily_day"]
    with step("2 kW on plug3 from 23:59:10; before midnight the appliance's energy adds up"):
        load.set_mode("CP", 2000)
        load.input_on()
        plug.set_relay(True)
        start_mwh = plug.status()["energy_mwh"]
        t_on = rig.now()
        rig.clock.sleep_until(midnight - 5)
        s = plug.status()
        assert s["daily_day"] == day_before and s["daily_mwh"] > 0
        expected_wh = 2000 * (rig.now() - t_on) / 3600
        measure("plug3's energy before midnight minus 2 kW x rig time", (s["energy_mwh"] - start_mwh) / 1000
                - expected_wh, "Wh", low=-0.6, high=0.6,
                docs=f"{expected_wh:.1f} Wh expected; within one rig second of 2 kW: the plug's chip and "
                     "the rig count the same seconds")
    with step("the meter's clock passes midnight: Daily Energy restarts from zero"):
        s = wait_until(plug.status, lambda s: s["daily_day"] == day_before + 1, 30,
                       "a new local day on the plug", [plug])
        assert s["meter_reading"][0] >= midnight
        measure("Daily Energy just after midnight", s["daily_mwh"] / 1000, "Wh", low=0,
                high=2000 * 7 / 3600, docs="restarted from 0 at 00:00 local: at most a poll and a tick since")
    with step("and counts again"):
        s2 = wait_until(plug.status, lambda x: x["daily_mwh"] > s["daily_mwh"], 5.0, "Daily Energy grows",
                        [plug])
        assert s2["daily_day"] == day_before + 1
        assert plug.state("sensor", "daily_energy").endswith(" kWh")
