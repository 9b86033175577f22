"""A labgrid lab on loopback, started and stopped by the tests: coordinator, supervised exporter, places.

``lab`` (one per test): a coordinator on a free loopback port in the test's folder, and one supervised
exporter publishing two groups, ``rig-a`` and ``rig-b``, each with a P1 line (a pty pair's end, served by
ser2net when acquired) and the meter's HTTP address; places ``rig-a`` (lab=a) and ``rig-b`` (lab=b), both
``module=smartplug``. At the end every process is stopped by process group and the test fails if a
ser2net for the lab's lines is left running.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
LAB_RIG = Path(__file__).with_name("lab-rig.yaml")


def need_lab() -> None:
    """Skip, with the reason, where the lab cannot run: labgrid (the lab extra) or ser2net missing."""
    pytest.importorskip("labgrid", reason="labgrid is not installed: scripts/setup installs the lab extra")
    from hil.lab.procs import ser2net_binary

    if ser2net_binary() is None:
        pytest.skip("ser2net is not installed (scripts/setup installs it from Debian when run as root)")


class Lab:
    """The running lab: coordinator, exporter, the lines behind the places."""

    def __init__(self, folder: Path) -> None:
        from hil.lab.procs import SupervisedExporter, start_coordinator
        from hil.serial_lines import PtyPair

        self.folder = folder
        self.coordinator, self.address = start_coordinator(folder / "coordinator")
        self.port = int(self.address.rsplit(":", 1)[1])
        self.lines = {name: PtyPair() for name in ("rig-a", "rig-b")}
        config = {
            name: {
                "location": f"loopback lab {name}",
                "p1": {"cls": "RawSerialPort", "port": pair.names[0], "speed": 115200},
                "meter-http": {
                    "cls": "NetworkService",
                    "address": "127.0.0.1",
                    "port": 18080 + i,
                    "username": "http",
                },
            }
            for i, (name, pair) in enumerate(self.lines.items())
        }
        self.config = folder / "exporter.yaml"
        self.config.write_text(yaml.safe_dump(config), encoding="utf-8")
        self.exporter = SupervisedExporter(self.config, self.address, "lab", folder / "exporter").start()
        self.holders: list[subprocess.Popen[str]] = []

    @property
    def places(self) -> dict[str, Any]:
        """Return the place definitions of the lab (hil lab sync's input)."""
        return {
            name: {"matches": [f"lab/{name}/*"], "tags": {"module": "smartplug", "lab": name[-1]}}
            for name in self.lines
        }

    def restart_coordinator(self) -> None:
        """Stop the coordinator and start it again on the same port with the same state folder."""
        from hil.lab.procs import start_coordinator

        self.coordinator.stop()
        self.coordinator, _ = start_coordinator(self.folder / "coordinator", port=self.port)

    def holder(self, spec: str, lease_s: float = 30.0) -> Holder:
        """Start a second client process that takes a place matching ``spec``."""
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("holder.py")), self.address, spec, str(lease_s)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=ROOT,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
        )
        self.holders.append(proc)
        return Holder(proc)

    def ser2net_left(self) -> list[int]:
        """Return ser2net processes still serving one of the lab's lines."""
        from hil.lab.procs import ser2net_pids

        return [pid for pair in self.lines.values() for pid in ser2net_pids(pair.names[0])]

    def stop(self) -> None:
        """Stop holders, exporter and coordinator (each by process group), close the lines."""
        for proc in self.holders:
            if proc.poll() is None:
                proc.kill()
            proc.wait(10)
        self.exporter.stop()
        self.coordinator.stop()
        for pair in self.lines.values():
            pair.close()


class Holder:
    """A holder process's events, read as they come."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.events: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                self.events.append(json.loads(line))
                self._cond.notify_all()
        with self._cond:
            self.events.append({"event": "exited"})
            self._cond.notify_all()

    def wait(self, event: str, timeout: float) -> dict[str, Any]:
        """Return the first ``event``; AssertionError with every event seen when it does not come in time."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for e in self.events:
                    if e["event"] == event:
                        return e
                    if e["event"] in ("error", "exited") and event not in ("error", "exited"):
                        raise AssertionError(f"holder: expected {event}; got {self.events}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"holder: no {event} within {timeout} s; events {self.events}")
                self._cond.wait(left)

    def send(self, line: str) -> None:
        """Write a command line to the holder."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    """A coordinator and a supervised exporter with places rig-a and rig-b; nothing left behind after."""
    need_lab()
    from hil.lab.session import LabSession

    lab = Lab(tmp_path)
    try:
        setup = LabSession(lab.address, user="lab-setup")
        try:
            setup.sync_places(lab.places)
            ready = setup.wait_for(
                lambda: all(setup.session.resources.get("lab", {}).get(n) for n in lab.lines), 20.0
            )
            assert ready, f"the exporter's resources did not reach the coordinator: {lab.exporter.events}"
        finally:
            setup.close()
        yield lab
    finally:
        lab.stop()
    assert lab.ser2net_left() == [], "ser2net left running after the lab stopped"
