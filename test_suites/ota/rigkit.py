"""What the OTA rig suites share: images built from this checkout (or an altered copy of it), emulated
boards that trust the rig key, uploads through real HTTP clients, and waiting on a board's /api/ota."""

from __future__ import annotations

import functools
import hashlib
import http.client
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from firmware.ota import manifest as mf
from hil.board_process import BoardProcess
from hil.image import payload as pl
from hil.image import sbv2
from hil.image.container import Image, pack_manifest

from . import images

ROOT = Path(__file__).resolve().parents[2]
FAST_OTA = ["--no-mdns", "--ota-health-s", "2", "--ota-wdt-ms", "3000", "--ota-stall-s", "2"]


@functools.cache
def checkout_payload(module: str) -> bytes:
    """The real payload of this checkout (mpy-cross run once per module and session)."""
    return pl.build_payload(ROOT, module)


def image(module: str = "smartmeter", version=(1, 1, 0, 0), counter: int = 2, payload: bytes | None = None,
          hw=(1, 1), abi: int = 0x306, key=None) -> Image:
    """A signed image of the checkout (or of the given payload) with this manifest."""
    pay = payload if payload is not None else checkout_payload(module)
    m = mf.Manifest(module, hw[0], hw[1], counter, version, mf.KIND_MPY_TAR, 0, abi, len(pay),
                    hashlib.sha256(pay).digest(), 0, b"\x42" * 20)
    return Image(pack_manifest(m), sbv2.sector([]), pay).signed(key or images.rig_key())


def altered_payload(tmp: Path, module: str, edits: dict[str, tuple[str, str]]) -> bytes:
    """The payload (sources only) of a copy of the checkout with edits {file: (old, new)} applied."""
    tree = tmp / "tree"
    if tree.exists():
        shutil.rmtree(tree)
    shutil.copytree(ROOT / "firmware", tree / "firmware", ignore=shutil.ignore_patterns("__pycache__"))
    for rel, (old, new) in edits.items():
        p = tree / rel
        text = p.read_text()
        assert old in text, f"{rel}: {old!r} not found"
        p.write_text(text.replace(old, new, 1))
    return pl.build_payload(tree, module, compile=False)


def board(tmp: Path, kind: str = "smartmeter", extra: list[str] | None = None, **kw: Any) -> BoardProcess:
    """An emulated board whose flash trusts the rig key (as `hil flash` provisions a real one)."""
    flash = tmp / f"{kind}-flash"
    (flash / "ota").mkdir(parents=True, exist_ok=True)
    (flash / "ota" / "trusted_keys").write_text("".join(d.hex() + "\n" for d in images.trusted()))
    return BoardProcess(kind, flash, extra=FAST_OTA + (extra or []), **kw)


def ota(b: BoardProcess) -> dict:
    """GET /api/ota."""
    status, doc = b.get_json("/api/ota")
    assert status == 200, doc
    return doc


def wait_ota(b: BoardProcess, pred: Callable[[dict], bool], timeout: float = 60.0) -> dict:
    """Poll /api/ota until pred holds (the board may be rebooting in between); AssertionError with the
    last document and the log otherwise. Bounded by `timeout` only to end a broken run."""
    deadline = time.monotonic() + timeout
    last: dict | None = None
    while time.monotonic() < deadline:
        try:
            b.wait_http(timeout=max(1.0, deadline - time.monotonic()))
            last = ota(b)
            if pred(last):
                return last
        except (OSError, AssertionError, ValueError, http.client.HTTPException):
            pass
        time.sleep(0.05)
    raise AssertionError(f"/api/ota never matched: last {json.dumps(last)}\n{b.log_tail(30)}")


def auth_line(b: BoardProcess) -> bytes:
    """The Authorization header line of the rig's user (docs/security.md: /update changes the module), for
    uploads written straight to a socket."""
    assert b.token, "the board has no rig user (BoardProcess(rig_token=True) provisions one)"
    return b"Authorization: Bearer %s\r\n" % b.token.encode()


def post_raw(b: BoardProcess, data: bytes, query: str = "", timeout: float = 60.0) -> tuple[int, dict]:
    """POST /update with the image as the body (application/octet-stream)."""
    status, _, body = b.request("POST", "/update" + query, data, {"Content-Type": "application/octet-stream"},
                                timeout=timeout)
    return status, json.loads(body)


def slot_files(b: BoardProcess) -> list[str]:
    """Every file in the board's slots (what an install wrote)."""
    app = b.flash / "app"
    if not app.exists():
        return []
    return sorted(p.relative_to(app).as_posix() for p in app.rglob("*") if p.is_file())
