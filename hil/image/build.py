"""`hil build`: the image of one module from a checkout, the same bytes for the same commit."""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path

from firmware.ota import manifest as mf

from . import payload as pl
from . import sbv2
from .container import Image, pack_manifest

MODULES = ("smartmeter", "smartplug")


@dataclass(frozen=True)
class BuildSpec:
    """What goes into the manifest besides the payload."""

    module: str
    version: tuple[int, int, int, int] = (1, 0, 0, 0)
    security_counter: int = 1
    hw_min: int = 1
    hw_max: int = 1


def parse_version(text: str) -> tuple[int, int, int, int]:
    """'1.2.3' or '1.2.3+4' -> (1, 2, 3, 4); ValueError says what was expected."""
    core, _, build = text.partition("+")
    parts = core.split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts) or (build and not build.isdigit()):
        raise ValueError(f"version {text!r}: expected MAJOR.MINOR.PATCH or MAJOR.MINOR.PATCH+BUILD")
    v = (int(parts[0]), int(parts[1]), int(parts[2]), int(build or 0))
    if any(x > 0xFFFF for x in v):
        raise ValueError(f"version {text!r}: each part must be at most 65535")
    return v


def source_commit(root: Path) -> bytes:
    """Return the checkout's HEAD commit (20 bytes), or 20 zero bytes outside git."""
    r = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True)
    text = r.stdout.strip()
    return bytes.fromhex(text) if r.returncode == 0 and len(text) == 40 else bytes(20)


def build(root: Path, spec: BuildSpec, commit: bytes | None = None) -> Image:
    """Return the unsigned image of spec.module built from the tree at root."""
    if spec.module not in MODULES:
        raise ValueError(f"module {spec.module!r}: expected one of {', '.join(MODULES)}")
    payload = pl.build_payload(root, spec.module)
    m = mf.Manifest(spec.module, spec.hw_min, spec.hw_max, spec.security_counter, spec.version,
                    mf.KIND_MPY_TAR, 0, pl.mpy_abi(), len(payload), hashlib.sha256(payload).digest(), 0,
                    commit if commit is not None else source_commit(root))
    return Image(pack_manifest(m), sbv2.sector([]), payload)
