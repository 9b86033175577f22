"""A labgrid lab on loopback: coordinator, supervised exporter, two places on pty lines, other clients.

Used by the lab tests and :mod:`hil.lab.measure`. ``Lab(folder)`` starts a coordinator on a free
loopback port and one supervised exporter (name ``lab``) publishing two groups, ``rig-a`` and ``rig-b``,
each with a P1 line (end 0 of a pty pair: ser2net serves it while the place is acquired) and the meter's
HTTP address; :meth:`Lab.sync` creates the places ``rig-a`` (lab=a) and ``rig-b`` (lab=b), both
``module=smartplug``. :meth:`Lab.holder` starts another client process (:mod:`hil.lab.holder`);
:meth:`Lab.stop` stops everything by process group.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


class Lab:
    """The running lab: coordinator, exporter, the lines behind the places."""

    def __init__(self, folder: Path) -> None:
        """Start the coordinator and the exporter (the places: :meth:`sync`)."""
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

    def sync(self, timeout: float = 20.0) -> None:
        """Create the places and wait until the exporter's resources reached the coordinator."""
        from hil.lab.session import LabSession

        setup = LabSession(self.address, user="lab-setup")
        try:
            setup.sync_places(self.places)
            ready = setup.wait_for(
                lambda: all(setup.session.resources.get("lab", {}).get(n) for n in self.lines), timeout
            )
            if not ready:
                raise RuntimeError(
                    f"the exporter's resources did not reach the coordinator: {self.exporter.events}"
                )
        finally:
            setup.close()

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
        self.coordinator.stop(grace_s=1.0)  # its graceful stop waits up to 5 s for open streams
        for pair in self.lines.values():
            pair.close()


class Holder:
    """A holder process's events, read as they come."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        """Read the holder's events on a background thread."""
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
