"""Peak Guard on the rig: two plugs keep the running quarter under a cap, shedding in priority order.

plug1 switches the boiler model (1.8 kW, a cold tank: its thermostat calls), Peak Guard priority 9 (shed
first); plug3 switches the AC electronic load (2 kW constant power), priority 1 (shed last). Both report
to the SmartMeter's coordination endpoint. The cap is 4 kW, or, when earlier tests of the session already
set this month's peak higher (1-0:1.6.0) or filled the running quarter (1-0:1.4.0), 200 W above that (the
meter's month peak cannot go down). The household draws
the cap minus 2.9 kW (1.1 kW at a 4 kW cap): with the load it fits with 0.9 kW to spare, with the boiler
too it is over the cap, so the boiler goes and the load stays. Then the household rises by 1.4 kW: the
load alone is over the cap, so it goes too. A shed appliance comes back when the quarter has room for its
minimum on time (each quarter starts with room), so the boiler runs part of every quarter and is shed in
time. Throughout, the meter's monthly peak (1-0:1.6.0 in its telegrams) stays at or under the cap. Times
are rig seconds (the one rig clock). The guard sheds at the last moment, so a shed is awaited until the
first whole quarter over the cap has ended, wherever in a quarter the step began (up to 30 rig minutes).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from hil.fixtures.devices import wait_until

# three to seven quarter-hours of rig time (where in a quarter it starts): 50-120 s on the virtual clock
pytestmark = [pytest.mark.e2e, pytest.mark.needs_load, pytest.mark.timeout(600), pytest.mark.rig_cost(22)]

CAP_W = 4000
LOAD_W = 2000
BOILER_W = 1800
GUARD = {"on": True, "min_on_s": 60, "min_off_s": 60, "max_sw_h": 12}
# a shed's own time comes from the plug's log, so looking for it every 30 rig seconds misses nothing (each
# look is an HTTP request and a probe round of the rig's clock)
SHED_LOOK_S = 30


def peak_w(telegram: bytes) -> int:
    """1-0:1.6.0 of a telegram in W (its second value: the kW with three decimals)."""
    m = re.search(rb"1-0:1\.6\.0\([0-9]{12}[SW]\)\(([0-9.]+)\*kW\)", telegram)
    assert m is not None, telegram[:400]
    return round(float(m.group(1)) * 1000)


def demand_w(telegram: bytes) -> int:
    """1-0:1.4.0 of a telegram in W: the running quarter's demand so far (the emulated meter's meaning: its
    average power since the quarter began)."""
    m = re.search(rb"1-0:1\.4\.0\(([0-9.]+)\*kW\)", telegram)
    assert m is not None, telegram[:400]
    return round(float(m.group(1)) * 1000)


def until_whole_quarter_ends(t: int) -> int:
    """Rig seconds from meter time ``t`` to the end of the first whole quarter after it, plus a reading.

    Peak Guard sheds at the last moment: a quarter already under way when the household changed may still
    fit under the cap (nothing to shed), and in the next one the shed comes only when running on would
    leave no way to stay under the cap, up to 14 minutes in. The first whole quarter at a power over the
    cap is where a shed must have happened, whatever second of the quarter the step started at.
    """
    return t - t % 900 + 2 * 900 + 10 - t


def guard_status(plug: Any) -> dict[str, Any]:
    """The plug's Peak Guard status (settings' effect, last projection, counters, decision log)."""
    return plug.http.ok_json("GET", "/api/smartplug/v1/peakguard")["status"]  # type: ignore[no-any-return]


def first_shed(status: dict[str, Any]) -> int | None:
    """Meter time of the first shed in a Peak Guard status's log, None if none."""
    times = [e["t"] for e in status["log"] if e["kind"] == "shed"]
    return min(times) if times else None


def shed_at(plug: Any) -> int | None:
    """Meter time of the plug's first shed in its Peak Guard log, None if none."""
    return first_shed(guard_status(plug))


def meter_reaches(p1: Any, t: int, timeout: float, what: str, boards: list[Any]) -> int:
    """Wait until the meter's clock shows ``t``: one look where its time says it will, not one a second."""
    return wait_until(p1.meter_time, lambda m: m >= t, timeout, what, boards,
                      next_look=lambda now: now + max(1, t - p1.meter_time()))


@pytest.fixture
def guarded(smartplugs: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """plug1 and plug3 with Peak Guard on; off again afterwards (the rig's reset does not know it)."""
    plugs = {"plug1": smartplugs["plug1"], "plug3": smartplugs["plug3"]}
    yield plugs
    for p in plugs.values():
        p.http.ok_json("PUT", "/api/smartplug/v1/peakguard", {"on": False})


def test_two_plugs_keep_the_quarter_under_the_cap_in_priority_order(
        rig, guarded, smartmeter, instruments, world, p1, measure, step):
    boiler_plug, load_plug = guarded["plug1"], guarded["plug3"]
    boiler = world.rebuild("boiler", rated_w=BOILER_W)
    boiler.tank_c = 40.0
    load = instruments["load"]
    load.set_mode("CP", LOAD_W)
    load.input_on()
    world.pv(0)
    wait_until(lambda: p1.last_telegrams(1), bool, 30, "a telegram from the meter")
    telegram = p1.last_telegrams(1)[-1]
    peak_before = peak_w(telegram)
    # the cap must be reachable: above the month's peak and above what the running quarter already holds
    # (an earlier test's load in its first minutes)
    cap = max(CAP_W, -(-max(peak_before, demand_w(telegram)) // 100) * 100 + 200)
    base = cap - LOAD_W - 900
    world.base(base)
    with step("Peak Guard on, cap %d W: plug1 (boiler) priority 9, plug3 (2 kW load) priority 1; relays on"
              % cap):
        boiler_plug.http.ok_json("PUT", "/api/smartplug/v1/peakguard", dict(GUARD, cap_w=cap, priority=9))
        load_plug.http.ok_json("PUT", "/api/smartplug/v1/peakguard", dict(GUARD, cap_w=cap, priority=1))
        boiler_plug.set_relay(True)
        load_plug.set_relay(True)
        t_on = p1.meter_time()

    with step("house + boiler + load is over the cap: the boiler is shed, the load runs on"):
        # (waits on the whole status: a failure shows the guard's last projection, counters and log)
        wait_until(lambda: guard_status(boiler_plug), lambda s: first_shed(s) is not None,
                   until_whole_quarter_ends(t_on), "plug1 sheds the boiler", [boiler_plug, load_plug],
                   poll_s=SHED_LOOK_S)
        # the SmartMeter publishes both plugs, and the boiler's plug as shed at its next report
        table = wait_until(lambda: smartmeter.http.ok_json("GET", "/api/peakguard/v1"), lambda d: d["shed"],
                           30, "the SmartMeter's table shows a shed plug", [boiler_plug, load_plug])
        assert {p["id"]: p["priority"] for p in table["plugs"]} == {
            boiler_plug.status()["name"]: 9, load_plug.status()["name"]: 1}, table
        assert table["shed"] == [boiler_plug.status()["name"]], table
        # the next whole quarter with Peak Guard at work: the load on, the boiler in the room that is left
        first = shed_at(boiler_plug)
        meter_reaches(p1, first - first % 900 + 2 * 900 + 5, 2 * 900 + 60, "the next whole quarter closed",
                      [boiler_plug])
        assert shed_at(load_plug) is None and load_plug.output_live() is True
        sheds = boiler_plug.http.ok_json("GET", "/api/smartplug/v1/peakguard")["status"]["counters"]["sheds"]
        assert sheds >= 2           # shed in the first quarter and again in the next, after running in it
        pk = peak_w(p1.last_telegrams(1)[-1])
        measure("monthly peak 1-0:1.6.0 with the boiler shed", pk, "W", high=cap,
                docs="the meter's own month peak: at or under the cap")

    with step("the house rises by 1.4 kW: the load alone is over the cap: plug3 sheds too"):
        world.base(base + 1400)
        t_rise = p1.meter_time()
        wait_until(lambda: guard_status(load_plug), lambda s: first_shed(s) is not None,
                   until_whole_quarter_ends(t_rise), "plug3 sheds the load", [boiler_plug, load_plug],
                   poll_s=SHED_LOOK_S)
        assert shed_at(boiler_plug) < shed_at(load_plug)            # priority order: 9 before 1
        t_load = shed_at(load_plug)
        assert t_load >= t_rise                                      # not before the household rose
        meter_reaches(p1, t_load - t_load % 900 + 900 + 5, 900 + 60, "the quarter of the load's shed closed",
                      [load_plug])
        pk = peak_w(p1.last_telegrams(1)[-1])
        measure("monthly peak 1-0:1.6.0 after the household rose", pk, "W", high=cap,
                docs="both appliances shed in time: the month's peak stays at or under the cap")
        assert peak_before <= pk <= cap
    log = load_plug.http.ok_json("GET", "/api/smartplug/v1/peakguard")["status"]["log"]
    why = [e["why"] for e in log if e["kind"] == "shed"][0]
    assert "cap %d.%03d kW" % (cap // 1000, cap % 1000) in why and "priority 1" in why, log
