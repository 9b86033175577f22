"""The emulated rig's speed on its virtual clock: simulated seconds per wall second.

One round of the benchmark runs the whole emulated rig (SmartMeter, three SmartPlugs, P1 emulator,
chips, instruments) through a 15-minute interval of rig time with a different household load each
round (every part does its ordinary work: telegrams every second, chip frames, polls, ticks). The
figure is ``extra_info["rig_s_per_wall_s"]``: how many rig seconds one wall second buys.
"""

from __future__ import annotations

import time

import pytest

from hil.rig import load_rig
from hil.rig.runtime import RigRuntime, RuntimeOptions

QUARTER_S = 900.0


@pytest.fixture(scope="module")
def rig():
    with RigRuntime(load_rig(), RuntimeOptions(clock="virtual")) as running:
        yield running


def test_quarter_hour_of_rig_time_on_the_virtual_clock(benchmark, rig):
    loads = iter(range(200, 20_000, 350))
    walls: list[float] = []
    rounds: list[int] = []

    def quarter() -> None:
        rig.world.set_base(float(next(loads)))
        r0 = rig.clock.rounds
        t0 = time.perf_counter()
        rig.clock.sleep(QUARTER_S)
        walls.append(time.perf_counter() - t0)
        rounds.append(rig.clock.rounds - r0)

    benchmark.pedantic(quarter, rounds=3, iterations=1)
    best = min(walls)
    benchmark.extra_info["rig_s_per_wall_s"] = round(QUARTER_S / best, 1)
    benchmark.extra_info["clock_rounds_per_quarter"] = max(rounds)
    assert rig.all_faults() == []
