"""Two exported emulated rigs as places; ``pytest -n 2 --rig-place module=smartplug`` through them.

Everything on loopback, started and stopped here: a coordinator, two ``hil rig up --export`` (each runs
its exporter supervised), then the short end-to-end suite ``test_suites/lab`` in a pytest of its own
with two xdist workers. Each worker must hold its own place, the P1 telegrams must reach each remote
meter through ser2net, every place must be given back, and no ser2net or exporter may be left.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from tests.lab.conftest import LAB_RIG, ROOT, need_lab

pytestmark = pytest.mark.lab


def test_two_xdist_workers_each_get_their_own_place_and_the_e2e_suite_passes_through_it(tmp_path: Path):
    need_lab()
    import yaml

    from hil.lab.procs import LabProcess, ser2net_pids, start_coordinator
    from hil.lab.session import LabSession

    coordinator, address = start_coordinator(tmp_path / "coordinator")
    rigs: dict[str, LabProcess] = {}
    try:
        hil = str(Path(ROOT, ".venv/bin/hil")) if Path(ROOT, ".venv/bin/hil").exists() else "hil"
        for x in ("a", "b"):
            rigs[x] = LabProcess(
                f"hil rig up {x}",
                [
                    hil,
                    "rig",
                    "up",
                    str(LAB_RIG),
                    "--export",
                    str(tmp_path / x),
                    "--coordinator",
                    address,
                    "--exporter",
                    f"lab-{x}",
                    "--place",
                    f"rig-{x}",
                    "--tag",
                    f"lab={x}",
                ],
                tmp_path / f"rig-{x}.log",
                cwd=ROOT,
            )
        for x, proc in rigs.items():
            proc.wait_line(r"exported place rig-" + x + r" \[lab=" + x + r"[,\]]", 120)  # its tags shown
        p1_lines = [
            yaml.safe_load((tmp_path / x / "exporter.yaml").read_text())["labrig"]["p1"]["port"] for x in rigs
        ]
        record = tmp_path / "record.json"
        run = LabProcess(
            "pytest -n 2",
            [
                str(Path(ROOT, ".venv/bin/python")),
                "-m",
                "pytest",
                "-n",
                "2",
                "-p",
                "no:cacheprovider",
                "-q",
                "test_suites/lab",
                "--rig",
                str(tmp_path / "a" / "rig.yaml"),
                "--rig-place",
                "module=smartplug",
                "--rig-coordinator",
                address,
                "--rig-lease",
                "20",
                "--hil-record",
                str(record),
            ],
            tmp_path / "pytest.log",
            cwd=ROOT,
        )
        code = run.proc.wait(240)
        run.stop()
        output = "\n".join(run.lines)
        assert code == 0, output
        assert "2 passed" in output, output
        places = json.loads(record.read_text())["metadata"]["places"]
        assert sorted(p["place"] for p in places) == ["rig-a", "rig-b"], places
        for p in places:
            assert p["given_back"] == "ok", p
            assert p["addresses"]["p1.port"].startswith("rfc2217://127.0.0.1:"), p
            assert set(p["serials"]) == {"meter", "plug1"}, p
        # the CI recipe's certification: one worker, a place by tags, the image the (remote) boards run
        from hil.certify.run import tree_tarball

        image = tmp_path / "image.tar"
        image.write_bytes(tree_tarball(ROOT / "firmware"))
        cert = LabProcess(
            "hil certify",
            [
                hil,
                "certify",
                "--rig",
                str(tmp_path / "a" / "rig.yaml"),
                "--image",
                str(image),
                "--suite",
                "test_suites/lab",
                "--out",
                str(tmp_path / "cert"),
            ],
            tmp_path / "certify.log",
            cwd=ROOT,
            env=dict(os.environ, HIL_RIG_PLACE="lab=b", LG_COORDINATOR=address),
        )
        assert cert.proc.wait(240) == 0, "\n".join(cert.lines)
        cert.stop()
        certified = json.loads((tmp_path / "cert" / "record.json").read_text())
        assert certified["outcome"] == "PASS", certified.get("counts")
        (held,) = certified["metadata"]["places"]
        assert held["place"] == "rig-b" and held["exporters"] == ["lab-b"] and held["given_back"] == "ok"
        assert held["serials"] == {"meter": "02005e000a01", "plug1": "02005e000a02"}
        check = LabSession(address, user="check")
        try:
            assert check.reservations() == []
            assert all(p["acquired"] is None for p in check.places().values())
        finally:
            check.close()
    finally:
        for proc in rigs.values():
            proc.signal(signal.SIGTERM)
        for proc in rigs.values():
            proc.stop(grace_s=20)
        coordinator.stop()
    assert [pid for line in p1_lines for pid in ser2net_pids(line)] == []
