"""A plug's power cut (its PDU outlet switched off and on): relay and settings come back from flash.

SPEC: settings survive reboot and power loss; after boot the relay state is restored from flash (a
reboot must not switch an appliance on or off by itself). While the supply is off the appliance has
no power at all, and the household total shows it.
"""

from __future__ import annotations

import pytest

from hil.fixtures.devices import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.needs_pdu, pytest.mark.rig_cost(1)]


def test_plug_power_cut_restores_relay_and_settings(rig, smartplugs, instruments, world, measure, step):
    plug = smartplugs["plug1"]
    boiler = world.appliance("boiler")
    boiler.tank_c = 45.0
    world.base(300)
    world.pv(0)
    with step("plug1: ON -0.100 kWh, OFF 0.300 kWh, 7 min, relay on, SmartMeter Mode on"):
        plug.configure("-0.100", "0.300", 7)
        plug.set_relay(True)
        plug.set_mode(True)
    wait_until(plug.output_live, bool, 2.0, "plug1 output live", [plug])
    before = plug.settings()
    wait_until(lambda: world.status()["plugs"]["plug1"]["watts"], lambda w: w > 2000, 5.0,
               "the boiler draws", [plug])

    pdu_spec, outlet = rig.rig.outlet("plug1")
    pdu = instruments[pdu_spec.name]
    with step(f"power cut: PDU {pdu_spec.name} outlet {outlet} off"):
        pdu.off(outlet)
        assert pdu.is_on(outlet) is False
        wait_until(plug.output_live, lambda v: v is False, 5.0, "plug1 output dead", [plug])
        wait_until(lambda: world.status()["plugs"]["plug1"]["watts"], lambda w: w == 0, 5.0,
                   "the boiler gets no power", [plug])
    with step("power back: PDU outlet on; the plug boots"):
        pdu.on(outlet)
        rig.wait_up("plug1")
    with step("relay restored ON from flash, settings unchanged"):
        assert plug.relay() is True
        assert plug.settings() == before
        assert plug.state("switch", "relay") == "ON"
        assert plug.state("switch", "smartmeter_mode") == "ON"
        assert plug.state("sensor", "threshold_on") == "-0.100 kWh"
        assert plug.state("sensor", "interval") == "7 min"
        wait_until(plug.output_live, bool, 2.0, "plug1 output live again", [plug])
        assert "restored from flash" in plug.log_since_mark()
        wait_until(lambda: world.status()["plugs"]["plug1"]["watts"], lambda w: w > 2000, 5.0,
                   "the boiler draws again", [plug])
