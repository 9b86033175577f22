"""``hil certify``: run the certification suites on a rig against one firmware image; write what proves it.

:func:`certify` runs pytest (a child process, so a rig is brought up and down cleanly and its output is
kept in ``pytest.log``) on the certification suites with the rig plugin, and writes into ``out``:

- ``record.json``: the OpenHTF-spirited record: every measurement with unit, limits and outcome, each
  test's outcome and steps, the firmware image's SHA-256, the rig file's SHA-256, the git commit, tool
  versions, the station, and one verdict (``outcome``: PASS, FAIL or ERROR);
- ``junit.xml``; ``allure-results/`` (and ``report/`` from the ``allure`` command line when installed);
- ``report/index.html``: the static summary of the record when ``allure`` is not installed
  (``summary.html`` always);
- ``firmware-image.tar``: for emulated boards, the deterministic tarball of ``firmware/`` whose
  SHA-256 the record names (see :mod:`hil.certify.image`).

``out`` is emptied first when it holds an earlier certification (a ``.hil-certify`` marker), so running
twice is safe; a non-empty folder without the marker is refused rather than wiped.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from hil import memory
from hil.certify import allure_read, html
from hil.certify.image import sha256_bytes, sha256_file, tree_tarball
from hil.certify.meta import git_info, station, tool_versions
from hil.rig import Rig, load_rig

ROOT = Path(__file__).resolve().parents[2]
SUITES = ("test_suites/e2e",)
MARKER = ".hil-certify"


class CertifyError(RuntimeError):
    """Certification could not run (bad arguments, an output folder that is not ours)."""


@attrs.frozen
class Outcome:
    """What a certification produced: the verdict, the record and where the reports are."""

    verdict: str
    record: dict[str, Any]
    out: Path
    report: Path
    pytest_exit: int

    def line(self) -> str:
        """Return the one verdict line."""
        c = self.record.get("counts", {})
        img = self.record["metadata"]["image"]["sha256"][:16]
        rig = self.record["metadata"]["rig"]
        return (f"CERTIFY {self.verdict}: {c.get('PASS', 0)} passed, {c.get('FAIL', 0)} failed, "
                f"{c.get('ERROR', 0)} errors, {c.get('SKIPPED', 0)} skipped; image sha256 {img}...; "
                f"rig {rig.get('name')} sha256 {str(rig.get('sha256'))[:16]}...; report {self.report}")


def prepare_out(out: Path) -> None:
    """Create ``out``, or empty it when it holds an earlier certification; refuse any other folder."""
    if out.exists():
        if not out.is_dir():
            raise CertifyError(f"--out {out}: expected a folder, found a file")
        if any(out.iterdir()) and not (out / MARKER).exists():
            raise CertifyError(f"--out {out}: the folder is not empty and holds no earlier certification "
                               f"(no {MARKER} file); expected an empty or a certification folder")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / MARKER).write_text("hil certify output folder: emptied by the next run\n", encoding="utf-8")


def image_identity(rig: Rig, image: Path | None, out: Path, digest: str | None = None) -> dict[str, Any]:
    """Return the record's image entry; write the firmware tarball when emulated boards run the tree.

    All boards emulated: the image is the tarball of firmware/ (``--image``, if given, must be that very
    tarball). Real boards: the image is ``--image`` (required); emulated boards beside them run the tree,
    whose tarball hash is recorded as ``emulated_boards_sha256``.
    """
    emulated = [b.name for b in rig.boards.values() if b.emulated]
    real = [b.name for b in rig.boards.values() if not b.emulated]
    tree_sha = None
    if emulated:
        tar = tree_tarball(ROOT / "firmware")
        (out / "firmware-image.tar").write_bytes(tar)
        tree_sha = sha256_bytes(tar)
    if image is not None and digest is None:
        digest = image_digest(image)
    if not real:
        assert tree_sha is not None
        if digest is not None and digest != tree_sha:
            raise CertifyError(
                f"--image {image}: every board of rig {rig.name} is emulated and runs firmware/ from this "
                f"checkout (tarball sha256 {tree_sha[:16]}...), but the image's sha256 is {digest[:16]}...; "
                "certify that image on a rig with real boards, or leave --image out")
        return {"kind": "tree-tarball", "sha256": tree_sha, "path": str(out / "firmware-image.tar"),
                "source": str(ROOT / "firmware"), "boards": emulated}
    if digest is None:
        raise CertifyError(f"rig {rig.name} has real boards ({', '.join(real)}): --image FILE, the image "
                           "they run, is required")
    entry: dict[str, Any] = {"kind": "file", "sha256": digest, "path": str(image), "boards": real}
    if tree_sha is not None:
        entry["emulated_boards_sha256"] = tree_sha
        entry["emulated_boards"] = emulated
    return entry


def image_digest(image: Path) -> str:
    """Return the SHA-256 of an image file (CertifyError when there is none)."""
    if not image.is_file():
        raise CertifyError(f"--image {image}: expected a firmware image file, found none")
    return sha256_file(image)


def pytest_command(rig_path: Path, out: Path, suites: list[str], workers: int, extra: list[str]) -> list[str]:
    """Return the pytest command line of a certification run."""
    cmd = [sys.executable, "-m", "pytest", *suites, "-p", "hil.fixtures.plugin", "--rig", str(rig_path),
           "-p", "no:cacheprovider",
           "-m", "not soak", "-q", "-rfEs", "--junitxml", str(out / "junit.xml"),
           "--alluredir", str(out / "allure-results"), "--clean-alluredir",
           "--hil-record", str(out / "record.pytest.json"), "--hil-progress", str(out / "progress.jsonl")]
    if workers > 1:   # fixed shares per worker: the same tests on the same rig in the same order each run
        # and one more worker for the files that start their own boards (the OTA suites): they run beside
        # the rigs instead of after them (an emulated rig only: a bench has one worker)
        cmd += ["-n", str(workers + 1), "--dist", "loadgroup", "--bench-worker"]
    return cmd + extra


def follow(progress: Path, proc: subprocess.Popen[bytes], on_event: Callable[[dict[str, Any]], None],
           poll_s: float = 0.2) -> int:
    """Feed each progress event to ``on_event`` until the process ends; return its exit code."""
    pos = 0
    while True:
        code = proc.poll()
        if progress.exists():
            with progress.open("r", encoding="utf-8") as f:
                f.seek(pos)
                while True:
                    line = f.readline()
                    if not line.endswith("\n"):
                        break
                    pos = f.tell()
                    on_event(json.loads(line))
        if code is not None:
            return code
        time.sleep(poll_s)  # the child writes the file; no event to wait on across processes


def certify(rig_path: Path | None, image: Path | list[Path] | None, out: Path, *, workers: int | None = None,
            suites: list[str] | None = None, extra: list[str] | None = None,
            on_event: Callable[[dict[str, Any]], None] = lambda e: None) -> Outcome:
    """Run a certification; see the module's docstring for what lands in ``out``."""
    from hil.image import certify_support as ota  # OTA images (.bchfw): installed over the air first

    images = [image] if isinstance(image, Path) else list(image or [])
    rig = load_rig(rig_path)
    rig_file = Path(rig.source)
    out = out.resolve()
    if images and all(ota.is_ota_image(p) for p in images):
        prepare_out(out)
        try:
            image_entry = ota.entry(images, out)
        except ValueError as e:
            raise CertifyError(str(e)) from None
        extra = ota.pytest_args(image_entry, out) + list(extra or [])
    else:
        if len(images) > 1:
            raise CertifyError("several --image files are for OTA images (.bchfw) only")
        image = images[0] if images else None
        digest = image_digest(image) if image is not None else None   # before out is emptied
        prepare_out(out)
        image_entry = image_identity(rig, image, out, digest)
    started = time.time()
    if workers is None:
        workers = 2 if rig.fully_emulated else 1
    if workers > 1 and not rig.fully_emulated:
        raise CertifyError(f"rig {rig.name} has real parts: one pytest worker only (got {workers}); "
                           "two workers would start two rigs on the same bench")
    # what the image needs of each board's heap, next to its hash (issue 15: the rig fails what the device
    # would fail). Measured on the checkout's image manifests: what the emulated boards run. The
    # measurement (node processes, ~20 s of wall time on 2 busy cores) needs nothing of the rig: it runs
    # while pytest does, and the record waits for it.
    boards = [(b.name, b.role, b.board_class) for b in rig.boards.values()]
    mem_pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="certify-memory")
    mem_future = mem_pool.submit(memory.rig_entry, boards)
    mem_pool.shutdown(wait=False)
    cmd = pytest_command(rig_file, out, list(suites or SUITES), workers, list(extra or []))
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cpu0 = _children_cpu_s()
    with (out / "pytest.log").open("wb") as log:
        log.write(("$ " + " ".join(cmd) + "\n").encode())
        log.flush()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            code = follow(out / "progress.jsonl", proc, on_event)
        except BaseException:
            proc.terminate()
            proc.wait(30)
            raise
    cpu_s = _children_cpu_s() - cpu0   # pytest, its rigs and boards, the memory measurement: load-independent
    image_entry["memory"] = mem_future.result()
    if image_entry.get("kind") == "bchfw":
        ota.merge_reports(image_entry, out)
    raw = out / "record.pytest.json"
    record: dict[str, Any] = json.loads(raw.read_text(encoding="utf-8")) if raw.exists() else {
        "outcome": "ERROR", "counts": {}, "phases": [], "metadata": {},
        "error": f"pytest ended with code {code} before writing a record; see pytest.log"}
    if code not in (0, 1) and record.get("outcome") == "PASS":
        record["outcome"] = "ERROR"    # interrupted, internal error, usage error: no certification
    mem_outcome = image_entry["memory"]["outcome"]
    if mem_outcome != "PASS" and record.get("outcome") == "PASS":
        record["outcome"] = mem_outcome  # an image that would run out of memory on a board is no pass
    record["metadata"] = {
        **record.get("metadata", {}),
        "rig": {**record.get("metadata", {}).get("rig", {}), "name": rig.name, "file": str(rig_file),
                "sha256": rig.sha256, "fully_emulated": rig.fully_emulated},
        "image": image_entry, "git": git_info(ROOT), "tools": tool_versions(), "station": station(),
        "suites": list(suites or SUITES), "workers": workers, "command": cmd, "pytest_exit": code,
        "started_millis": round(started * 1000), "finished_millis": round(time.time() * 1000),
        "cpu_s": round(cpu_s, 1), "load_average": _load_average(),
    }
    (out / "record.json").write_text(json.dumps(record, indent=1), encoding="utf-8")
    raw.unlink(missing_ok=True)
    page = html.render(record, allure_read.read(out / "allure-results"))
    (out / "summary.html").write_text(page, encoding="utf-8")
    report = _report(out, page)
    return Outcome(record.get("outcome", "ERROR"), record, out, report, code)


def _report(out: Path, page: str) -> Path:
    """Generate the allure report when its command line exists, else the static summary as the report."""
    target = out / "report"
    allure = shutil.which("allure")
    if allure is not None:
        r = subprocess.run([allure, "generate", str(out / "allure-results"), "-o", str(target), "--clean"],
                           capture_output=True, text=True, timeout=300)
        if r.returncode == 0 and (target / "index.html").exists():
            return target / "index.html"
    target.mkdir(exist_ok=True)
    (target / "index.html").write_text(page, encoding="utf-8")
    return target / "index.html"


def _children_cpu_s() -> float:
    """Return the CPU seconds (user + system) of this process's finished children and theirs."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _load_average() -> list[float] | None:
    """Return the host's 1, 5 and 15 min load averages at the end of the run (None where unknown)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None
