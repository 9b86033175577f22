"""A rig held through a labgrid place: the short end-to-end checks that every path through it works.

Run with ``--rig-place NAME|key=value,...`` (docs/lab.md); skipped without one. The P1 telegrams come
from this process's emulator and reach the remote SmartMeter through the place's ``p1`` line (ser2net,
RFC 2217); the boards answer at the place's HTTP addresses; the PDU at its SCPI address.
"""

from __future__ import annotations

import pytest

from hil.fixtures.devices import wait_until

pytestmark = [pytest.mark.e2e]


def test_the_remote_meter_reads_the_telegrams_written_through_the_place(rig, smartmeter, world, step):
    world.pv(0)
    for watts in (1234, 2345):
        world.base(watts)
        wait_until(
            lambda: smartmeter.data().get("active_power_w"),
            lambda w, x=watts: w is not None and abs(w - x) <= 25,
            15.0,
            f"the meter reports the household's {watts} W",
            [smartmeter],
        )


def test_the_remote_plug_is_connected_through_the_meter_and_its_pdu_outlet_switches_it(
    rig, smartplug, instruments, step
):
    wait_until(smartplug.connected, bool, 20.0, "plug1 connected to the meter the place feeds", [smartplug])
    pdu_spec, outlet = rig.rig.outlet(smartplug.name)
    pdu = instruments[pdu_spec.name]
    with step(f"power cut through the place: {pdu_spec.name} outlet {outlet} off"):
        pdu.off(outlet)
        assert pdu.is_on(outlet) is False
        wait_until(
            lambda: rig.boards[smartplug.name].http.alive(timeout=0.5),
            lambda v: v is False,
            10.0,
            "plug1 stops answering",
            [smartplug],
        )
    with step("power back: the plug boots and answers again"):
        pdu.on(outlet)
        rig.wait_up(smartplug.name)
