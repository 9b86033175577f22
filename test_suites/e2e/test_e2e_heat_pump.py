"""Manual 7: a heat pump switched through the PowerDetector's dry contact (SG-ready input).

plug2 carries only the PowerDetector; the detector's contact releases the heat pump, which runs on its
own supply. So the plug measures the detector's coil (a watt or two) while the meter sees the heat
pump's 2.2 kW. Two different thresholds (the manual: the simplified configuration does not suit a
PowerDetector): self-consumption, ON -0.550 kWh (2.2 kW x 1/4 h), OFF 0.000 kWh, 15-minute intervals.
The contact is read through the DMM wired to it (pyvisa).
"""

from __future__ import annotations

import pytest
from e2e_support import decision_timeout, kwh, trace, wh_per_interval

from hil.fixtures.devices import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.needs_powerdetector, pytest.mark.needs_dmm,
              pytest.mark.rig_cost(13)]

HEAT_PUMP_W = 2200
BASE_W = 300


def switch(d):
    return d["kind"] == "switch"


def test_heat_pump_runs_on_surplus_through_the_powerdetector_contact(
        rig, smartplugs, smartmeter, world, contact, measure, step):
    plug = smartplugs["plug2"]
    hp = world.rebuild("heatpump", min_run_s=0, min_off_s=0)   # no compressor delays: the contact decides
    hp.zone.temp_c = 18.0                                       # a cold house: its thermostat calls
    world.base(BASE_W)
    world.pv(4000)
    assert not contact.closed()
    on_wh = -wh_per_interval(HEAT_PUMP_W)
    with step(f"plug2: ON {kwh(on_wh)} kWh, OFF 0.000 kWh, 15 min, SmartMeter Mode on"):
        plug.configure(kwh(on_wh), "0.000", 15, mode=True)

    with step("3.7 kW injected: switch on; the contact closes and releases the heat pump"):
        on = plug.wait_decision(switch, decision_timeout(rig, 3), "that switches")
        assert on["relay"] is True, trace(plug.decisions)
        wait_until(contact.closed, bool, 2.0, "PowerDetector contact closed after the relay went on", [plug])
        measure("contact resistance, closed", contact.resistance(), "ohm", low=0.0, high=0.1,
                kind="consistency", docs="the emulated contact's constant resistance, read through the DMM")

    with step("the heat pump runs on its own supply: the meter sees it, the plug sees only the coil"):
        world_hp = wait_until(lambda: world.status()["plugs"]["plug2"], lambda s: s["watts"] > 2000, 5.0,
                              "heat pump running", [plug])
        # a telegram shows the power of the period before it: measure one whose period began with the
        # heat pump already running, i.e. the second telegram after it was seen running
        fresh = wait_until(smartmeter.reading, lambda r: r[0] == 200, 5.0, "a fresh reading", [smartmeter])
        seq0 = fresh[1]["seq"]
        reading = wait_until(smartmeter.reading, lambda r: r[0] == 200 and r[1]["seq"] >= seq0 + 2, 10.0,
                             "the meter sees the heat pump's draw", [smartmeter])[1]
        measure("meter net power with the heat pump on", reading["import_w"] - reading["export_w"], "W",
                low=-1500 - 150, high=-1500 + 150, docs="300 W house + 2.2 kW heat pump - 4 kW PV")
        plug_w = wait_until(plug.power_w, lambda w: w is not None, 10.0, "plug2 power reading", [plug])
        measure("plug2 power (the detector's coil only)", plug_w, "W", low=0.0, high=5.0)
        assert world_hp["contact_closed"] is True

    with step("PV drops to 0.5 kW: the interval imports -> off; the contact opens, the heat pump stops"):
        world.pv(500)
        off = plug.wait_decision(switch, decision_timeout(rig, 2), "that switches")   # after the change
        assert off["relay"] is False, trace(plug.decisions)
        wait_until(contact.closed, lambda c: not c, 2.0, "contact open after the relay went off", [plug])
        wait_until(lambda: world.status()["plugs"]["plug2"]["watts"], lambda w: w == 0, 5.0,
                   "heat pump stopped", [plug])


def test_stuck_contact_keeps_the_heat_pump_blocked_whatever_the_relay(rig, smartplugs, world, contact, step):
    plug = smartplugs["plug2"]
    hp = world.rebuild("heatpump", min_run_s=0, min_off_s=0)
    hp.zone.temp_c = 18.0
    contact.set_fault("stuck_open")
    with step("relay on by hand with a burnt contact"):
        plug.set_relay(True)
    wait_until(plug.output_live, bool, 2.0, "plug2 output live", [plug])
    assert not contact.closed()
    status = world.status()["plugs"]["plug2"]
    assert status["contact_closed"] is False and status["watts"] <= 5.0, status
    contact.set_fault(None)
    wait_until(contact.closed, bool, 2.0, "contact closes once the fault is cleared", [plug])
