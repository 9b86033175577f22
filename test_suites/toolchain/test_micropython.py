"""The portable core tests pass under the real MicroPython interpreter; the P1 stack's heap per telegram.

One `node mpy/run.mjs` process runs every `test_suites/core/test_*.py` module and then measures, for each
telegram file, the heap a fresh P1Stack allocates while it reads and parses that telegram (fed in 64-byte
chunks, like UART reads). The numbers are written to reports/mpy-heap.json.
"""

import json
from pathlib import Path

import pytest

from hil import mpy, testdata

pytestmark = pytest.mark.mpy

ROOT = mpy.ROOT
REPORT = ROOT / "reports" / "mpy-heap.json"

# Heap bound per telegram, bytes allocated from the first feed() to the parsed Telegram. Measured with
# MicroPython 1.27 (wasm32: 4-byte words and 16-byte GC blocks, as on the ESP32): 32 KB for the
# largest sample (dsmr_parser_13, 1423 bytes, 45 objects), 2.4-28 KB for the others. The WebAssembly
# port never collects while Python runs, so this is everything the read allocates, an upper bound of its
# peak. 48 KiB leaves ~25 % headroom for parser changes and stays under half of the ~100-150 KB the ESP32
# has free for Python: a SmartMeter whose collector ran just before a telegram can always read it.
ALLOC_BOUND = 48 * 1024
# What stays allocated after a collection: the parsed Telegram the caller keeps (measured <= 5.6 KB).
LIVE_BOUND = 8 * 1024


def telegram_dir() -> Path:
    """The real telegrams (hil.testdata: the repository's copy, or $BCHAIN_TELEGRAMS)."""
    try:
        return testdata.telegram_dir()
    except FileNotFoundError as e:
        pytest.fail(str(e))


def test_portable_modules_exist():
    assert mpy.portable_modules(), f"no portable test modules in {mpy.CORE_TESTS}"


def failures_and_errors(run: mpy.MpyRun) -> list[str]:
    """Portable tests that failed or did not import under MicroPython, with MicroPython's tracebacks."""
    if not run.info.get("micropython", "").startswith("1."):
        return [f"the runner did not report a MicroPython version:\n{run.text[:500]}\n{run.stderr[-2000:]}"]
    out = []
    if (run.returncode == 0) != (not run.failures and not run.errors):
        out.append(f"runner exit status {run.returncode} disagrees with its results")
    if run.failures or run.errors:
        out.append(f"{len(run.failures)} failed, {len(run.errors)} modules did not import under "
                   f"MicroPython:\n\n{run.report()}")
    if run.summary.get("passed") != len(run.tests) - len(run.failures) or not run.tests:
        out.append(f"summary {run.summary} does not match {len(run.tests)} test results")
    return out


def not_run(run: mpy.MpyRun) -> list[str]:
    """Tests pytest collects (top-level `def test_*`) that MicroPython did not run."""
    ran: dict[str, set[str]] = {}
    for t in run.tests:
        ran.setdefault(t.module, set()).add(t.test)
    broken = {e.module for e in run.errors}
    out = []
    for m in mpy.portable_modules():
        rel = str(m.relative_to(ROOT))
        lost = set(mpy.defined_tests(m)) - ran.get(rel, set())
        if lost and rel not in broken:
            out.append(f"defined but not run under MicroPython: {rel}: {sorted(lost)}")
    return out


def heap_problems(run: mpy.MpyRun, telegrams: Path) -> list[str]:
    """Heap measurements missing, failed, or over the bounds."""
    rows = run.heap
    names = sorted(p.name for p in telegrams.glob("*.txt"))
    if [r.get("file") for r in rows] != names:
        return [f"heap rows {[r.get('file') for r in rows]} do not match the telegram files {names}"]
    out = [f"heap measurement failed under MicroPython: {r['file']}: {r['error']}"
           for r in rows if "error" in r]
    if out:
        return out
    parsed = [r for r in rows if r["telegrams"] == 1]
    # every sample but the two with a deliberately wrong CRC is a telegram the stack must accept
    if len(parsed) < len(rows) - 2:
        lost = [(r["file"], r["counters"]) for r in rows if r["telegrams"] != 1]
        out.append(f"telegrams not decoded: {lost}")
    out += [f"{r['file']}: decoded without objects or allocation: {r}" for r in parsed
            if r["objects"] <= 0 or r["alloc"] <= 0]
    out += [f"{r['file']}: {r['alloc']} bytes allocated ({r['bytes']}-byte telegram, {r['objects']} objects) "
            f"> bound {ALLOC_BOUND}" for r in rows if r["alloc"] > ALLOC_BOUND]
    out += [f"{r['file']}: {r['live']} bytes kept > bound {LIVE_BOUND}"
            for r in rows if r["live"] > LIVE_BOUND]
    saved = json.loads(REPORT.read_text())
    if saved["alloc_max"] != max(r["alloc"] for r in rows):
        out.append(f"{REPORT} alloc_max {saved['alloc_max']} differs from the rows")
    return out


def test_core_tests_pass_and_p1_heap_within_bounds_under_micropython():
    # one node process for everything (startup and the interpreter are slow; under pytest-xdist
    # separate tests sharing a fixture would start it once per worker)
    try:
        mpy.node_binary()
    except mpy.MpyUnavailable as e:
        pytest.fail(str(e))
    telegrams = telegram_dir()
    run = mpy.run(mpy.portable_modules(), telegrams=telegrams, heap_json=REPORT, timeout=240)
    problems = failures_and_errors(run) + not_run(run) + heap_problems(run, telegrams)
    assert not problems, "\n\n".join(problems)


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
