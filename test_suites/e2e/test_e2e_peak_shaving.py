"""Manual 6a, peak shaving: a boiler is switched off when the quarter-hour's energy would exceed 2.5 kW.

The manual's numbers: capacity tariff, at least 2.5 kW billed; 2.5 kW x 1/4 h = Threshold OFF 0.625 kWh,
15-minute intervals, which end on the meter's quarter-hours (:00, :15, :30, :45), where the tariff
measures. ON 0.150 kWh (600 W): the boiler comes back once the house alone uses less than that, and
stays on while house and boiler together stay under the cap (the manual: OFF - ON must exceed the
appliance's energy per interval, or it flaps). Closed loop: plug1's relay line switches the boiler model
(1.8 kW, a cold tank so its thermostat calls), whose draw reaches plug1's metering chip and the
household total in the telegrams.
"""

from __future__ import annotations

import pytest
from e2e_support import decision_timeout, kwh, trace, wh_per_interval

pytestmark = [pytest.mark.e2e, pytest.mark.rig_cost(27)]

CAP_W = 2500
BASE_HIGH_W = 1500
BASE_LOW_W = 100
BOILER_W = 1800
ON_WH = 150


def SWITCH(d):  # noqa: N802 - reads as a constant predicate
    return d["kind"] == "switch"


def test_peak_shaving_switches_the_boiler_off_above_the_cap_and_back_on_with_headroom(
        rig, smartplugs, world, measure, step):
    plug = smartplugs["plug1"]
    boiler = world.rebuild("boiler", rated_w=BOILER_W)
    boiler.tank_c = 40.0                       # a cold tank: the thermostat calls for its 1.8 kW
    world.base(BASE_HIGH_W)
    world.pv(0)
    off_wh = wh_per_interval(CAP_W)            # 625 Wh
    with step("plug1: OFF 0.625 kWh (2.5 kW x 1/4 h), ON 0.150 kWh, 15 min, relay on, SmartMeter Mode on"):
        plug.configure(kwh(ON_WH), kwh(off_wh), 15)
        plug.set_relay(True)
        plug.set_mode(True)

    with step("the house draws 1.5 kW + the 1.8 kW boiler = 0.825 kWh a quarter: over the cap -> off"):
        off = plug.wait_decision(SWITCH, decision_timeout(rig, 3), "that switches")
        assert off["relay"] is False and off["e_wh"] > off_wh, trace(plug.decisions)
        assert off["boundary"] % 900 == 0, trace(plug.decisions)       # on the meter's quarter-hours
        measure("quarter energy before shaving", off["e_wh"], "Wh", low=824, high=826,
                docs="1.5 kW house + 1.8 kW boiler over 15 min = 825 Wh (constant: exact to the Wh)")
    assert plug.output_live() is False

    with step("while the house alone is under the cap, the boiler stays off"):
        kept = plug.wait_decisions(1, decision_timeout(rig, 1), after=off["boundary"])[0]
        assert kept["kind"] == "keep" and kept["relay"] is False, trace(plug.decisions)
        measure("quarter power while shaved", kept["e_wh"] * 4, "W", low=1496, high=1504,
                docs="the boiler off: 1.5 kW, under the 2.5 kW cap")

    with step("the house drops to 100 W: headroom for the boiler -> on again"):
        world.base(BASE_LOW_W)
        on = plug.wait_decision(SWITCH, decision_timeout(rig, 2), "that switches")
        assert on["relay"] is True and on["e_wh"] < ON_WH, trace(plug.decisions)
    with step("house + boiler = 1.9 kW, under the cap: the boiler stays on"):
        still = plug.wait_decisions(1, decision_timeout(rig, 1), after=on["boundary"])[0]
        assert still["kind"] == "keep" and still["relay"] is True, trace(plug.decisions)
        assert still["boundary"] == on["boundary"] + 900, trace(plug.decisions)
        measure("quarter power with the boiler back", still["e_wh"] * 4, "W", low=1896, high=1904,
                docs="100 W house + 1.8 kW boiler")
    assert plug.output_live() is True
