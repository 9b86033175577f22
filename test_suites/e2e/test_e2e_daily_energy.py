"""Manual 5 on a simulated midnight: a jump to 23:59:50 reaches every part at once, Daily Energy restarts.

The rig's clock jumps to 23:59:50 local (every part runs through the jump in strides: the plugs keep
reading the meter, nothing disconnects). At that instant the rig, the world, the meter emulator's clock
and the SmartMeter board's own clock agree (its reading is 0 s old); the plugs stay Connected and
follow the meter's day. plug3's appliance (its AC load, 2 kW) runs: the plug's chip counts the same rig
seconds as everyone else (2 kW x the rig time, to a rig second). When the meter's timestamp crosses
midnight, every plug's Daily Energy starts again from 0, by the meter's clock.
"""

from __future__ import annotations

import pytest

from firmware.timebase import local_day
from hil.fixtures.devices import wait_until
from hil.fixtures.record import Declared

pytestmark = [pytest.mark.e2e, pytest.mark.needs_load, pytest.mark.rig_cost(23)]

APPLIANCE_W = 2000


@pytest.mark.measures(
    Declared("SmartMeter reading age at the jump's end", "s", low=0.0, high=0.0, kind="consistency",
             docs="the board's own ticks_ms is the rig's clock: the telegram of that instant is 0 s old"),
    Declared("plug3's energy over the last seconds of the day minus 2 kW x rig time", "Wh", low=-0.6,
             high=0.6, docs="within a rig second of 2 kW: the plug's chip and the rig count the same time"),
    Declared("Daily Energy just after midnight", "Wh", low=0.0, high=APPLIANCE_W * 7 / 3600,
             docs="restarted from 0 at 00:00 local: at most a poll and a tick of 2 kW since"),
)
def test_a_jump_to_2359_50_reaches_every_part_and_daily_energy_restarts_at_midnight(
        rig, smartmeter, smartplugs, instruments, p1, world, measure, step):
    plug = smartplugs["plug3"]
    load = instruments["load"]
    with step("plug3's appliance on: 2 kW"):
        load.set_mode("CP", APPLIANCE_W)
        load.input_on()
        plug.set_relay(True)
    with step("the rig's clock jumps to 23:59:50 local"):
        target = p1.jump_to_local(23, 59, 50)
        midnight = target + 10
        energy0 = plug.status()["energy_mwh"]
    with step("at that instant: rig, world, meter emulator and the SmartMeter board agree"):
        assert rig.now() == target
        assert world.status()["t"] == target
        assert p1.meter_time() == target
        status, reading = smartmeter.reading()
        assert status == 200 and reading["meter_ts"] == target, reading
        measure("SmartMeter reading age at the jump's end", reading["age_s"])
    with step("the plugs went through the jump Connected and follow the meter's day"):
        for each in smartplugs.values():
            s = wait_until(each.status, lambda s: s["meter_reading"] and s["meter_reading"][0] >= target,
                           6.0, f"{each.name} reads the meter at 23:59:50", [each])
            assert s["connected"] is True and s["failsafe"] is False, s
            assert s["daily_day"] == local_day(target), s
    day_before = local_day(target)
    with step("the appliance's energy adds up to the last second of the day"):
        rig.clock.sleep_until(midnight - 1)
        s = plug.status()
        assert s["daily_day"] == day_before and s["daily_mwh"] > 0
        expected_wh = APPLIANCE_W * (rig.now() - target) / 3600
        measure("plug3's energy over the last seconds of the day minus 2 kW x rig time",
                (s["energy_mwh"] - energy0) / 1000 - expected_wh)
    with step("the meter's clock passes midnight: Daily Energy restarts from zero"):
        s = wait_until(plug.status, lambda s: s["daily_day"] == day_before + 1, 30,
                       "a new local day on the plug", [plug])
        assert s["meter_reading"][0] >= midnight
        measure("Daily Energy just after midnight", s["daily_mwh"] / 1000)
        assert local_day(p1.meter_time()) == day_before + 1
    with step("and counts again; every plug is in the new day"):
        s2 = wait_until(plug.status, lambda x: x["daily_mwh"] > s["daily_mwh"], 5.0, "Daily Energy grows",
                        [plug])
        assert s2["daily_day"] == day_before + 1
        assert plug.state("sensor", "daily_energy").endswith(" kWh")
        for each in smartplugs.values():
            wait_until(lambda p=each: p.status()["daily_day"], lambda d: d == day_before + 1, 6.0,
                       f"{each.name} in the new day", [each])
