"""Fixtures of the hostile-LAN suite: started boards (the app suites' rigs, reused), a SmartMeter fed by
telegrams this suite writes itself on a pty (hostile values under a valid CRC), a fake SmartMeter."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "apps"))  # smartplug_rig, smartmeter_rig

from smartplug_rig import plug_board, wait_for  # noqa: E402

from hil.board_process import BoardProcess  # noqa: E402
from hil.serial_lines import PtyPair  # noqa: E402


@pytest.fixture
def plug(tmp_path: Path) -> Iterator[BoardProcess]:
    """A provisioned SmartPlug (joined to its network; no chip, no meter)."""
    b = plug_board(tmp_path)
    with b:
        b.start()
        wait_for(lambda: b.get_json("/api/smartplug/v1/status")[1]["wifi"]["state"], lambda s: s == "joined",
                 10, "joined its network", b)
        yield b


@pytest.fixture(scope="module")
def idle_plug(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BoardProcess]:
    """One plug for a module's tests that must change nothing (each checks that nothing changed)."""
    b = plug_board(tmp_path_factory.mktemp("idle"))
    with b:
        b.start()
        wait_for(lambda: b.get_json("/api/smartplug/v1/status")[1]["wifi"]["state"], lambda s: s == "joined",
                 10, "joined its network", b)
        yield b


@pytest.fixture
def p1_line() -> Iterator[PtyPair]:
    """A pty pair: the board reads end 1, the test writes telegrams into end 0."""
    with PtyPair() as pair:
        yield pair


@pytest.fixture
def meter(tmp_path: Path, p1_line: PtyPair) -> Iterator[BoardProcess]:
    """A provisioned SmartMeter reading p1_line's end 1."""
    from smartmeter_rig import NETWORKS, provision

    flash = tmp_path / "meter"
    provision(flash)
    b = BoardProcess("smartmeter", flash, p1=p1_line.names[1], networks=dict(NETWORKS))
    with b:
        b.start()
        wait_for(lambda: b.get_json("/api/status")[1]["wifi"]["state"], lambda s: s == "joined", 10,
                 "joined its network", b)
        yield b
