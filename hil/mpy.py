"""Run the firmware's portable tests under real MicroPython (WebAssembly port on Node.js).

The runner itself is `mpy/run.mjs`; this module finds it, runs it in one `node` process and turns its
tagged output lines (`MPY-TEST {...}`, `MPY-HEAP {...}`, ...) into Python objects.

    python -m hil.mpy [--heap-json FILE] [test_suites/core/test_x.py ...]

runs every portable module (all of `test_suites/core/test_*.py` by default), prints failures and the
per-telegram heap table, and exits non-zero on any failure.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MPY_DIR = ROOT / "mpy"
RUNNER = MPY_DIR / "run.mjs"
PACKAGE = "@micropython/micropython-webassembly-pyscript"
CORE_TESTS = ROOT / "test_suites" / "core"
# ESP32 without PSRAM: MicroPython has roughly 100-150 KB of heap free for Python objects.
DEFAULT_HEAP = 128 * 1024
# A UART read on the device returns what arrived since the last poll; 64 bytes is ~5.6 ms at 115200 baud.
DEFAULT_CHUNK = 64


class MpyUnavailable(RuntimeError):
    """Node.js or the MicroPython npm package is missing."""


@dataclass(frozen=True)
class PortableResult:
    """One portable test function's outcome under MicroPython."""

    module: str
    test: str
    outcome: str
    ms: float
    traceback: str
    output: str


@dataclass(frozen=True)
class ModuleError:
    """A test module that failed to import under MicroPython."""

    module: str
    traceback: str
    output: str


@dataclass
class MpyRun:
    """Everything one runner invocation reported."""

    returncode: int
    info: dict = field(default_factory=dict)
    tests: list[PortableResult] = field(default_factory=list)
    errors: list[ModuleError] = field(default_factory=list)
    heap: list[dict] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    text: str = ""
    stderr: str = ""

    @property
    def failures(self) -> list[PortableResult]:
        """Tests that did not pass."""
        return [t for t in self.tests if t.outcome != "passed"]

    def report(self) -> str:
        """Human-readable account of every failure and import error, with MicroPython's tracebacks."""
        parts = []
        for e in self.errors:
            parts.append(f"IMPORT ERROR {e.module} under MicroPython:\n{e.traceback}{e.output}")
        for t in self.failures:
            out = f"\n--- output ---\n{t.output}" if t.output else ""
            parts.append(f"FAILED {t.module}::{t.test} under MicroPython:\n{t.traceback}{out}")
        for h in self.heap:
            if "error" in h:
                parts.append(f"HEAP MEASUREMENT ERROR {h['file']}:\n{h['error']}")
        if self.returncode not in (0, 1):
            parts.append(f"runner exited with {self.returncode}:\n{self.stderr}")
        return "\n\n".join(parts)


def node_binary() -> str:
    """Path of `node`; raise MpyUnavailable with the fix if Node.js or the npm package is missing."""
    node = shutil.which("node")
    if node is None:
        raise MpyUnavailable("node (Node.js >= 18) is not on PATH: install Node.js, then run scripts/setup")
    pkg = MPY_DIR / "node_modules" / PACKAGE / "micropython.mjs"
    if not pkg.is_file():
        raise MpyUnavailable(f"{pkg} is missing: run `cd mpy && npm install` (scripts/setup does it)")
    return node


def portable_modules(folder: Path = CORE_TESTS) -> list[Path]:
    """List the portable test modules: `test_*.py` directly in `folder`, sorted."""
    return sorted(folder.glob("test_*.py")) if folder.is_dir() else []


def defined_tests(module: Path) -> list[str]:
    """Names of the top-level `def test_*` functions in a module's source (what pytest collects)."""
    tree = ast.parse(module.read_text(encoding="utf-8"), filename=str(module))
    return [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")]


def parse_output(text: str) -> tuple[dict, list[PortableResult], list[ModuleError], list[dict], dict]:
    """Split the runner's stdout into (info, tests, import errors, heap rows, summary)."""
    info: dict = {}
    tests: list[PortableResult] = []
    errors: list[ModuleError] = []
    heap: list[dict] = []
    summary: dict = {}
    for line in text.splitlines():
        tag, _, payload = line.partition(" ")
        if not tag.startswith("MPY-"):
            continue
        try:
            obj = json.loads(payload)
        except json.JSONDecodeError as e:
            raise ValueError(f"runner line tagged {tag} does not carry JSON ({e}): {line[:200]!r}") from e
        if tag == "MPY-INFO":
            info = obj
        elif tag == "MPY-TEST":
            tests.append(PortableResult(obj["module"], obj["test"], obj["outcome"], float(obj["ms"]),
                                    obj["traceback"], obj["output"]))
        elif tag == "MPY-ERROR":
            errors.append(ModuleError(obj["module"], obj["traceback"], obj.get("output", "")))
        elif tag == "MPY-HEAP":
            heap.append(obj)
        elif tag == "MPY-SUMMARY":
            summary = obj
        else:
            raise ValueError(f"unknown runner line tag {tag!r} in {line[:200]!r}")
    return info, tests, errors, heap, summary


def run(
    modules: list[Path],
    *,
    telegrams: Path | None = None,
    heap: int = DEFAULT_HEAP,
    chunk: int = DEFAULT_CHUNK,
    heap_json: Path | None = None,
    mirror: list[Path] | None = None,
    timeout: float = 120.0,
) -> MpyRun:
    """Run `modules` (and the heap measurement over `telegrams`, if given) in one node process."""
    node = node_binary()
    cmd = [node, str(RUNNER), "--root", str(ROOT), "--heap", str(heap), "--chunk", str(chunk)]
    for d in mirror or []:
        cmd += ["--mirror", str(d)]
    if telegrams is not None:
        cmd += ["--telegrams", str(telegrams)]
    if heap_json is not None:
        cmd += ["--heap-json", str(heap_json)]
    cmd += [str(m) for m in modules]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          env={**os.environ, "NODE_NO_WARNINGS": "1"})
    info, tests, errors, heap_rows, summary = parse_output(proc.stdout)
    if proc.returncode in (0, 1) and not summary:
        raise RuntimeError(f"runner ended without a summary line (exit {proc.returncode}):\n{proc.stderr}")
    return MpyRun(proc.returncode, info, tests, errors, heap_rows, summary, proc.stdout, proc.stderr)


def _main(argv: list[str]) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m hil.mpy", description=__doc__.splitlines()[0])
    ap.add_argument("modules", nargs="*", type=Path, help="portable test modules (default: test_suites/core)")
    ap.add_argument("--telegrams", type=Path, default=None, help="*.txt telegram folder for the heap table")
    ap.add_argument("--heap", type=int, default=DEFAULT_HEAP, help="initial GC heap in bytes")
    ap.add_argument("--chunk", type=int, default=DEFAULT_CHUNK, help="bytes per feed() when measuring")
    ap.add_argument("--heap-json", type=Path, default=None, help="write the heap table as JSON here")
    a = ap.parse_args(argv)
    r = run(a.modules or portable_modules(), telegrams=a.telegrams, heap=a.heap, chunk=a.chunk,
            heap_json=a.heap_json)
    for line in r.text.splitlines():
        if not line.startswith("MPY-"):
            print(line)
    rep = r.report()
    if rep:
        print(rep)
    s = r.summary
    print(f"MicroPython {r.info.get('micropython')}: {s.get('passed')} passed, {s.get('failed')} failed, "
          f"{s.get('errors')} errors in {s.get('seconds')} s")
    return r.returncode


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
