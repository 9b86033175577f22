"""The firmware image a certification is for, and its SHA-256.

A real board runs an image file (``--image``): its SHA-256 is the hash of the file's bytes. Emulated
boards run ``firmware/`` from the checkout, so their image is a deterministic tarball of that tree:
regular files only, sorted by path, ``__pycache__`` and ``*.pyc`` left out, every member with mtime 0,
uid/gid 0, no user or group names, mode 0644, POSIX ustar format, uncompressed. The same tree gives the
same bytes on any machine and any day, so ``sha256(tarball)`` names exactly the code that ran; the
tarball itself is written next to the report so a release step can sign that very file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from hil.image.payload import ustar

SKIP_DIRS = frozenset({"__pycache__"})
SKIP_SUFFIXES = (".pyc", ".pyo")


def tree_files(root: Path) -> list[Path]:
    """Return the files of the image, sorted by their path relative to ``root``'s parent."""
    out = []
    for p in root.rglob("*"):
        rel = p.relative_to(root)
        if any(part in SKIP_DIRS or part.startswith(".") for part in rel.parts):
            continue
        if p.is_file() and not p.is_symlink() and not p.name.endswith(SKIP_SUFFIXES):
            out.append(p)
    return sorted(out, key=lambda p: p.relative_to(root.parent).as_posix())


def tree_tarball(root: Path) -> bytes:
    """Return the deterministic tarball of the tree at ``root`` (members named ``<root name>/...``)."""
    if not root.is_dir():
        raise FileNotFoundError(f"firmware image: expected a folder at {root}, found none")
    return ustar([(p.relative_to(root.parent).as_posix(), p.read_bytes()) for p in tree_files(root)])


def sha256_bytes(data: bytes) -> str:
    """Return the hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """Return the hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
