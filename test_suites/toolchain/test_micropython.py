"""The portable core tests pass under the real MicroPython interpreter; the P1 stack's heap per telegram.

One `node mpy/run.mjs` process runs every `test_suites/core/test_*.py` module and then measures, for each
telegram file, the heap a fresh P1Stack allocates while it reads and parses that telegram (fed in 64-byte
chunks, like UART reads). The numbers are written to reports/mpy-heap.json.
"""

import json
import os
from pathlib import Path

import pytest

from hil import mpy

pytestmark = pytest.mark.mpy

ROOT = mpy.ROOT
REPORT = ROOT / "reports" / "mpy-heap.json"

# Heap bound per telegram, bytes allocated from the first feed() to the parsed Telegram. Measured with
# MicroPython 1.27 (wasm32: 4-byte words and 16-byte GC blocks, as on the ESP32): 37-39 KB for the
# largest sample (dsmr_parser_13, 1423 bytes, 45 objects), 6-40 KB for the others. The WebAssembly
# port never collects while Python runs, so this is everything the read allocates, an upper bound of its
# peak. 48 KiB leaves ~25 % headroom for parser changes and stays under half of the ~100-150 KB the ESP32
# has free for Python: a SmartMeter whose collector ran just before a telegram can always read it.
ALLOC_BOUND = 48 * 1024
# What stays allocated after a collection: the parsed Telegram the caller keeps (measured <= 6.5 KB).
LIVE_BOUND = 8 * 1024


def telegram_dir() -> Path:
    """The real telegrams (../shared/telegrams, or $BCHAIN_TELEGRAMS)."""
    env = os.environ.get("BCHAIN_TELEGRAMS")
    for d in ([Path(env)] if env else []) + [ROOT / "test_suites" / "data" / "telegrams",
                                              ROOT.parent / "shared" / "telegrams"]:
        if d.is_dir() and any(d.glob("*.txt")):
            return d
    pytest.fail("no telegram folder: set BCHAIN_TELEGRAMS to a folder of *.txt telegrams")


@pytest.fixture(scope="module")
def run() -> mpy.MpyRun:
    try:
        mpy.node_binary()
    except mpy.MpyUnavailable as e:
        pytest.fail(str(e))
    modules = mpy.portable_modules()
    return mpy.run(modules, telegrams=telegram_dir(), heap_json=REPORT, timeout=120)


def test_portable_modules_exist():
    assert mpy.portable_modules(), f"no portable test modules in {mpy.CORE_TESTS}"


def test_portable_tests_pass_under_micropython(run: mpy.MpyRun):
    assert run.info.get("micropython", "").startswith("1."), run.text[:500]
    assert (run.returncode == 0) == (not run.failures and not run.errors), run.report()
    assert not run.errors and not run.failures, (
        f"{len(run.failures)} failed, {len(run.errors)} modules did not import under MicroPython:\n\n"
        + run.report())
    assert run.summary["passed"] == len(run.tests) > 0


def test_every_test_pytest_collects_ran_under_micropython(run: mpy.MpyRun):
    ran: dict[str, set[str]] = {}
    for t in run.tests:
        ran.setdefault(t.module, set()).add(t.test)
    missing = []
    for m in mpy.portable_modules():
        rel = str(m.relative_to(ROOT))
        want = set(mpy.defined_tests(m))
        lost = want - ran.get(rel, set())
        if lost and rel not in {e.module for e in run.errors}:
            missing.append(f"{rel}: {sorted(lost)}")
    assert not missing, "defined but not run under MicroPython:\n" + "\n".join(missing)


def test_heap_per_telegram_within_bounds(run: mpy.MpyRun):
    rows = run.heap
    names = sorted(p.name for p in telegram_dir().glob("*.txt"))
    assert [r["file"] for r in rows] == names
    broken = [f"{r['file']}: {r['error']}" for r in rows if "error" in r]
    assert not broken, "heap measurement failed under MicroPython:\n" + "\n".join(broken)
    parsed = [r for r in rows if r["telegrams"] == 1]
    # every sample but the two with a deliberately wrong CRC is a telegram the stack must accept
    assert len(parsed) >= len(rows) - 2, [(r["file"], r["counters"]) for r in rows if r["telegrams"] != 1]
    assert all(r["objects"] > 0 and r["alloc"] > 0 for r in parsed)
    over = [f"{r['file']}: {r['alloc']} bytes allocated ({r['bytes']}-byte telegram, {r['objects']} objects)"
            for r in rows if r["alloc"] > ALLOC_BOUND]
    assert not over, f"over the {ALLOC_BOUND}-byte heap bound per telegram:\n" + "\n".join(over)
    kept = [f"{r['file']}: {r['live']} bytes kept" for r in rows if r["live"] > LIVE_BOUND]
    assert not kept, f"over the {LIVE_BOUND}-byte bound for a parsed telegram:\n" + "\n".join(kept)
    saved = json.loads(REPORT.read_text())
    assert saved["alloc_max"] == max(r["alloc"] for r in rows)


def test_runner_reports_failures_and_import_errors(tmp_path: Path):
    # the runner must be able to say "failed": a module with one pass, one failure, and one that cannot import
    good = tmp_path / "test_probe_a.py"
    good.write_text("from firmware.p1.crc16 import crc16_arc\n\n"
                    "def test_ok():\n    assert crc16_arc(b'123456789') == 0xBB3D\n\n"
                    "def test_bad():\n    print('seen')\n    assert 1 + 1 == 3, 'arithmetic'\n")
    broken = tmp_path / "test_probe_b.py"
    broken.write_text("import typing\n\ndef test_never():\n    pass\n")
    r = mpy.run([good, broken], timeout=60)
    assert r.returncode == 1
    assert [(t.test, t.outcome) for t in r.tests] == [("test_ok", "passed"), ("test_bad", "failed")]
    bad = r.tests[1]
    assert "AssertionError: arithmetic" in bad.traceback and "test_probe_a.py\", line 8" in bad.traceback
    assert bad.output == "seen"
    assert len(r.errors) == 1 and "ImportError" in r.errors[0].traceback and "typing" in r.errors[0].traceback
