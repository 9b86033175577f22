"""Losing the meter's data: the P1 cable pulled (Disconnected, then the fail-safe) and a meter reboot.

SPEC: SmartMeter Status turns Disconnected when no fresh reading came for 30 s; without data nothing is
decided; after N intervals without data the relay goes to its fail-safe state (default off). These
times run on the plug's own clock, which is the rig's clock like every other part's: the manual's 30 s
and N x 15 min, unscaled. A meter reboot silences the P1 line for a while: the SmartMeter drops the
telegram cut off by it and resumes; the plug voids the interval with the gap and measures the next one
before deciding again.
"""

from __future__ import annotations

import pytest
from e2e_support import decision_timeout, interval_s, trace

from hil.fixtures.devices import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.rig_cost(16)]

DISCONNECT_S = 30


def test_p1_cable_pulled_turns_the_plug_disconnected_then_fail_safe_then_back(
        rig, smartmeter, smartplugs, p1, world, measure, step):
    plug = smartplugs["plug1"]
    world.base(400)
    with step("plug1: thresholds that keep it on (ON = OFF = 10 kWh), 15 min, relay on, mode on"):
        plug.configure("10.000", "10.000", 15)
        plug.set_relay(True)
        plug.set_mode(True)
    settings = plug.settings()
    assert settings["failsafe_on"] is False
    failsafe_s = settings["failsafe_n"] * settings["interval_min"] * 60     # rig seconds
    wait_until(plug.connected, bool, 10.0, "plug1 Connected", [plug, smartmeter])
    before = smartmeter.status()["p1"]

    with step("pull the P1 cable"):
        p1.pull()
        t_pull = rig.now()
    with step("the SmartMeter stops serving a current reading"):
        wait_until(smartmeter.fresh, lambda f: not f, DISCONNECT_S + 10, "SmartMeter reading stale",
                   [smartmeter])
        status, body = smartmeter.reading()
        assert status == 503 and body["fresh"] is False, body
        # stale values are never shown as current: the row has no value
        assert smartmeter.state("sensor", "energy_consumed_tariff_1") in ("", "NA")
    with step("plug1: SmartMeter Status Disconnected"):
        wait_until(plug.connected, lambda c: not c, DISCONNECT_S + 10, "plug1 Disconnected", [plug])
        measure("time from cable pull to Disconnected", rig.now() - t_pull, "s",
                low=DISCONNECT_S - rig.poll_s - 1, high=DISCONNECT_S + rig.poll_s + 2,
                docs="30 s after the last fresh reading (polled every 5 s), seen on a 1 s grid")
        assert plug.relay() is True, "no data: no decision, the relay stays as it was"
    with step(f"fail-safe after {settings['failsafe_n']} interval(s) without data: relay off"):
        wait_until(lambda: plug.status()["failsafe"], bool, failsafe_s + interval_s(rig) + 60,
                   "plug1 fail-safe", [plug])
        measure("time from cable pull to fail-safe", rig.now() - t_pull, "s",
                low=failsafe_s - rig.poll_s - 1, high=failsafe_s + interval_s(rig) + 10,
                docs="N intervals without data, counted on the plug's own clock (the rig's)")
        assert plug.relay() is False and plug.output_live() is False

    with step("plug the cable back: Connected again, the fail-safe ends, the relay stays off"):
        p1.plug()
        wait_until(plug.connected, bool, 15.0, "plug1 Connected again", [plug, smartmeter])
        s = plug.status()
        assert s["failsafe"] is False and s["relay"] is False, s
    after = smartmeter.status()["p1"]
    assert after["truncated"] >= before["truncated"] + 1, (before, after)   # the telegram the pull cut off
    assert after["crc_errors"] == before["crc_errors"], (before, after)


def test_meter_reboot_voids_the_interval_and_the_plug_carries_on(
        rig, smartmeter, smartplugs, p1, world, step):
    plug = smartplugs["plug1"]
    world.base(400)
    minutes = 5
    with step(f"plug1: thresholds that keep it on, {minutes} min, relay on, mode on"):
        plug.configure("10.000", "10.000", minutes)
        plug.set_relay(True)
        plug.set_mode(True)
    first = plug.wait_decisions(1, decision_timeout(rig, 1, minutes))[0]
    before = smartmeter.status()["p1"]
    gaps = plug.status()["controller"]["gaps"]
    silent_s = 45.0                                         # meter seconds: longer than the 30 s gap limit
    with step("meter reboot: P1 silent for 45 meter seconds"):
        p1.reboot(silent_s)
    with step("the SmartMeter takes telegrams again after the reboot"):
        wait_until(lambda: smartmeter.status()["p1"]["accepted"], lambda a: a > before["accepted"] + 2,
                   interval_s(rig, minutes) + 10, "telegrams accepted after the reboot", [smartmeter])
        after = smartmeter.status()["p1"]
        assert after["truncated"] >= before["truncated"] + 1, (before, after)
    with step("45 s without data: the plug went Disconnected, the interval is void, the next one only "
              "measured, then decisions"):
        ds = plug.wait_decisions(3, decision_timeout(rig, 3, minutes), after=first["boundary"])
        status = plug.status()
        assert any("Disconnected" in line for line in status["log"]), status["log"]
        assert status["controller"]["gaps"] >= gaps
        kinds = [d["kind"] for d in ds]
        assert "switch" not in kinds, trace(ds)
        assert kinds[-1] == "keep", trace(ds)
        assert all(d["relay"] is True for d in ds), trace(ds)
    assert plug.connected()
