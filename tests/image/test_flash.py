"""`hil flash` end to end: the real mpremote against the real MicroPython interpreter's REPL (WebAssembly
port on Node.js) behind a pty. The board then holds the loader, the trusted keys and the image in slot a,
every file read back by the board itself; its loader picks slot a, and the installed .mpy files load."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from hil import mpy
from hil.cli import app
from hil.flash import FlashError, plan
from hil.flash_board import ReplBoard
from hil.image import keys, payload, sbv2
from test_suites.ota import images

from .conftest import ROOT

pytestmark = pytest.mark.mpy


def test_plan_refuses_an_image_no_trusted_key_signed(meter_image):
    with pytest.raises(FlashError, match="not signed"):
        plan(meter_image, [sbv2.key_digest(keys.rig_key().public_key())])
    files = plan(meter_image.signed(keys.rig_key()), [sbv2.key_digest(keys.rig_key().public_key())])
    assert files["ota/board.json"] == b'{"kind": "smartmeter"}'
    assert "app/a/firmware/ota/manifest.mpy" in files and "app/a/microdot/microdot.mpy" in files
    assert not any(k.startswith("app/a/") and k.endswith(".py") for k in files)
    assert files["main.py"].startswith(b"# The loader")


def test_flash_through_mpremote_onto_micropython(rig_key, tmp_path):
    try:
        mpy.node_binary()
    except mpy.MpyUnavailable as e:
        pytest.skip(str(e))
    # a small real image (the OTA core compiled by mpy-cross) keeps the serial transfer short
    names = ["firmware/__init__.py", "firmware/ota/__init__.py", "firmware/ota/errors.py",
             "firmware/ota/manifest.py"]
    compiled = payload.compile_mpy([(n, ROOT / n) for n in names])
    small = images.make(files=[("mpy/" + n, data) for n, data in sorted(compiled.items())])
    img = tmp_path / "meter.bchfw"
    img.write_bytes(small.to_bytes())
    pub = tmp_path / "rig.pub.pem"
    pub.write_bytes(keys.public_pem(rig_key))
    with ReplBoard() as board:
        r = CliRunner().invoke(app, ["flash", "--port", board.port, "--trust", str(pub), str(img)])
        assert r.exit_code == 0, r.output
        assert "in slot a" in r.output and "read back and checked" in r.output
        check = ("import sys\nsys.path.insert(0, 'app/a')\nfrom firmware.ota import manifest\n"
                 "print(manifest.__file__)\nimport main\nprint(main.decide(main.load_state(''))[:2])")
        out = subprocess.run([sys.executable, "-m", "mpremote", "connect", board.port, "exec", check],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert "app/a/firmware/ota/manifest.mpy" in out.stdout and "('a', False)" in out.stdout


def test_flash_gives_the_module_its_tls_identity(rig_key, tmp_path):
    """`hil flash --tls`: a new key and certificate on the board, its fingerprint printed for the label."""
    try:
        mpy.node_binary()
    except mpy.MpyUnavailable as e:
        pytest.skip(str(e))
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from hil.devcert import fingerprint

    names = ["firmware/__init__.py"]
    compiled = payload.compile_mpy([(n, ROOT / n) for n in names])
    small = images.make(files=[("mpy/" + n, data) for n, data in sorted(compiled.items())])
    img = tmp_path / "meter.bchfw"
    img.write_bytes(small.to_bytes())
    pub = tmp_path / "rig.pub.pem"
    pub.write_bytes(keys.public_pem(rig_key))
    with ReplBoard() as board:
        # this interpreter has neither network nor machine.unique_id: the MAC cannot be read, so it says so
        r = CliRunner().invoke(app, ["flash", "--port", board.port, "--trust", str(pub), "--tls", str(img)])
        assert r.exit_code == 1 and "give --name" in r.output, r.output
        r = CliRunner().invoke(app, ["flash", "--port", board.port, "--trust", str(pub), "--tls",
                                     "--name", "smartmeter", str(img)])
        assert r.exit_code == 0, r.output
        label = r.output.split("https certificate SHA-256 ")[1].split()[0]
        dump = ("for n in ('tls_cert.pem', 'tls_key.pem'):\n  print(open(n).read())")
        out = subprocess.run([sys.executable, "-m", "mpremote", "connect", board.port, "exec", dump],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
    cert_pem = out.stdout[:out.stdout.index("-----END CERTIFICATE-----") + 26].strip().encode()
    assert fingerprint(cert_pem + b"\n") == label
    cert = x509.load_pem_x509_certificate(cert_pem + b"\n")
    key_pem = out.stdout[out.stdout.index("-----BEGIN PRIVATE"):].encode()
    key = serialization.load_pem_private_key(key_pem, None)
    assert key.public_key() == cert.public_key()                # the board holds the certificate's own key
    assert cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == "smartmeter"
    assert not list(tmp_path.glob("*key*"))                     # no key left on the host
