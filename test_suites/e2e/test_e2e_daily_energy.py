"""Manual 5: Daily Energy restarts at local midnight, by the meter's clock (time-scaled on the rig).

The rig's clock (and with it the meter's) jumps to 23:59 local; the plug's appliance runs; a minute of
meter time later the meter's timestamp crosses midnight and the plug's Daily Energy starts again from 0.
"""

from __future__ import annotations

import pytest
from e2e_support import interval_s

from hil.fixtures.devices import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.needs_load]


def test_daily_energy_restarts_at_local_midnight_on_the_meters_clock(
        rig, smartplugs, instruments, p1, measure, step):
    plug = smartplugs["plug3"]
    load = instruments["load"]
    load.set_mode("CP", 2000)
    load.input_on()
    plug.set_relay(True)
    with step("the meter's clock jumps to 23:59:10 local"):
        midnight = p1.jump_to_local(23, 59, 10) + 50
        wait_until(lambda: plug.status()["meter_reading"], lambda r: r is not None and r[0] >= midnight - 50,
                   10.0, "plug3 reads the meter at 23:59", [plug])
    day_before = plug.status()["daily_day"]
    with step("before midnight the appliance's energy adds up"):
        s = wait_until(plug.status, lambda s: s["daily_mwh"] > 500, 10.0, "Daily Energy above 0.5 Wh", [plug])
        assert s["daily_day"] == day_before
        before_mwh = s["daily_mwh"]
    with step("the meter's clock passes midnight: Daily Energy restarts from zero"):
        s = wait_until(plug.status, lambda s: s["daily_day"] == day_before + 1, interval_s(rig) + 10,
                       "a new local day on the plug", [plug])
        assert s["meter_reading"][0] >= midnight
        measure("Daily Energy just after midnight", s["daily_mwh"] / 1000, "Wh", low=0,
                high=min(before_mwh / 1000, 2000 * 3 / 3600),
                docs="restarted from 0 at 00:00 local: at most 3 host seconds of 2 kW since")
    with step("and counts again"):
        s2 = wait_until(plug.status, lambda x: x["daily_mwh"] > s["daily_mwh"], 5.0, "Daily Energy grows",
                        [plug])
        assert s2["daily_day"] == day_before + 1
        assert plug.state("sensor", "daily_energy").endswith(" kWh")
