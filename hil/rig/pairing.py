"""A real board's API token for the rig: paired once by its button, kept in the rig file's ``token_file``.

Every state change on a module needs ``Authorization: Bearer <token>`` (docs/security.md). An emulated
board gets the rig's user in its flash before it boots; a board the rig only reaches over the LAN (an
ESP32 on a bench, a board behind a labgrid place) has to grant one: press its button, then within 30 s
``POST /api/user``. :func:`pair` does that request; the token goes into a file of its own (mode 0600)
that the rig file names (``boards.<name>.token_file``), never into the rig file, so a rig file can be
shared and committed while the token stays on the bench's machine. ``hil rig up --export`` writes the
token files of the boards it exports next to the ``rig.yaml`` it generates.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # hil.rig.runtime imports this module (RealBoard reads token files)
    from hil.rig.runtime.http import BoardHttp

PAIR_ANSWER_S = 30.0     # a hang guard: the module stores the new user in flash before it answers
RIG_USER = "local/hil-rig"   # the user a paired bench's rig is on the module (docs/security.md)
_TOKEN = re.compile(r"[0-9A-Fa-f]{32}")


class PairingError(RuntimeError):
    """No token: the module refused the user, or a token file is missing or not a token."""


def read_token(path: str | Path) -> str:
    """Return the token in a token file; PairingError saying what was expected and what came."""
    path = Path(path)
    try:
        token = path.read_text(encoding="ascii", errors="replace").strip()
    except OSError as exc:
        raise PairingError(f"token file {path}: expected a board's API token (hil rig pair writes it); "
                           f"got {exc.strerror or exc}") from None
    if not _TOKEN.fullmatch(token):
        raise PairingError(f"token file {path}: expected 32 hex digits (a token POST /api/user granted); "
                           f"got {len(token)} characters")
    return token


def write_token(path: str | Path, token: str) -> None:
    """Write a token file readable by its owner only (created 0600, replaced atomically)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(token + "\n")
    tmp.replace(path)


def pair(http: BoardHttp, user: str = RIG_USER) -> str:
    """Ask the module for a user (its button pressed less than 30 s ago); return the token it granted."""
    status, body = http.json("POST", "/api/user", {"name": user}, timeout=PAIR_ANSWER_S)
    token = body.get("token") if isinstance(body, dict) else None
    if status != 200 or not isinstance(token, str) or not _TOKEN.fullmatch(token):
        raise PairingError(f"{http.name}: POST /api/user: expected 200 with a token (press the module's "
                           f"button, then pair within 30 s); got {status} {body!r}")
    return token
