"""The OTA container: reproducible builds, espsecure interoperability, inspect, tamper detection."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from firmware.ota import manifest as mf
from firmware.ota import sigblock
from firmware.ota.errors import OtaError
from hil.cli import app
from hil.image import build, container, keys, payload, sbv2

from .conftest import COMMIT, ROOT

ESPSECURE = [sys.executable, "-m", "espsecure"]


def test_same_tree_same_bytes_anywhere(meter_image, tmp_path):
    copy = tmp_path / "checkout"
    shutil.copytree(ROOT / "firmware", copy / "firmware",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    again = build.build(copy, build.BuildSpec("smartmeter"), commit=COMMIT)
    assert again.to_bytes() == meter_image.to_bytes()
    before = payload.build_payload(copy, "smartmeter", compile=False)
    (copy / "firmware" / "fixed.py").write_text((copy / "firmware" / "fixed.py").read_text() + "\n# x\n")
    assert payload.build_payload(copy, "smartmeter", compile=False) != before   # one byte more: other bytes


def test_payload_has_both_runtimes_and_no_loader(meter_image):
    names = [n for n, _ in payload.list_payload(meter_image.payload)]
    mpy = sorted(n for n in names if n.startswith("mpy/"))
    assert names == mpy + sorted(n for n in names if n.startswith("py/"))
    assert "py/firmware/apps/smartmeter/app.py" in names
    assert "mpy/firmware/apps/smartmeter/app.mpy" in names and "mpy/microdot/microdot.mpy" in names
    assert not [n for n in names if "smartplug" in n]               # the image manifest: this module only
    assert "py/microdot/microdot.py" not in names                    # emulated boards run the host's
    loader = {"py/firmware/main.py", "py/firmware/boot.py", "mpy/firmware/main.mpy", "mpy/firmware/boot.mpy"}
    assert not loader & set(names)
    m = meter_image.manifest
    assert (m.module, m.counter, m.commit) == ("smartmeter", 1, COMMIT)
    assert m.payload_len == len(meter_image.payload)
    assert m.abi & 0xFF == 6  # .mpy version 6 (MicroPython 1.22+)


def test_signing_keeps_identity_and_verifies_on_device_core(meter_image, rig_key):
    signed = meter_image.signed(rig_key)
    assert signed.identity == meter_image.identity
    trusted = [sbv2.key_digest(rig_key.public_key())]
    assert sigblock.check(signed.signature_sector, signed.manifest_sector, trusted) == 0
    with pytest.raises(OtaError) as e:
        sigblock.check(meter_image.signature_sector, meter_image.manifest_sector, trusted)
    assert e.value.status == 403 and "not signed" in e.value.message


def test_espsecure_verifies_our_block(meter_image, rig_key, tmp_path):
    signed = meter_image.signed(rig_key)
    head = tmp_path / "head.bin"
    head.write_bytes(signed.manifest_sector + signed.signature_sector)
    pub = tmp_path / "pub.pem"
    pub.write_bytes(keys.public_pem(rig_key))
    r = subprocess.run(ESPSECURE + ["verify-signature", "--version", "2", "--keyfile", str(pub), str(head)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Signature block 0 verification successful" in r.stdout
    flipped = bytearray(head.read_bytes())
    flipped[40] ^= 1  # inside the manifest: the digest in the block no longer matches
    head.write_bytes(bytes(flipped))
    r = subprocess.run(ESPSECURE + ["verify-signature", "--version", "2", "--keyfile", str(pub), str(head)],
                       capture_output=True, text=True)
    assert r.returncode != 0


def test_device_core_verifies_espsecure_block(meter_image, rig_key, tmp_path):
    key = tmp_path / "key.pem"
    key.write_bytes(rig_key.private_bytes(*_pem_args()))
    data = tmp_path / "manifest.bin"
    data.write_bytes(meter_image.manifest_sector)
    out = tmp_path / "signed.bin"
    r = subprocess.run(ESPSECURE + ["sign-data", "--version", "2", "--keyfile", str(key),
                                    "--output", str(out), str(data)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    blob = out.read_bytes()
    assert blob[:4096] == meter_image.manifest_sector and len(blob) == 8192
    sector = blob[4096:]
    ours = meter_image.signed(rig_key).signature_sector
    assert sector[:812] == ours[:812]            # same header, digest and key material
    assert sector[1196 + 20:] == ours[1196 + 20:]  # same padding after the block
    assert sigblock.check(sector, meter_image.manifest_sector, [sbv2.key_digest(rig_key.public_key())]) == 0
    whole = meter_image.manifest_sector + sector + meter_image.payload
    assert container.parse(whole).identity == meter_image.identity


def _pem_args():
    from cryptography.hazmat.primitives import serialization

    return serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()


def test_parse_refuses_altered_payload_and_length(meter_image):
    data = bytearray(meter_image.to_bytes())
    data[-600] ^= 0x10
    with pytest.raises(container.ImageError, match="payload SHA-256 does not match"):
        container.parse(bytes(data))
    with pytest.raises(container.ImageError, match="payload of .* bytes, the manifest says"):
        container.parse(meter_image.to_bytes()[:-1])
    with pytest.raises(container.ImageError, match="magic"):
        container.parse(b"\x00" * 9000)


def test_cli_build_inspect_sign(tmp_path, rig_key):
    runner = CliRunner()
    r = runner.invoke(app, ["build", "--module", "smartplug", "--out", str(tmp_path), "--version", "2.1.0+7",
                            "--security-counter", "5", "--hw", "1-3"])
    assert r.exit_code == 0, r.output
    f = tmp_path / "smartplug-2.1.0+7.bchfw"
    r = runner.invoke(app, ["image", "inspect", str(f), "--json"])
    doc = json.loads(r.output)
    assert doc["manifest"]["version"] == "2.1.0+7" and doc["manifest"]["security_counter"] == 5
    assert doc["manifest"]["hw"] == [1, 3] and doc["signatures"] == []
    identity = doc["identity"]
    r = runner.invoke(app, ["image", "sign", str(f), "--key", str(keys.RIG_KEY)])
    assert r.exit_code == 0, r.output
    doc = json.loads(runner.invoke(app, ["image", "inspect", str(f), "--json"]).output)
    assert doc["identity"] == identity
    assert doc["signatures"][0]["valid"] and doc["signatures"][0]["key_digest"] == keys.digest_hex(rig_key)
    r = runner.invoke(app, ["image", "inspect", str(f)])
    assert "signature 0      valid" in r.output and "module           smartplug" in r.output
    bad = tmp_path / "bad.bchfw"
    bad.write_bytes(f.read_bytes()[:-3])
    r = runner.invoke(app, ["image", "inspect", str(bad)])
    assert r.exit_code == 2 and "payload of" in r.output


def test_keygen_refuses_to_overwrite(tmp_path):
    k = tmp_path / "release.pem"
    keys.generate(k)
    assert (k.stat().st_mode & 0o777) == 0o600
    with pytest.raises(FileExistsError):
        keys.generate(k)


def test_manifest_pack_parse_roundtrip():
    m = mf.Manifest("smartplug", 1, 4, 9, (1, 2, 3, 4), mf.KIND_MPY_TAR, 0, 0x306, 10, b"\x01" * 32, 0,
                    b"\x02" * 20)
    back = mf.parse(container.pack_manifest(m))
    assert back.as_dict() == m.as_dict()
