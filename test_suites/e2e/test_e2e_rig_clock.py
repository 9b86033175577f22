"""The rig's one clock, seen from the outside: every part counts the same seconds.

- Energy: plug1's boiler runs (no household, no PV, the other plugs off), so the meter's import is the
  boiler's energy. Over a simulated hour (a day with ``-m soak``) the meter's registers, plug1's own
  energy counter (its CSE7766's CF pulses), the chip emulator's pulse count and the power analyzer's
  integrator agree to the watt-hour: one rig, one time, whatever the host's load.
- A jump to 23:59:50 reaching every part at once: test_e2e_daily_energy.py (one simulated midnight).
"""

from __future__ import annotations

import math

import pytest

from hil.fixtures.record import Declared

pytestmark = [pytest.mark.e2e, pytest.mark.needs_analyzer, pytest.mark.rig_cost(2)]

WH = 3600.0


def _chip_wh(rig, plug: str) -> float:
    chip = rig.chips[plug].chip
    return chip.pulses * chip.coef.p / 1e6 / WH


@pytest.mark.parametrize("hours", [pytest.param(1, id="hour"),
                                   pytest.param(24, id="day", marks=pytest.mark.soak)])
@pytest.mark.measures(
    Declared("plug1 energy - meter energy", "Wh", low=-1.0, high=1.0,
             docs="the plug's chip and the meter's registers over the same rig seconds"),
    Declared("analyzer energy - meter energy", "Wh", low=-1.0, high=1.0,
             docs="the WT310E's integrator on plug1's output; the registers count whole Wh"),
    Declared("chip emulator energy - analyzer energy", "Wh", low=-0.2, high=0.2,
             docs="CF pulses (5.35 J each) against the integrator: sub-Wh agreement"),
)
def test_plug_chip_meter_and_analyzer_agree_on_an_appliances_energy(
        rig, smartplugs, instruments, p1, world, measure, step, hours):
    if rig.clock_mode != "virtual":
        pytest.skip("exact agreement needs the virtual clock (realtime: see docs/rig-clock.md)")
    plug = smartplugs["plug1"]
    analyzer = instruments[rig.rig.wired("plug1.output", "power_analyzer").name]
    world.base(0)
    world.pv(0)
    world.appliance("boiler").tank_c = 35.0            # a cold tank: the thermostat calls for a while
    plug.set_relay(True)
    rig.clock.sleep_until(math.ceil(rig.now()) + 2)    # on a whole second: the meter's telegram is now
    with step("start: meter registers, plug1's energy, the chip's pulses; analyzer integrating"):
        analyzer.integration_reset()
        analyzer.integration_start()
        meter0 = p1.registers_wh()[0]
        plug0 = plug.status()["energy_mwh"] / 1000
        chip0 = _chip_wh(rig, "plug1")
        t0 = rig.now()
    with step(f"{hours} simulated hour(s) of the boiler (the rig runs through them in strides)"):
        rig.jump(hours * 3600)
    with step("end: the same readings"):
        analyzer.integration_stop()
        assert rig.now() == t0 + hours * 3600
        meter_wh = p1.registers_wh()[0] - meter0
        plug_wh = plug.status()["energy_mwh"] / 1000 - plug0
        chip_wh = _chip_wh(rig, "plug1") - chip0
        analyzer_wh = analyzer.energy_wh()
    assert meter_wh > 100 * hours, (meter_wh, "the boiler should have heated")
    measure("plug1 energy - meter energy", plug_wh - meter_wh, docs=f"meter {meter_wh} Wh")
    measure("analyzer energy - meter energy", analyzer_wh - meter_wh, docs=f"analyzer {analyzer_wh:.2f} Wh")
    measure("chip emulator energy - analyzer energy", chip_wh - analyzer_wh, docs=f"chip {chip_wh:.2f} Wh")
