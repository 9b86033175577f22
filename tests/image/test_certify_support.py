"""`hil certify --image X.bchfw`: the record's image entry, the rig-signed copies, the boards' reports."""

from __future__ import annotations

import json

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
