"""The `.bchfw` container: manifest sector, signature sector, payload (layout in docs/ota.md).

The manifest layout is the firmware's own (`firmware/ota/manifest.py`), so host and device read the same
bytes the same way. An image's identity is SHA-256(manifest sector || payload): signing (adding blocks
to the signature sector) does not change it, so a certification record names the bytes a release ships.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa

from firmware.ota import manifest as mf

from . import sbv2

SECTOR = mf.SECTOR


def pack_manifest(m: mf.Manifest) -> bytes:
    """Return the manifest sector (SECTOR bytes) of a Manifest, in the layout the device parses."""
    mod = m.module.encode()
    if not mod or len(mod) > 16:
        raise ValueError(f"module {m.module!r}: expected 1..16 ASCII characters")
    body = struct.pack(mf.LAYOUT, mf.MAGIC, mf.FORMAT_VERSION, mf.MANIFEST_LEN, mod, m.hw_min, m.hw_max,
                       m.counter, *m.version, m.kind, m.flags, m.abi, m.payload_len, m.payload_sha256,
                       m.min_runtime, m.commit)
    return body + b"\xff" * (SECTOR - mf.MANIFEST_LEN)


class ImageError(ValueError):
    """A file that is not a well-formed image; the message says what was expected and where."""


@dataclass(frozen=True)
class Image:
    """One container in memory."""

    manifest_sector: bytes
    signature_sector: bytes
    payload: bytes

    @property
    def manifest(self) -> mf.Manifest:
        """Return the parsed manifest."""
        return mf.parse(self.manifest_sector)

    @property
    def identity(self) -> str:
        """Return the hex SHA-256 of manifest sector and payload (unchanged by signing)."""
        h = hashlib.sha256(self.manifest_sector)
        h.update(self.payload)
        return h.hexdigest()

    def to_bytes(self) -> bytes:
        """Return the file's bytes."""
        return self.manifest_sector + self.signature_sector + self.payload

    def blocks(self) -> list[bytes]:
        """Return the valid signature blocks."""
        return sbv2.blocks(self.signature_sector)

    def signed(self, key: rsa.RSAPrivateKey, replace: bool = False) -> Image:
        """Return this image with a block by key added (replace: as the only block)."""
        kd = sbv2.key_digest(key.public_key())
        keep = [] if replace else [b for b in self.blocks() if sbv2.block_key_digest(b) != kd]
        block = sbv2.sign_block(self.manifest_sector, key)
        return Image(self.manifest_sector, sbv2.sector(keep + [block]), self.payload)


def parse(data: bytes, where: str = "image") -> Image:
    """Split a container's bytes; ImageError if the manifest or the length is wrong."""
    if len(data) < 2 * SECTOR:
        raise ImageError(f"{where}: {len(data)} bytes, expected at least {2 * SECTOR} (manifest and "
                         "signature sectors)")
    try:
        m = mf.parse(data[:SECTOR])
    except mf.OtaError as e:
        raise ImageError(f"{where}: {e}") from None
    payload = data[2 * SECTOR:]
    if len(payload) != m.payload_len:
        raise ImageError(f"{where}: payload of {len(payload)} bytes, the manifest says {m.payload_len}")
    if hashlib.sha256(payload).digest() != m.payload_sha256:
        raise ImageError(f"{where}: payload SHA-256 does not match the manifest (altered or corrupted)")
    return Image(data[:SECTOR], data[SECTOR:2 * SECTOR], payload)


def read(path: Path) -> Image:
    """Read and check an image file."""
    return parse(path.read_bytes(), str(path))
