"""Helpers for the SmartPlug board tests: a provisioned flash folder, a plug board process, waiting on a
condition with a timeout (never a bare sleep), and a relay-line watcher that records every level it sees."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from hil.board.gpio import GpioFolder
from hil.board_process import BoardProcess
from hil.emulators.cse7766 import Coefficients, Cse7766Chip, Cse7766Emulator
from hil.serial_lines import PtyPair

NETWORK = {"home": "secret-pw-1"}
PLUG_MAC = "24:0a:c4:10:02:1e"
PLUG_NAME = "smartplug-10021e"

T = TypeVar("T")


def provision(flash: Path, meter: dict[str, Any] | None = None) -> Path:
    """Flash as after the portal's Save (WiFi credentials) and, optionally, meter.json (SmartMeter link)."""
    flash.mkdir(parents=True, exist_ok=True)
    ssid, pwd = next(iter(NETWORK.items()))
    (flash / "wifi.json").write_text(json.dumps({"ssid": ssid, "password": pwd}), encoding="utf-8")
    if meter is not None:
        (flash / "meter.json").write_text(json.dumps(meter), encoding="utf-8")
    return flash


def plug_board(tmp: Path, metering: str | None = None, meter: dict[str, Any] | None = None, *,
               name: str = "plug", mdns: bool = False, mdns_suffix: str = "") -> BoardProcess:
    """A provisioned SmartPlug board process (not started)."""
    flash = provision(tmp / name, meter)
    return BoardProcess("smartplug", flash, metering=metering, mac=PLUG_MAC, networks=NETWORK, mdns=mdns,
                        mdns_suffix=mdns_suffix)


def relay_line(board: BoardProcess) -> GpioFolder:
    """The rig's view of the board's GPIO lines (the default io folder beside the flash)."""
    return GpioFolder(board.flash.with_name(board.flash.name + ".io") / "gpio")


def wait_for(fn: Callable[[], T], ok: Callable[[T], bool], timeout: float, what: str,
             board: BoardProcess | None = None, poll_s: float = 0.05) -> T:
    """Poll fn() until ok(value); AssertionError with the last value (and the board's log) on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if ok(v):
            return v
        if time.monotonic() > deadline:
            tail = "\n" + board.log_tail() if board is not None else ""
            raise AssertionError(f"{what}: not reached within {timeout} s; last value {v!r}{tail}")
        time.sleep(poll_s)  # polling an HTTP endpoint or a file: no event to wait on across processes


def state(board: BoardProcess, domain: str, oid: str) -> str | None:
    """The ESPHome state text of one entity (None when the request failed)."""
    try:
        status, d = board.get_json(f"/{domain}/{oid}")
    except OSError:
        return None
    return d.get("state") if status == 200 else None


def status(board: BoardProcess) -> dict[str, Any]:
    """GET /api/smartplug/v1/status."""
    code, d = board.get_json("/api/smartplug/v1/status")
    assert code == 200, d
    return d


class LineWatcher:
    """Reads one GPIO line file in a thread every ms and keeps every level it saw (missing file: None)."""

    def __init__(self, gpio: GpioFolder, name: str) -> None:
        """Start watching."""
        self.gpio = gpio
        self.name = name
        self.seen: list[int | None] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"watch {name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                v = self.gpio.read(self.name)
            except ValueError:
                v = -1  # a torn write would show here
            if not self.seen or self.seen[-1] != v:
                self.seen.append(v)
            self._stop.wait(0.001)

    def stop(self) -> list[int | None]:
        """Stop and return the levels seen, in order, repeats collapsed."""
        self._stop.set()
        self._thread.join(5)
        return self.seen


# Coefficients that make the manual's screenshot exact: 237.0 V, 0.654 A, 311.3 W are whole cycles (us).
EXACT = Coefficients(v=2_370_000, i=654_000, p=3_113_000)


@contextmanager
def manual_load_plug(tmp: Path) -> Iterator[tuple[BoardProcess, Cse7766Emulator]]:
    """A started SmartPlug whose chip measures the manual's load (237.0 V, 0.654 A, 311.3 W)."""
    with PtyPair() as pair:
        chip = Cse7766Emulator(pair.names[0], Cse7766Chip(coef=EXACT)).start()
        chip.set_load(237.0, 0.654, 311.3)
        board = plug_board(tmp, metering=pair.names[1])
        try:
            board.start()
            yield board, chip
        finally:
            board.kill()
            chip.stop()
