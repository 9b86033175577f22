"""The release gate: it signs only on a PASS record for exactly this image, with the required suites
passed and nothing in them skipped, the required rigs, the source commit, and a counter not lower than
the last release's; otherwise it names every condition that failed."""

from __future__ import annotations

import hashlib
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from typer.testing import CliRunner

from firmware.ota import manifest as mf
from hil.cli import app
from hil.image import keys, sbv2
from hil.image.container import Image, pack_manifest, read
from hil.release import Policy, check, release

COMMIT = "ab" * 20


@pytest.fixture(scope="module")
def release_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=3072)


def make_image(counter: int = 5, version=(1, 2, 0, 0), module: str = "smartmeter") -> Image:
    pay = b"payload of the test image"
    m = mf.Manifest(module, 1, 1, counter, version, mf.KIND_MPY_TAR, 0, 0x306, len(pay),
                    hashlib.sha256(pay).digest(), 0, bytes.fromhex(COMMIT))
    return Image(pack_manifest(m), sbv2.sector([]), pay).signed(keys.rig_key())


def make_record(img: Image, **over) -> dict:
    rec = {
        "outcome": "PASS", "counts": {"PASS": 3},
        "phases": [{"name": "test_suites/e2e/test_a.py::test_x", "outcome": "PASS"},
                   {"name": "test_suites/ota/test_b.py::test_y", "outcome": "PASS"},
                   {"name": "test_suites/ota/test_b.py::test_z", "outcome": "PASS"}],
        "metadata": {"image": {"kind": "bchfw", "sha256": img.identity,
                               "images": [{"module": "smartmeter", "sha256": img.identity}],
                               "boards_running": {"meter": img.identity, "plug1": "f" * 64},
                               "boards_module": {"meter": "smartmeter", "plug1": "smartplug"}},
                     "rig": {"name": "emulated"}, "git": {"commit": COMMIT},
                     "suites": ["test_suites/e2e", "test_suites/ota"]},
    }
    for path, value in over.items():
        node = rec
        *parents, last = path.split(".")
        for p in parents:
            node = node[p]
        node[last] = value
    return rec


def test_a_proving_record_passes():
    img = make_image()
    assert check(img, [("r", make_record(img))], []).ok


@pytest.mark.parametrize("over, words", [
    ({"outcome": "FAIL"}, "outcome 'FAIL', expected PASS"),
    ({"metadata.image.images": [{"module": "smartmeter", "sha256": "00" * 32}]},
     "the record is for other bytes"),
    ({"metadata.image.boards_running": {"meter": "11" * 32}}, "board meter ran 1111111111111111..."),
    ({"metadata.image.boards_running": {}}, "no smartmeter board reported running the image"),
    ({"metadata.rig.name": "bench"}, "required rigs not covered: emulated"),
    ({"metadata.git.commit": "cd" * 20}, "made from commit cdcdcdcdcdcd"),
    ({"phases": [{"name": "test_suites/e2e/test_a.py::test_x", "outcome": "PASS"}]},
     "required suite test_suites/ota: no passing test"),
    ({"phases": [{"name": "test_suites/e2e/test_a.py::test_x", "outcome": "PASS"},
                 {"name": "test_suites/ota/test_b.py::test_y", "outcome": "PASS"},
                 {"name": "test_suites/ota/test_b.py::test_z", "outcome": "SKIPPED"}]},
     "required suite test_suites/ota: 1 test(s) not passed"),
])
def test_each_condition_refuses_and_says_which(over, words):
    img = make_image()
    v = check(img, [("r", make_record(img, **over))], [])
    assert not v.ok and any(words in f for f in v.failures), v.failures


def test_record_of_another_image_is_refused_even_if_it_passed():
    img, other = make_image(), make_image(version=(1, 2, 1, 0))
    v = check(img, [("r", make_record(other))], [])
    assert any("the record is for other bytes" in f for f in v.failures)


def test_counter_not_lower_than_last_release(tmp_path, release_key):
    ledger = tmp_path / "ledger.jsonl"
    img = make_image(counter=5)
    verdict, signed, att = release(img, [("r", json.dumps(make_record(img)).encode())], release_key, ledger)
    assert verdict.ok and signed is not None and att is not None
    assert signed.identity == img.identity
    kd = sbv2.key_digest(release_key.public_key())
    assert any(sbv2.block_key_digest(b) == kd and sbv2.verify_block(b, img.manifest_sector)
               for b in signed.blocks())
    assert att["released"]["identity"] == img.identity and att["signer_key_digest"] == kd.hex()
    raw = json.dumps(make_record(img)).encode()
    assert att["evidence"][0]["record_sha256"] == hashlib.sha256(raw).hexdigest()
    lower = make_image(counter=4, version=(1, 3, 0, 0))
    verdict, signed, _ = release(lower, [("r", json.dumps(make_record(lower)).encode())], release_key, ledger)
    assert signed is None and any("lower than the last smartmeter release's 5" in f for f in verdict.failures)
    same = make_image(counter=5, version=(1, 3, 0, 0))
    assert release(same, [("r", json.dumps(make_record(same)).encode())], release_key, ledger)[1] is not None
    assert len(ledger.read_text().splitlines()) == 2


def test_cli_refuses_then_releases(tmp_path, release_key):
    from cryptography.hazmat.primitives import serialization

    key = tmp_path / "release.pem"
    key.write_bytes(release_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()))
    img = make_image()
    f = tmp_path / "smartmeter-1.2.0.bchfw"
    f.write_bytes(img.to_bytes())
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(make_record(img, outcome="ERROR")))
    runner = CliRunner()
    args = ["release", str(f), "--key", str(key), "--ledger", str(tmp_path / "ledger.jsonl")]
    r = runner.invoke(app, args + ["--record", str(bad)])
    assert r.exit_code == 1 and "release REFUSED" in r.output and "outcome 'ERROR'" in r.output
    assert not (tmp_path / "smartmeter-1.2.0.release.bchfw").exists()
    good = tmp_path / "good.json"
    good.write_text(json.dumps(make_record(img)))
    r = runner.invoke(app, args + ["--record", str(good)])
    assert r.exit_code == 0, r.output
    out = read(tmp_path / "smartmeter-1.2.0.release.bchfw")
    assert out.identity == img.identity and len(out.blocks()) == 2
    att = json.loads((tmp_path / "smartmeter-1.2.0.release.bchfw.attestation.json").read_text())
    assert att["evidence"][0]["outcome"] == "PASS"


def test_policy_can_require_more(tmp_path):
    img = make_image()
    v = check(img, [("r", make_record(img))], [], Policy(rigs=("emulated", "bench")))
    assert any("required rigs not covered: bench" in f for f in v.failures)
