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
