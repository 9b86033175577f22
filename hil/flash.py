"""`hil flash --port PORT FILE`: the first install on a board that runs MicroPython, through mpremote.

It puts on the board's filesystem the loader (`/main.py`, `/boot.py`: never updated over the air), the
trusted key digests (`/ota/trusted_keys`), what the board is (`/ota/board.json`), the image's compiled
modules in slot `a` (`/app/a/...` with `IMAGE.json`), the state that makes `a` the active, confirmed
slot with the image's security counter as floor (`/ota.json`) and, with ``identity``, the module's TLS key
and certificate (`/tls_key.pem`, `/tls_cert.pem`: made on the host by hil/devcert.py, docs/security.md);
then it reads every file back from the
board (SHA-256 computed on the board) and compares. The image must carry a valid signature by one of
the keys the board will trust. With ``micropython=FILE`` it first writes MicroPython itself with esptool.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from firmware.apps.common.boot import TLS_CERT_FILE, TLS_KEY_FILE
from firmware.ota import manifest as mf
from firmware.ota import sigblock
from firmware.ota.errors import OtaError

from .image.container import Image

ROOT = Path(__file__).resolve().parents[1]
MPREMOTE = [sys.executable, "-m", "mpremote"]


class FlashError(RuntimeError):
    """The image cannot go on the board, or the board did not take it; the message says which file."""


def slot_meta(img: Image) -> dict:
    """Return the IMAGE.json / ota.json entry of the image (the device service's format)."""
    m = img.manifest
    return {"module": m.module, "version": mf.version_text(m.version), "version_t": list(m.version),
            "security_counter": m.counter, "identity": img.identity,
            "manifest_sha256": hashlib.sha256(img.manifest_sector).hexdigest(),
            "source_commit": m.commit.hex(), "payload_len": m.payload_len, "key_block": 0}


def plan(img: Image, trusted: list[bytes], identity: tuple[bytes, bytes] | None = None) -> dict[str, bytes]:
    """Return {board path: bytes} of everything the first install writes. Pure.

    identity: (key PEM, certificate PEM) of the module's TLS identity, written beside the loader.
    """
    try:
        sigblock.check(img.signature_sector, img.manifest_sector, trusted)
    except OtaError as e:
        raise FlashError(f"image {img.identity[:16]}...: {e} (give --trust with the key that signed it)"
                         ) from None
    files: dict[str, bytes] = {
        "main.py": (ROOT / "firmware" / "main.py").read_bytes(),
        "boot.py": (ROOT / "firmware" / "boot.py").read_bytes(),
        "ota/trusted_keys": "".join(d.hex() + "\n" for d in trusted).encode(),
        "ota/board.json": json.dumps({"kind": img.manifest.module}).encode(),
    }
    with tarfile.open(fileobj=io.BytesIO(img.payload), mode="r:") as tar:
        for member in tar.getmembers():
            if member.isfile() and member.name.startswith("mpy/"):
                f = tar.extractfile(member)
                assert f is not None
                files["app/a/" + member.name[4:]] = f.read()
    meta = slot_meta(img)
    files["app/a/IMAGE.json"] = json.dumps(meta).encode()
    state = {"active": "a", "previous": "", "pending": "", "tries": 0, "floor": img.manifest.counter,
             "state": "confirmed", "slots": {"a": meta}, "boots": 0}
    files["ota.json"] = json.dumps(state).encode()
    if identity is not None:
        files[TLS_KEY_FILE], files[TLS_CERT_FILE] = identity
    return files


READBACK = """import hashlib, os
def walk(p):
    for n in os.listdir(p):
        q = p + '/' + n if p else n
        if os.stat(q)[0] & 0x4000:
            walk(q)
        else:
            h = hashlib.sha256()
            with open(q, 'rb') as f:
                while True:
                    b = f.read(1024)
                    if not b:
                        break
                    h.update(b)
            print('FILE', q, ''.join('%02x' % x for x in h.digest()))
for top in ('app', 'ota'):
    walk(top)
for one in ('main.py', 'boot.py', 'ota.json') + EXTRA:
    h = hashlib.sha256()
    with open(one, 'rb') as f:
        h.update(f.read())
    print('FILE', one, ''.join('%02x' % x for x in h.digest()))
"""


def _mpremote(port: str, args: list[str], timeout: float) -> str:
    r = subprocess.run(MPREMOTE + ["connect", port, *args], capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise FlashError(f"mpremote {' '.join(args[:3])}... on {port} failed ({r.returncode}): "
                         f"{(r.stderr or r.stdout).strip()[-800:]}")
    return r.stdout


def write_micropython(port: str, firmware: Path, chip: str = "esp32") -> None:
    """Write MicroPython itself (a .bin from micropython.org) with esptool, erasing the flash first."""
    base = [sys.executable, "-m", "esptool", "--chip", chip, "--port", port]
    for args in (["erase-flash"], ["write-flash", "-z", "0x1000", str(firmware)]):
        r = subprocess.run(base + args, capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            raise FlashError(f"esptool {args[0]} on {port} failed: {(r.stderr or r.stdout).strip()[-800:]}")


MAC_PROBE = """try:
    import network
    m = network.WLAN(network.STA_IF).config('mac')
except Exception:
    import machine
    m = machine.unique_id()
print('MAC', ''.join('%02x' % b for b in m))
"""


def board_mac(port: str, timeout: float = 60.0) -> str:
    """Return the board's MAC ('aa:bb:...'), as its firmware will name itself from it."""
    why = "could not read the board's MAC for its TLS certificate (give --name)"
    try:
        out = _mpremote(port, ["exec", MAC_PROBE], timeout)
    except FlashError as e:
        raise FlashError(f"{why}: {e}") from None
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "MAC" and len(parts[1]) == 12:
            return ":".join(parts[1][i:i + 2] for i in range(0, 12, 2))
    raise FlashError(f"{why}: got {out[-200:]!r}")


def flash(port: str, img: Image, trusted: list[bytes], timeout: float = 300.0,
          identity: tuple[bytes, bytes] | None = None) -> dict[str, str]:
    """Put loader, keys and image (and a TLS identity) on the board; return {path: sha256} read back."""
    files = plan(img, trusted, identity)
    with tempfile.TemporaryDirectory(prefix="hil-flash-") as td:
        stage = Path(td)
        for rel, data in files.items():
            p = stage / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
        dirs = sorted({str(parent) for rel in files for parent in Path(rel).parents} - {"."})
        mk = "import os\nfor d in %r:\n  try:\n    os.mkdir(d)\n  except OSError:\n    pass" % dirs
        args: list[str] = ["exec", mk]
        order = sorted(files, key=lambda rel: rel == "main.py")  # main.py last: a cut before it, no boot
        for rel in order:
            args += ["+", "fs", "cp", str(stage / rel), ":" + rel]
        _mpremote(port, args, timeout)
    extra = tuple(rel for rel in (TLS_KEY_FILE, TLS_CERT_FILE) if rel in files)
    out = _mpremote(port, ["exec", f"EXTRA = {extra!r}\n" + READBACK], timeout)
    got = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "FILE":
            got[parts[1].lstrip("/")] = parts[2]
    for rel, data in files.items():
        want = hashlib.sha256(data).hexdigest()
        if got.get(rel) != want:
            raise FlashError(f"{rel}: the board holds {got.get(rel, 'nothing')[:16]}..., expected "
                             f"{want[:16]}... (write failed or the flash is full)")
    return got
