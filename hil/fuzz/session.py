"""One bounded fuzzing run of the P1 stack: start the libFuzzer worker, follow its progress, sum it up.

The worker (hil/fuzz/worker.py) runs in its own process because libFuzzer owns the process it runs in
(it exits when done or on a crash). libFuzzer writes every new coverage-increasing input into the FIRST
corpus folder only; the seed folders (example telegrams, committed corpus) are copied or read, never
written.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from hil.fuzz import seeds

STAT = re.compile(r"^#(\d+)\s+(\w+)\s+cov: (\d+) ft: (\d+) corp: (\d+)/")
DONE = re.compile(r"^Done (\d+) runs in (\d+) second")
CRASH = re.compile(r"^HIL-FUZZ-CRASH (.+)$")


@dataclass
class FuzzReport:
    """What one run did."""

    returncode: int
    execs: int = 0
    coverage: int = 0
    features: int = 0
    corpus_files: int = 0
    new_inputs: int = 0
    seconds: float = 0.0
    crashes: list[Path] = field(default_factory=list)
    log: str = ""

    @property
    def ok(self) -> bool:
        """No crash and libFuzzer ended normally."""
        return self.returncode == 0 and not self.crashes


@dataclass(frozen=True)
class FuzzConfig:
    """Where and how long to fuzz."""

    corpus: Path
    crashes: Path
    runs: int | None = None
    seconds: int | None = None
    max_len: int = 8192
    timeout_per_input: int = 10
    seed: int | None = None
    selftest_crash: str | None = None
    extra_seed_dirs: tuple[Path, ...] = ()


def prepare_seeds(work: Path) -> Path:
    """Copy the example telegrams (*.txt, streams) and the synthetic seeds into `work`/seeds; return it."""
    dest = work / "seeds"
    dest.mkdir(parents=True, exist_ok=True)
    tel = seeds.telegram_dir()
    if tel is not None:
        for p in sorted(tel.glob("*.txt")) + sorted((tel / "streams").glob("*.txt")):
            target = dest / p.name
            if not target.exists():
                shutil.copyfile(p, target)
    for name, data in seeds.synthetic().items():
        (dest / name).write_bytes(data)
    return dest


def libfuzzer_args(cfg: FuzzConfig, dict_path: Path, seed_dir: Path) -> list[str]:
    """Build the libFuzzer command line: options, the output corpus first, then read-only seed folders."""
    args = [f"-max_len={cfg.max_len}", f"-timeout={cfg.timeout_per_input}", f"-dict={dict_path}",
            f"-artifact_prefix={cfg.crashes}/libfuzzer-", "-print_final_stats=1"]
    if cfg.runs is not None:
        args.append(f"-runs={cfg.runs}")
    if cfg.seconds is not None:
        args.append(f"-max_total_time={cfg.seconds}")
    if cfg.seed is not None:
        args.append(f"-seed={cfg.seed}")
    dirs = [cfg.corpus, seed_dir, seeds.COMMITTED_CORPUS, *cfg.extra_seed_dirs]
    seen: list[Path] = []
    for d in dirs:
        if d.is_dir() and d.resolve() not in [s.resolve() for s in seen]:
            seen.append(d)
    return args + [str(d) for d in seen]


def _run_worker(cfg: FuzzConfig, work: Path,
                on_progress: Callable[[int, int, int], None] | None) -> FuzzReport:
    """Start the libFuzzer worker with seeds and dictionary in `work`; follow its log until it ends."""
    dict_path = seeds.write_dictionary(work / "p1.dict")
    seed_dir = prepare_seeds(work)
    cmd = [sys.executable, "-m", "hil.fuzz.worker", "--crashes", str(cfg.crashes)]
    if cfg.selftest_crash:
        cmd += ["--selftest-crash", cfg.selftest_crash]
    cmd += ["--", *libfuzzer_args(cfg, dict_path, seed_dir)]
    rep = FuzzReport(returncode=-1)
    log: list[str] = []
    with subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          errors="replace", cwd=seeds.ROOT) as proc:
        assert proc.stderr is not None
        for line in proc.stderr:
            log.append(line)
            m = STAT.match(line)
            if m:
                rep.execs, rep.coverage, rep.features, rep.corpus_files = (
                    int(m[1]), int(m[3]), int(m[4]), int(m[5]))
                if on_progress:
                    on_progress(rep.execs, rep.coverage, rep.corpus_files)
                continue
            m = DONE.match(line)
            if m:
                rep.execs = int(m[1])
                continue
            m = CRASH.match(line.strip())
            if m:
                rep.crashes.append(Path(m[1]))
        rep.returncode = proc.wait()
    rep.log = "".join(log)
    return rep


def run(cfg: FuzzConfig, on_progress: Callable[[int, int, int], None] | None = None) -> FuzzReport:
    """Fuzz until the run or time budget is spent or an input breaks an invariant."""
    if cfg.runs is None and cfg.seconds is None:
        raise ValueError("a fuzzing run needs a bound: runs or seconds")
    # the worker runs in the repository root: every folder it gets must be absolute
    cfg = replace(cfg, corpus=cfg.corpus.resolve(), crashes=cfg.crashes.resolve(),
                  extra_seed_dirs=tuple(d.resolve() for d in cfg.extra_seed_dirs))
    cfg.corpus.mkdir(parents=True, exist_ok=True)
    cfg.crashes.mkdir(parents=True, exist_ok=True)
    before = {p.name for p in cfg.corpus.iterdir()}
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="hil-fuzz-") as tmp:
        rep = _run_worker(cfg, Path(tmp), on_progress)
    rep.seconds = time.monotonic() - t0
    rep.new_inputs = len({p.name for p in cfg.corpus.iterdir()} - before)
    return rep


def merge(into: Path, sources: list[Path], timeout: float = 600, edges_only: bool = False) -> tuple[int, str]:
    """Merge with libFuzzer -merge=1: add to `into` only inputs of `sources` that bring new coverage.

    libFuzzer runs the merge in child processes it starts by re-executing its argv[0], so the worker
    gets a small executable wrapper as argv[0] (a Python module path is not executable).
    """
    into = into.resolve()
    sources = [s.resolve() for s in sources]
    into.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="hil-fuzz-merge-"))
    crashes = work / "crashes"
    wrapper = work / "worker.sh"
    wrapper.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m hil.fuzz.worker '
                       f'--crashes {shlex.quote(str(crashes))} --argv0 "$0" -- "$@"\n')
    wrapper.chmod(0o755)
    cmd = [str(wrapper), "-merge=1", f"-merge_control_file={work / 'control'}"]
    if edges_only:  # keep one input per code edge reached, not per hit-count bucket: a much smaller set
        cmd.append("-use_counters=0")
    cmd += [str(into), *[str(s) for s in sources]]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=timeout,
                           cwd=seeds.ROOT)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return p.returncode, p.stderr
