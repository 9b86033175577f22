"""Places on a real coordinator and exporter (loopback): contention, leases and the janitor, restarts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.lab.conftest import LAB_RIG, ROOT, Lab

pytestmark = pytest.mark.lab


def _session(lab: Lab, user: str):
    from hil.lab.session import LabSession

    return LabSession(lab.address, user=user)


def test_two_clients_contend_the_second_waits_then_gets_it_when_the_first_gives_it_back(lab):
    from hil.lab.resolve import serial_url
    from hil.lab.spec import PlaceSpec

    a = _session(lab, "job-a")
    try:
        lease = a.take(PlaceSpec.parse("rig-a"), timeout=20, lease_s=30)
        assert lease.place == "rig-a" and lease.owned()
        url = serial_url("p1", lease.resources["p1"])
        import serial

        with (
            serial.serial_for_url(url, timeout=5) as line,
            lab.lines["rig-a"].open(1, timeout=5) as meter_end,
        ):
            line.write(b"/telegram through the place\r\n")
            assert meter_end.readline() == b"/telegram through the place\r\n"
        b = lab.holder("rig-a")
        b.wait("connected", 20)
        deadline = time.monotonic() + 20
        while not (theirs := [r for r in a.reservations() if r["token"] != lease.token]):
            assert time.monotonic() < deadline, "the second client made no reservation"
            time.sleep(0.05)  # reservations are not streamed: ask again
        assert [r["state"] for r in theirs] == ["waiting"], theirs
        assert a.places()["rig-a"]["reservation"] == lease.token and lease.owned()
        released_at = time.time()
        assert lease.give_back() == []
        took = b.wait("took", 10)
        assert took["place"] == "rig-a"
        assert took["allocated_at"] - released_at < 1.0, (
            f"handover took {took['allocated_at'] - released_at:.2f} s"
        )
        assert not lease.owned()
    finally:
        a.close()


def test_a_sigkilled_holder_is_freed_by_the_janitor_and_the_waiter_gets_the_place_within_a_second(lab):
    from hil.lab.janitor import Janitor

    lease_s = 3.0
    dead = lab.holder("lab=a", lease_s=lease_s)
    dead_token = dead.wait("took", 20)["token"]
    waiter = lab.holder("lab=a")
    waiter.wait("connected", 20)
    janitor_session = _session(lab, "janitor")
    janitor = Janitor(janitor_session, every_s=0.5).start()
    try:
        dead.proc.send_signal(signal.SIGKILL)
        killed_at = time.time()
        took = waiter.wait("took", lease_s + 15)
        assert janitor.released, f"the janitor released nothing; errors {janitor.errors}"
        released_at, verdict = janitor.released[0]
        assert verdict.place == "rig-a" and "last beat" in verdict.reason
        assert released_at - killed_at <= lease_s + 0.5 + 2.0, (
            f"freed {released_at - killed_at:.1f} s after the kill (lease {lease_s} s, sweep 0.5 s)"
        )
        assert took["allocated_at"] - released_at < 1.0, (
            f"the waiter got the place {took['allocated_at'] - released_at:.2f} s after the janitor freed it"
        )
        tokens = {r["token"]: r["state"] for r in janitor_session.reservations()}
        assert dead_token not in tokens and tokens.get(took["token"]) == "acquired", tokens
    finally:
        janitor.stop()
        janitor_session.close()
    # the same from the command line: who holds what, and a one-shot sweep keeps a fresh lease
    wide = dict(os.environ, COLUMNS="200")
    who = subprocess.run(
        [sys.executable, "-m", "hil.cli", "lab", "who", "-c", lab.address],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=wide,
    )
    assert who.returncode == 0, who.stderr
    assert "rig-a" in who.stdout and "s ago (lease 30 s)" in who.stdout, who.stdout
    sweep = subprocess.run(
        [sys.executable, "-m", "hil.cli", "lab", "janitor", "-c", lab.address],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert sweep.returncode == 0, sweep.stderr
    assert "rig-a: keep:" in sweep.stdout and "rig-b: skip: not acquired" in sweep.stdout, sweep.stdout


def test_exporter_stopped_restarted_and_killed_place_comes_back_no_orphan_ser2net_holder_told(lab):
    from hil.lab.procs import ser2net_pids
    from hil.lab.spec import PlaceSpec

    device = lab.lines["rig-b"].names[0]
    s = _session(lab, "holder")
    try:
        lease = s.take(PlaceSpec.parse("lab=b"), timeout=20, lease_s=30)
        first = ser2net_pids(device)
        assert len(first) == 1
        for sig in (signal.SIGTERM, signal.SIGKILL):
            before = lease.resources["p1"]["port"]
            starts = lab.exporter.starts
            lab.exporter.proc.signal(sig)
            gone = s.wait_for(lambda: (p := lease.problem()) and "is gone" in p and p, 20)
            assert gone, f"the holder was not told the exporter went away ({sig.name}): {lease.events}"
            back = s.wait_for(
                lambda n=starts: lab.exporter.starts > n and (p := lease.problem()) and "moved" in p and p, 40
            )
            assert back, (
                f"the place did not come back after {sig.name}: {lease.problem()}; {lab.exporter.events}"
            )
            assert lease.owned(), "the lock must survive an exporter restart"
            now = ser2net_pids(device)
            assert len(now) == 1 and now[0] not in first, (
                f"after {sig.name}: expected one new ser2net on {device}; got {now} (before: {first})"
            )
            first = now
            lease.resources = s.place_resources(lease.place)  # the holder re-resolves
            assert lease.problem() is None
            assert lease.resources["p1"]["port"] != before
        texts = " | ".join(e for _, e in lease.events)
        assert "is gone" in texts and "is back" in texts
        assert any("exited with -9" in e for _, e in lab.exporter.events), lab.exporter.events
        lease.give_back()
    finally:
        s.close()


def test_a_holder_reconnects_after_an_exporter_is_killed_and_learns_what_moved(lab):
    from hil.lab.spec import PlaceSpec

    s = _session(lab, "holder")
    try:
        lease = s.take(PlaceSpec.parse("lab=b"), timeout=20, lease_s=30)
        before = lease.resources["p1"]["port"]
        assert lease.reconnect(60) is None and lease.reconnects == 0  # nothing to reconnect
        lab.exporter.proc.signal(signal.SIGKILL)
        gone = s.wait_for(lambda: (p := lease.problem()) and "is gone" in p and p, 20)
        assert gone, f"the holder was not told the exporter went away: {lease.events}"
        # waits on the update stream for the restarted exporter's resources (labgrid's 15 s sync)
        assert lease.reconnect(60) is None, lease.events
        assert lease.owned() and lease.problem() is None
        assert lease.resources["p1"]["port"] != before and lease.resources["p1"]["avail"]
        assert lease.reconnects == 1
        texts = [e for _, e in lease.events]
        assert any(e.startswith("reconnected after") and "moved: p1 127.0.0.1:" in e for e in texts), texts
        lease.give_back()
    finally:
        s.close()


def test_a_holder_that_does_not_wait_for_labgrids_sync_re_acquires_the_place_once_the_exporter_is_back(lab):
    from hil.lab.spec import PlaceSpec

    s = _session(lab, "holder")
    try:
        lease = s.take(PlaceSpec.parse("lab=b"), timeout=20, lease_s=30)
        before = lease.resources["p1"]["port"]
        lab.exporter.proc.signal(signal.SIGKILL)
        assert s.wait_for(lambda: (p := lease.problem()) and "is gone" in p and p, 20), lease.events
        # re-acquiring while the exporter is away would leave the place without its resources: it waits
        assert lease.reconnect(60, reacquire_after=0.1) is None, lease.events
        assert lease.owned() and lease.problem() is None
        assert set(lease.resources) == {"p1", "meter-http"}, lease.resources
        assert lease.resources["p1"]["port"] != before and lease.resources["p1"]["avail"]
        texts = [e for _, e in lease.events]
        reacquired = [e for e in texts if "re-acquiring the place" in e]
        reconnected = [e for e in texts if e.startswith("reconnected after")]
        assert len(reconnected) == 1 and len(reacquired) <= 1, texts
        lease.give_back()
    finally:
        s.close()


def test_coordinator_restart_fails_the_next_test_with_the_lost_lock_as_reason(lab, tmp_path):
    import yaml

    from hil.lab.emulated import remote_view
    from hil.rig import load_rig

    remote = tmp_path / "rig.yaml"  # the lab rig as a client sees it through a place
    remote.write_text(yaml.safe_dump(remote_view(load_rig(LAB_RIG))), encoding="utf-8")
    held, restarted = tmp_path / "held", tmp_path / "restarted"
    tests = tmp_path / "test_inner.py"
    tests.write_text(
        f"""
import time
from pathlib import Path
from pathlib import Path
from hil.lab.pytest_places import held_rig
from hil.rig import load_rig

def test_takes_the_place(pytestconfig):
    held_rig(pytestconfig, load_rig({str(remote)!r}))
    Path({str(held)!r}).touch()
    deadline = time.monotonic() + 60
    while not Path({str(restarted)!r}).exists():   # the outer test restarts the coordinator meanwhile
        assert time.monotonic() < deadline
        time.sleep(0.05)

def test_after_the_restart(pytestconfig):
    pass
""",
        encoding="utf-8",
    )
    run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:labgrid",
            "-p",
            "hil.fixtures.plugin",
            "-q",
            str(tests),
            "--rig-place",
            "lab=a",
            "--rig-coordinator",
            lab.address,
            "--rig",
            str(remote),
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    lab.holders.append(run)
    deadline = time.monotonic() + 60
    while not held.exists():
        assert run.poll() is None, run.communicate()[0]
        assert time.monotonic() < deadline
        time.sleep(0.05)
    lab.restart_coordinator()
    restarted.touch()
    output = run.communicate(timeout=60)[0]
    assert run.returncode == 1, output
    assert "1 passed" in output and "1 failed" in output or "1 error" in output, output
    assert "rig place lost: place rig-a: lost the coordinator" in output, output
    s = _session(lab, "after")
    try:
        # places the coordinator saved before the restart come back (it saves every 15 s), never a lock
        assert s.places().get("rig-a", {}).get("acquired") is None, "labgrid keeps no lock over a restart"
        assert s.wait_for(lambda: s.session.resources.get("lab"), 30), (
            f"the exporter did not come back to the restarted coordinator: {lab.exporter.events}"
        )
    finally:
        s.close()
    assert any("exited" in e for _, e in lab.exporter.events), lab.exporter.events


def test_a_holder_kicked_by_another_user_is_told_why_before_its_next_test(lab):
    from hil.lab.spec import PlaceSpec

    s = _session(lab, "kicked")
    try:
        lease = s.take(PlaceSpec.parse("rig-b"), timeout=20, lease_s=30)
        assert lease.problem() is None
        kick = subprocess.run(
            [
                str(Path(sys.executable).with_name("labgrid-client")),
                "-x",
                lab.address,
                "-p",
                "rig-b",
                "release",
                "--kick",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env=dict(os.environ, LG_USERNAME="operator"),
        )
        assert kick.returncode == 0, kick.stderr
        told = s.wait_for(lambda: lease.problem(), 20)  # labgrid itself tells a kicked client nothing (#450)
        assert told and "taken away: now acquired by nobody" in told, told
        assert any("no longer ours" in e for _, e in lease.events), lease.events
        assert not lease.owned()
        # a kick leaves the reservation allocated to the kicked job (labgrid#1253): giving back cancels it
        assert lease.give_back() == []
        assert lease.token not in {r["token"] for r in s.reservations()}
    finally:
        s.close()
