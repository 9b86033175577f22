"""Manual 6, equal thresholds (the "simplified configuration") and a manual toggle in SmartMeter Mode.

Equal thresholds: with Threshold ON = Threshold OFF the plug adds C, its own energy over the last whole
interval it was on, before deciding to switch on again, so one threshold does not flap. The appliance is
plug3's AC load (2 kW), the house draws 200 W, 15-minute intervals. Relay off: E = 50 Wh a quarter;
relay on: 550 Wh. C over one whole ON quarter is 2 kW x 1/4 h = 500 Wh on the plug's own chip, the same
rig time the meter counts. The threshold 0.300 kWh sits between E (off) and E (off) + C: the plug starts
on, switches off (550 Wh > 300), and then C keeps it off, where E alone would switch it on every other
interval.
"""

from __future__ import annotations

import math

import pytest
from e2e_support import decision_timeout, kwh, trace, wh_per_interval

from hil.fixtures.devices import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.needs_load, pytest.mark.rig_cost(41)]

APPLIANCE_W = 2000
BASE_W = 200
THRESHOLD_WH = 300


def test_equal_thresholds_count_the_plugs_own_energy_and_do_not_flap(
        rig, smartplugs, instruments, world, measure, step):
    plug = smartplugs["plug3"]
    load = instruments["load"]
    load.set_mode("CP", APPLIANCE_W)
    load.input_on()
    world.base(BASE_W)
    world.pv(2500)                                                   # the appliance runs on PV at first
    e_off = wh_per_interval(BASE_W)                                  # 50 Wh
    c_expected_wh = wh_per_interval(APPLIANCE_W)                     # 500 Wh
    assert e_off < THRESHOLD_WH < e_off + c_expected_wh
    with step(f"plug3: ON = OFF = {kwh(THRESHOLD_WH)} kWh, 15 min, relay on, SmartMeter Mode on"):
        plug.configure(kwh(THRESHOLD_WH), kwh(THRESHOLD_WH), 15)
        plug.set_relay(True)
        plug.set_mode(True)
    with step("with 2.5 kW of PV the interval injects: the appliance stays on for whole intervals"):
        plug.wait_decision(lambda d: d["kind"] == "keep" and d["relay"], decision_timeout(rig, 3),
                           "that keeps it on")

    with step("PV gone at the next quarter-hour: house + appliance over the threshold: off"):
        rig.clock.sleep_until(math.ceil(rig.now() / 900) * 900)      # a whole quarter without PV
        world.pv(0)
        off = plug.wait_decision(lambda d: d["kind"] == "switch", decision_timeout(rig, 2), "that switches")
        assert off["relay"] is False and off["e_wh"] > THRESHOLD_WH, trace(plug.decisions)
        measure("interval energy with the appliance on, no PV", off["e_wh"], "Wh", low=549, high=551,
                docs="200 W house + 2 kW appliance over 15 min = 550 Wh")

    with step("off: E alone is under the threshold, E + C above it: it stays off (no flapping)"):
        kept = plug.wait_decisions(2, decision_timeout(rig, 2), after=off["boundary"])
        assert all(d["kind"] == "keep" and d["relay"] is False for d in kept), trace(plug.decisions)
        clean = kept[-1]
        c_wh = clean["c_mwh"] / 1000
        measure("C, the plug's own energy over its last ON interval", c_wh, "Wh",
                low=c_expected_wh * 0.98, high=c_expected_wh * 1.02,
                marginal_low=c_expected_wh - 1, marginal_high=c_expected_wh + 1,
                docs="2 kW over one 15-min interval, on the plug's chip (2 % metering class); the rig's "
                     "one clock makes it the same quarter-hour the meter counts")
        measure("interval energy with the appliance off", clean["e_wh"], "Wh", low=49, high=51,
                docs="200 W over 15 min = 50 Wh")
        assert clean["e_wh"] < THRESHOLD_WH <= clean["e_wh"] + c_wh, trace(plug.decisions)


def test_manual_toggle_in_smartmeter_mode_holds_until_the_next_boundary_overrides_it(
        rig, smartplugs, instruments, world, step):
    plug = smartplugs["plug3"]
    load = instruments["load"]
    load.set_mode("CP", APPLIANCE_W)
    load.input_on()
    world.base(300)
    world.pv(0)
    with step("plug3: ON 0.000 kWh (never on by itself at 300 W), OFF 0.100 kWh, 15 min, mode on"):
        plug.configure("0.000", "0.100", 15, mode=True)
    first = plug.wait_decisions(1, decision_timeout(rig, 1))[0]
    assert first["relay"] is False, trace(plug.decisions)

    with step("Relay switched on by hand, right after a boundary"):
        plug.set_relay(True)
        wait_until(plug.output_live, bool, 1.0, "plug3 output live at once", [plug])
        assert plug.relay() is True
    with step("it stays on until the next boundary, whose decision switches it off (E > OFF)"):
        decided = plug.wait_decision(lambda d: d["kind"] in ("switch", "keep"), decision_timeout(rig, 2),
                                     "that decides", after=first["boundary"])
        assert decided["before"] is True, trace(plug.decisions)
        assert decided["kind"] == "switch" and decided["relay"] is False, trace(plug.decisions)
        assert decided["e_wh"] > 100, trace(plug.decisions)
    assert plug.output_live() is False
    log = plug.status()["log"]
    assert any("by hand" in line for line in log), log
