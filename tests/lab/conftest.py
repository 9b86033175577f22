"""A labgrid lab on loopback, started and stopped by the tests: coordinator, supervised exporter, places.

``lab`` (one per test): a coordinator on a free loopback port in the test's folder, and one supervised
exporter publishing two groups, ``rig-a`` and ``rig-b``, each with a P1 line (a pty pair's end, served by
ser2net when acquired) and the meter's HTTP address; places ``rig-a`` (lab=a) and ``rig-b`` (lab=b), both
``module=smartplug``. At the end every process is stopped by process group and the test fails if a
ser2net for the lab's lines is left running.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hil.lab.loopback import Lab

ROOT = Path(__file__).resolve().parents[2]
LAB_RIG = Path(__file__).with_name("lab-rig.yaml")


def need_lab() -> None:
    """Skip, with the reason, where the lab cannot run: labgrid (the lab extra) or ser2net missing."""
    pytest.importorskip("labgrid", reason="labgrid is not installed: scripts/setup installs the lab extra")
    from hil.lab.procs import ser2net_binary

    if ser2net_binary() is None:
        pytest.skip("ser2net is not installed (scripts/setup installs it from Debian when run as root)")


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    """A coordinator and a supervised exporter with places rig-a and rig-b; nothing left behind after."""
    need_lab()
    lab = Lab(tmp_path)
    try:
        lab.sync()
        yield lab
    finally:
        lab.stop()
    assert lab.ser2net_left() == [], "ser2net left running after the lab stopped"
