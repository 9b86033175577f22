"""Soak (opt-in: ``-m soak``): peak shaving on quarter-hours, then a whole simulated day of it.

The manual's numbers: OFF 0.625 kWh, 15 min; ON 0.250 kWh (1 kW of headroom) brings the boiler back when
the house quietens down. The intervals end on the meter's quarter-hours (:00, :15, :30, :45), where the
capacity tariff measures.
"""

from __future__ import annotations

import pytest
from e2e_support import trace

pytestmark = [pytest.mark.e2e, pytest.mark.soak, pytest.mark.timeout(1800)]


def test_manual_peak_shaving_on_quarter_hours(rig, smartplugs, world, measure, step):
    plug = smartplugs["plug1"]
    world.rebuild("boiler", rated_w=1800).tank_c = 40.0     # a 1.8 kW boiler with a cold tank
    world.base(1500)
    world.pv(0)
    with step("plug1: OFF 0.625 kWh (2.5 kW x 1/4 h), ON 0.250 kWh, 15 min, relay on, mode on"):
        plug.configure("0.250", "0.625", 15)
        plug.set_relay(True)
        plug.set_mode(True)
    quarter = 15 * 60.0                                     # rig seconds
    with step("1.5 kW house + 1.8 kW boiler = 0.825 kWh a quarter: off"):
        off = plug.wait_decision(lambda d: d["kind"] == "switch", 3 * quarter + 30, "that switches")
        assert off["relay"] is False and off["e_wh"] > 625, trace(plug.decisions)
        assert off["boundary"] % 900 == 0, trace(plug.decisions)     # on the meter's quarter-hours
        measure("quarter energy before shaving", off["e_wh"], "Wh", low=625)
    with step("the house drops to 500 W: 0.125 kWh a quarter, under ON: the boiler comes back and stays "
              "(2.3 kW, under the cap)"):
        world.base(500)
        on = plug.wait_decision(lambda d: d["kind"] == "switch", 2 * quarter + 30, "that switches")
        assert on["relay"] is True and on["e_wh"] < 250, trace(plug.decisions)
        still = plug.wait_decisions(1, quarter + 30, after=on["boundary"])[0]
        assert still["kind"] == "keep" and still["relay"] is True, trace(plug.decisions)
        assert on["boundary"] % 900 == 0 and still["boundary"] == on["boundary"] + 900
        measure("quarter power with the boiler back", still["e_wh"] * 4, "W", high=2500)
