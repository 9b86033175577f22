"""Manual 6, equal thresholds (the "simplified configuration") and a manual toggle in SmartMeter Mode.

Equal thresholds: with Threshold ON = Threshold OFF the plug adds C, its own energy over the last whole
interval it was on, before deciding to switch on again, so one threshold does not flap. The appliance is
plug3's AC load (2 kW), the house draws 200 W. Relay off: E = 3.3 Wh per minute; relay on: 36.7 Wh.
The plug's chip counts host time, so on a rig running S times faster than real time its C for one ON
interval is 2 kW x 1 min / S. The threshold T sits between E (off) and E (off) + C, so the first
switch-on happens (C unknown: 0), the switch-off happens (36.7 Wh > T), and then C keeps it off.
"""

from __future__ import annotations

import pytest
from e2e_support import decision_timeout, interval_s, kwh, trace, wh_per_interval

from hil.fixtures.devices import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.needs_load]

APPLIANCE_W = 2000
BASE_W = 200


def test_equal_thresholds_count_the_plugs_own_energy_and_do_not_flap(
        rig, smartplugs, instruments, world, measure, step):
    plug = smartplugs["plug3"]
    load = instruments["load"]
    load.set_mode("CP", APPLIANCE_W)
    load.input_on()
    world.base(BASE_W)
    world.pv(0)
    e_off = wh_per_interval(BASE_W)                                  # 3.3 Wh
    c_expected_wh = APPLIANCE_W * interval_s(rig) / 3600             # the plug's own energy in one interval
    threshold = round(e_off + c_expected_wh / 2)
    assert e_off < threshold < e_off + c_expected_wh < wh_per_interval(BASE_W + APPLIANCE_W)
    with step(f"plug3: ON = OFF = {kwh(threshold)} kWh, 1 min, SmartMeter Mode on"):
        plug.configure(kwh(threshold), kwh(threshold), 1, mode=True)

    with step("house alone under the threshold, C unknown yet: on"):
        ds = plug.wait_decisions(3, decision_timeout(rig, 3))
        on = [d for d in ds if d["kind"] == "switch" and d["relay"]]
        assert on and on[0]["c_mwh"] == 0, trace(ds)

    with step("house + appliance over the threshold: off"):
        ds = plug.wait_decisions(2, decision_timeout(rig, 2), after=on[0]["boundary"])
        off = [d for d in ds if d["kind"] == "switch" and not d["relay"]]
        assert off, trace(plug.decisions)

    with step("off again: E + C is above the threshold, so it stays off (no flapping)"):
        kept = plug.wait_decisions(2, decision_timeout(rig, 2), after=off[0]["boundary"])
        assert all(d["kind"] == "keep" and d["relay"] is False for d in kept), trace(plug.decisions)
        c_wh = kept[0]["c_mwh"] / 1000
        measure("C, the plug's own energy over its last ON interval", c_wh, "Wh",
                low=c_expected_wh * 0.85, high=c_expected_wh * 1.15,
                docs="2 kW over one interval of host time (the plug's chip runs in host time)")
        # the interval in which it switched off still holds a few seconds of the appliance; the next is clean
        clean = kept[-1]
        assert clean["e_wh"] < threshold < clean["e_wh"] + clean["c_mwh"] / 1000, trace(plug.decisions)


def test_manual_toggle_in_smartmeter_mode_holds_until_the_next_boundary_overrides_it(
        rig, smartplugs, instruments, world, step):
    plug = smartplugs["plug3"]
    load = instruments["load"]
    load.set_mode("CP", APPLIANCE_W)
    load.input_on()
    world.base(300)
    world.pv(0)
    with step("plug3: ON 0.000 kWh (never on by itself at 300 W), OFF 0.020 kWh, 1 min, mode on"):
        plug.configure("0.000", "0.020", 1, mode=True)
    first = plug.wait_decisions(1, decision_timeout(rig, 1))[0]
    assert first["relay"] is False, trace(plug.decisions)

    with step("Relay switched on by hand, right after a boundary"):
        plug.set_relay(True)
        wait_until(plug.output_live, bool, 1.0, "plug3 output live at once", [plug])
        assert plug.relay() is True
    with step("it stays on until the next boundary, whose decision switches it off (E > OFF)"):
        ds = plug.wait_decisions(2, decision_timeout(rig, 2), after=first["boundary"])
        decided = [d for d in ds if d["kind"] in ("switch", "keep")]
        assert decided and decided[0]["before"] is True, trace(plug.decisions)
        assert decided[0]["kind"] == "switch" and decided[0]["relay"] is False, trace(plug.decisions)
        assert decided[0]["e_wh"] > 20, trace(plug.decisions)
    assert plug.output_live() is False
    log = plug.status()["log"]
    assert any("by hand" in line for line in log), log
