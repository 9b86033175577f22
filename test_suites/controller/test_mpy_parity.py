"""Same inputs, same decisions: the controller under CPython and under real MicroPython (WebAssembly port).

The portable module test_suites/core/test_controller_trace.py replays a fixed, seeded day and a half of
plug life through the controller and prints the FNV-1a digest of every decision and boundary evaluation
(plus one digest per hour). Here it runs under MicroPython through hil.mpy, and the digests it printed are
compared with the same trace computed by this CPython process.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from hil import mpy

CORE = Path(__file__).resolve().parent.parent / "core"
sys.path.insert(0, str(CORE))

from controller_feed import trace  # noqa: E402  (portable helper beside the core tests)

pytestmark = pytest.mark.mpy

MODULE = CORE / "test_controller_trace.py"
TEST = "test_trace_covers_every_kind_of_boundary_and_prints_its_digest"
LINE = re.compile(r"CONTROLLER-TRACE seed=(\d+) hours=(\d+) digest=([0-9a-f]{8}) decisions=(\d+) lines=(\d+)")
HOURLY = re.compile(r"CONTROLLER-TRACE-HOURLY ((?:[0-9a-f]{8} ?)+)")


def test_controller_decides_identically_in_cpython_and_micropython() -> None:
    try:
        mpy.node_binary()
    except mpy.MpyUnavailable as e:
        pytest.fail(str(e))
    run = mpy.run([MODULE], timeout=120)
    assert not run.errors, run.report()
    got = [t for t in run.tests if t.test == TEST]
    assert len(got) == 1 and got[0].outcome == "passed", run.report() or run.text[-2000:]
    out = got[0].output
    m = LINE.search(out)
    h = HOURLY.search(out)
    assert m and h, f"{MODULE.name} under MicroPython printed no trace digest; its output:\n{out}"
    seed, hours = int(m.group(1)), int(m.group(2))
    digest, hourly, stats = trace(seed, hours)
    mpy_hourly = h.group(1).split()
    cpy_hourly = [f"{x:08x}" for x in hourly]
    first = next((i for i, (a, b) in enumerate(zip(cpy_hourly, mpy_hourly, strict=False)) if a != b), None)
    assert mpy_hourly == cpy_hourly, (
        f"traces part in hour {first} of seed {seed}: CPython {cpy_hourly[first:first + 3]}, "
        f"MicroPython {mpy_hourly[first:first + 3]}")
    assert m.group(3) == f"{digest:08x}", f"final digest: CPython {digest:08x}, MicroPython {m.group(3)}"
    assert (int(m.group(4)), int(m.group(5))) == (stats["decisions"], stats["lines"])
    assert stats["decisions"] > 20
