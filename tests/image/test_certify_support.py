"""`hil certify --image X.bchfw`: the record's image entry, the rig-signed copies, the boards' reports."""

from __future__ import annotations

import json
import os

import pytest

from hil.image import certify_support as ota
from hil.image import keys, sbv2
from hil.image.container import read
from test_suites.ota import images


def test_entry_signs_copies_for_the_rig_and_keeps_identities(tmp_path):
    meter = images.make("smartmeter")
    plug = images.make("smartplug")
    paths = []
    for name, img in (("m.bchfw", meter), ("p.bchfw", plug)):
        p = tmp_path / name
        p.write_bytes(img.to_bytes())
        paths.append(p)
    assert ota.is_ota_image(paths[0]) and not ota.is_ota_image(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    e = ota.entry(paths, out)
    assert [i["sha256"] for i in e["images"]] == [meter.identity, plug.identity]
    rig_copy = read(out / "smartplug.rig.bchfw")
    kd = sbv2.key_digest(keys.rig_key().public_key())
    assert rig_copy.identity == plug.identity and kd in [sbv2.block_key_digest(b) for b in rig_copy.blocks()]
    args = ota.pytest_args(e, out)
    assert args.count("--hil-ota-image") == 2 and "hil.image.certify_plugin" in args
    with pytest.raises(ValueError, match="a second smartmeter image"):
        ota.entry([paths[0], paths[0]], out)


def test_reports_of_every_worker_are_folded_in(tmp_path):
    e = {"images": [], "boards_running": {}, "boards_module": {}}
    (tmp_path / "ota-boards.json.gw0").write_text(json.dumps({"boards": {
        "meter": {"module": "smartmeter", "installed": "aa", "at_end": "aa"},
        "plug1": {"module": "smartplug", "installed": "bb", "at_end": "cc"}}}))
    (tmp_path / "ota-boards.json.gw1").write_text(json.dumps({"boards": {
        "meter": {"module": "smartmeter", "installed": "aa", "at_end": "aa"}}}))
    ota.merge_reports(e, tmp_path)
    assert e["boards_running"]["meter@gw0"] == "aa" and e["boards_running"]["meter@gw1"] == "aa"
    assert e["boards_running"]["plug1@gw0"] == "changed during the run: cc"
    assert e["boards_module"]["plug1@gw0"] == "smartplug"


RIG_CONFTEST = """
import pytest
from types import SimpleNamespace

@pytest.fixture(scope="session")
def rig():
    with open("rig-started", "a") as f:
        f.write("started\\n")
    yield SimpleNamespace(boards={}, clock=SimpleNamespace(sleep=lambda s: None))
"""


@pytest.mark.parametrize("uses_rig", [True, False])
def test_images_go_on_the_rig_only_where_a_test_uses_it(tmp_path, uses_rig):
    """hil certify's bench worker runs suites that start their own boards: no rig, no install there."""
    import subprocess
    import sys

    img = tmp_path / "m.bchfw"
    img.write_bytes(images.make("smartmeter").to_bytes())
    (tmp_path / "conftest.py").write_text(RIG_CONFTEST, encoding="utf-8")
    (tmp_path / "test_x.py").write_text("def test_a(%s):\n    pass\n\ndef test_b():\n    pass\n"
                                        % ("rig" if uses_rig else ""), encoding="utf-8")
    report = tmp_path / "ota-boards.json"
    # not an xdist worker itself (under xdist the plugin writes FILE.<worker>): drop the outer run's marks
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST_")}
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        "-p", "hil.image.certify_plugin", "--hil-ota-image", str(img),
                        "--hil-ota-report", str(report), "test_x.py"],
                       capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (tmp_path / "rig-started").exists() == uses_rig
    assert report.exists() == uses_rig   # the install's report, written when the session that installed ends
    if uses_rig:
        assert (tmp_path / "rig-started").read_text() == "started\n"
