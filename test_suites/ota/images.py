"""Small signed test images for the OTA suites, made in memory (no mpy-cross): fast enough for hypothesis."""

from __future__ import annotations

import functools
import hashlib
import io
import tarfile

from cryptography.hazmat.primitives.asymmetric import rsa

from firmware.ota import manifest as mf
from hil.image import keys, payload, sbv2
from hil.image.container import Image, pack_manifest

ABI = 0x306


def members(n: int = 3, size: int = 700) -> list[tuple[str, bytes]]:
    out = []
    for i in range(n):
        body = (f"# module {i}\n" + "x = %d\n" % i * (size // 8)).encode()[:size]
        out.append((f"mpy/firmware/m{i}.mpy", b"M\x06" + body[2:]))
        out.append((f"py/firmware/m{i}.py", body))
    return out


def make(module: str = "smartmeter", *, counter: int = 1, version=(1, 0, 0, 0), hw=(1, 1), abi: int = ABI,
         files: list[tuple[str, bytes]] | None = None, raw_payload: bytes | None = None,
         key: rsa.RSAPrivateKey | None = None) -> Image:
    """A signed image (by the rig key unless key is given)."""
    pay = raw_payload if raw_payload is not None else payload.ustar(files if files is not None else members())
    m = mf.Manifest(module, hw[0], hw[1], counter, version, mf.KIND_MPY_TAR, 0, abi, len(pay),
                    hashlib.sha256(pay).digest(), 0, b"\x42" * 20)
    img = Image(pack_manifest(m), sbv2.sector([]), pay)
    return img.signed(key or rig_key())


@functools.cache
def rig_key() -> rsa.RSAPrivateKey:
    return keys.rig_key()


def trusted() -> list[bytes]:
    return [sbv2.key_digest(rig_key().public_key())]


def evil_tar(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"x", linkname: str = "") -> bytes:
    """A ustar with one member of any name and type (tarfile's writer does not judge names)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo(name)
        info.type = kind
        info.size = len(data) if kind == tarfile.REGTYPE else 0
        info.linkname = linkname
        tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    return buf.getvalue()
