"""The pytest plugin `hil certify --image FILE.bchfw` loads: OTA-install the images on the rig first.

Before the first test that uses the rig, every board of it whose module has an image gets it over the
air, through the same POST /update a user would use; the plugin then reads back what each board runs (its
/api/ota running identity), at the start and at the end of the session.

Options: ``--hil-ota-image FILE`` (repeatable, one per module; each signed for the rig with the rig test
key, which emulated boards are given to trust, as `hil flash` provisions a real board) and
``--hil-ota-report FILE`` (JSON written at the end: {board: {"module", "installed", "at_end",
"state_at_end"}}; with xdist each worker has its own rig and writes FILE.<worker>).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

CONFIRM_TIMEOUT_S = 180.0


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add --hil-ota-image and --hil-ota-report."""
    g = parser.getgroup("hil-ota")
    g.addoption("--hil-ota-image", action="append", default=[],
                help="install this .bchfw over the air on every rig board of its module first (repeatable)")
    g.addoption("--hil-ota-report", default=None, help="write what every board ran to this JSON file")


def _http(board: Any, method: str, path: str, body: bytes | None = None,
          timeout: float = 60.0) -> tuple[int, Any]:
    """Return (status, JSON) of a request through the board's rig client.

    `BoardHttp` sends the rig user's token, which POST /update needs like every state change
    (docs/security.md).
    """
    headers = {"Content-Type": "application/octet-stream"} if body else {}
    status, _, raw = board.http.request(method, path, body, headers, timeout)
    return status, json.loads(raw or b"{}")


def running(board: Any) -> dict[str, Any]:
    """Return the board's /api/ota (raises OSError while it reboots)."""
    status, doc = _http(board, "GET", "/api/ota", timeout=5)
    if status != 200:
        raise OSError(f"GET /api/ota answered {status}: {doc}")
    return doc


def upload(board: Any, data: bytes, trusted_hex: str) -> None:
    """Send the image to one board over the air (it reboots into it)."""
    flash = getattr(board, "flash", None)
    if flash is not None:  # an emulated board: trust the rig key, as `hil flash` provisions a real one
        (Path(flash) / "ota").mkdir(parents=True, exist_ok=True)
        (Path(flash) / "ota" / "trusted_keys").write_text(trusted_hex + "\n")
    status, doc = _http(board, "POST", "/update", data)
    if status != 200:
        raise RuntimeError(f"board {board.name}: POST /update answered {status}: {doc.get('error', doc)}")


def confirmed(board: Any, identity: str, sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """Wait until the board runs the image, confirmed by its own health check.

    sleep: the rig clock's (its reboot and health check take rig time, which on a virtual clock passes
    only while someone waits on it).
    """
    deadline = time.monotonic() + CONFIRM_TIMEOUT_S
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = running(board)
            if last["running_identity"] == identity and last["state"] == "confirmed":
                return last
            if last["state"] == "rolled back":
                break
        except (OSError, ValueError) as e:
            last = repr(e)
        sleep(0.2)  # the board reboots into the image and runs its health check: poll its API
    raise RuntimeError(f"board {board.name} did not confirm image {identity[:16]}...: last /api/ota {last}")


@pytest.fixture(autouse=True)
def _ota_images_on_the_rig(request: pytest.FixtureRequest) -> None:
    """Before the first test that uses the rig, install the images on it (once a session).

    Only a test that uses the rig brings it up: a worker that runs only suites starting their own boards
    (hil certify's bench worker) starts no rig and installs nothing.
    """
    if request.config.getoption("--hil-ota-image") and "rig" in request.fixturenames:
        request.getfixturevalue("_ota_installed")


@pytest.fixture(scope="session")
def _ota_installed(request: pytest.FixtureRequest) -> Iterator[None]:
    paths = request.config.getoption("--hil-ota-image")
    from hil.image import keys
    from hil.image.container import read

    images = {img.manifest.module: img for img in (read(Path(p)) for p in paths)}
    rig = request.getfixturevalue("rig")
    trusted = keys.digest_hex(keys.rig_key())
    report: dict[str, dict[str, Any]] = {}
    for name, board in rig.boards.items():  # every board gets its image first, then all confirm together
        report[name] = {"module": board.role, "installed": None}
        if board.role in images:
            upload(board, images[board.role].to_bytes(), trusted)
    for name, board in rig.boards.items():
        if board.role in images:
            st = confirmed(board, images[board.role].identity, rig.clock.sleep)
            report[name].update(installed=st["running_identity"], slot=st["running"])
    try:
        yield
    finally:
        for name, board in rig.boards.items():
            try:
                st = running(board)
                report[name].update(at_end=st["running_identity"], state_at_end=st["state"])
            except OSError as e:
                report[name].update(at_end=None, state_at_end=f"unreachable: {e}")
        out = request.config.getoption("--hil-ota-report")
        if out:
            worker = os.environ.get("PYTEST_XDIST_WORKER")
            target = Path(out if worker is None else f"{out}.{worker}")
            target.write_text(json.dumps({"boards": report}, indent=1))
