"""API v2's routes run under real MicroPython (mpy_https_routes.py through hil.mpy, with microdot)."""

from __future__ import annotations

import os
from pathlib import Path

import microdot
import pytest

from hil import mpy

pytestmark = pytest.mark.mpy
HERE = Path(__file__).resolve().parent


def test_https_routes_under_micropython(tmp_path: Path) -> None:
    try:
        mpy.node_binary()
    except mpy.MpyUnavailable as e:
        pytest.fail(str(e))
    md = Path(os.path.dirname(microdot.__file__))
    standins = mpy.MPY_DIR / "standins"
    text = (HERE / "mpy_https_routes.py").read_text(encoding="utf-8")
    module = tmp_path / "test_https_routes_mpy.py"
    module.write_text(text.replace("@STANDINS@", str(standins)).replace("@MICRODOT_PARENT@", str(md.parent)),
                      encoding="utf-8")
    r = mpy.run([module], mirror=[md, standins])
    assert r.errors == [] and [t.outcome for t in r.tests] == ["passed"], [t.traceback for t in r.tests]
