"""The client tests' parts: .venv-clients (today's client libraries, made by scripts/setup), a SmartPlug whose
chip measures a known load, and a SmartMeter reading an emulated meter; all real processes on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hil.board_process import BoardProcess
from hil.emulators.cse7766 import Cse7766Emulator
from test_suites.apps.smartmeter_rig import MeterRig
from test_suites.apps.smartmeter_rig import wait_for as wait_until
from test_suites.apps.smartplug_rig import manual_load_plug
from test_suites.clients.clients_rig import CLIENTS_PYTHON

# Whole cycles of the emulated chip for 237.0 V, 0.654 A, 311.3 W: the values arrive exact.


@pytest.fixture(scope="session")
def clients_python() -> Path:
    """The Python of .venv-clients; a clear failure when scripts/setup has not made it."""
    if not CLIENTS_PYTHON.exists():
        pytest.fail(f"expected the client environment at {CLIENTS_PYTHON}, got nothing: run scripts/setup")
    return CLIENTS_PYTHON


@pytest.fixture(scope="module")
def plug(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BoardProcess, Cse7766Emulator]]:
    """A SmartPlug whose chip measures 237.0 V, 0.654 A, 311.3 W."""
    with manual_load_plug(tmp_path_factory.mktemp("plug")) as p:
        yield p


@pytest.fixture(scope="module")
def meter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MeterRig]:
    """A SmartMeter reading an emulated Fluvius e-MUCS meter (the manual's registers, 2673 W import)."""
    r = MeterRig(tmp_path_factory.mktemp("meter"))
    r.start()
    wait_until(lambda: r.status()["p1"]["accepted"] >= 2, 10, "two telegrams taken")
    yield r
    r.close()
