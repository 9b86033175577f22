"""Manual 6b, self-consumption: a 2 kW appliance runs on solar surplus.

The manual's own numbers: a 2 kW appliance, 6 min interval, Threshold ON -0.200 kWh (2 kW x 1/10 h), or
-0.160 kWh when 80 % is enough; OFF 0.000 kWh: off as soon as the interval imports net energy. The
appliance is plug3's AC electronic load in constant-power mode (2 kW), set through its pyvisa driver;
what it sinks reaches plug3's metering chip and the household total. Every power is constant, so the
interval energies are exact: -250 Wh with the appliance off (2.5 kW surplus), -50 Wh with it on.
"""

from __future__ import annotations

import pytest
from e2e_support import decision_timeout, kwh, trace, wh_per_interval

pytestmark = [pytest.mark.e2e, pytest.mark.needs_load, pytest.mark.rig_cost(17)]

APPLIANCE_W = 2000
BASE_W = 500
PV_W = 3000
INTERVAL = 6


def switch(d):
    return d["kind"] == "switch"


@pytest.mark.parametrize("share", [1.0, 0.8], ids=["full-surplus", "80-percent"])
def test_self_consumption_runs_the_appliance_on_surplus_and_stops_when_it_imports(
        rig, smartplugs, instruments, world, measure, step, share):
    plug = smartplugs["plug3"]
    load = instruments["load"]
    with step("AC load on plug3: constant power 2 kW, input on"):
        load.set_mode("CP", APPLIANCE_W)
        load.input_on()
    world.base(BASE_W)
    world.pv(PV_W)                                                  # 2.5 kW surplus
    on_wh = -wh_per_interval(APPLIANCE_W * share, INTERVAL)         # -200 / -160 Wh
    with step(f"plug3: ON {kwh(on_wh)} kWh, OFF 0.000 kWh, {INTERVAL} min, SmartMeter Mode on"):
        plug.configure(kwh(on_wh), "0.000", INTERVAL, mode=True)

    with step("2.5 kW injected for a whole interval: switch on"):
        on = plug.wait_decision(switch, decision_timeout(rig, 3, INTERVAL), "that switches")
        assert on["relay"] is True and on["e_wh"] < on_wh, trace(plug.decisions)
        measure("interval energy before switching on", on["e_wh"], "Wh", low=-251, high=-249,
                docs="500 W house - 3 kW PV over 6 min = -250 Wh (constant powers: exact to the Wh)")

    with step("running on the surplus: still injecting 0.5 kW, the appliance stays on"):
        kept = plug.wait_decisions(1, decision_timeout(rig, 1, INTERVAL), after=on["boundary"])[0]
        assert kept["kind"] == "keep" and kept["relay"] is True, trace(plug.decisions)
        measure("interval energy while running on surplus", kept["e_wh"], "Wh", low=-51, high=-49,
                docs="500 W house + 2 kW appliance - 3 kW PV over 6 min = -50 Wh")
        reading = load.measure()
        measure("AC load power", reading.watts, "W", low=APPLIANCE_W * 0.99, high=APPLIANCE_W * 1.01,
                kind="consistency", docs="the emulated load reads back its own setpoint")
        plug_w = plug.power_w()
        assert plug_w is not None
        measure("plug3 power reading", plug_w, "W", low=APPLIANCE_W * 0.98, high=APPLIANCE_W * 1.02,
                marginal_low=APPLIANCE_W * 0.99, marginal_high=APPLIANCE_W * 1.01)

    with step("a cloud: PV 1 kW, the interval imports -> off"):
        world.pv(1000)
        off = plug.wait_decision(switch, decision_timeout(rig, 2, INTERVAL), "that switches")
        assert off["relay"] is False and off["e_wh"] > 0, trace(plug.decisions)
    assert plug.output_live() is False
