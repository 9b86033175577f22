"""The rig's own user on an emulated board: a token whose SHA-256 is in the board's flash (auth.json).

A real module grants a token only after its button is pressed (POST /api/user, docs/security.md); the
rig puts its user into the flash folder before the board boots, as a factory would, so suites that are
not about pairing can change settings. The token itself stays beside the flash folder (`<flash>.token`),
never inside it, and is generated at test time.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from firmware.apps.common.auth import AUTH_FILE, token_hash
from firmware.storage import Store

RIG_USER = "local/rig"


def token_path(flash: Path) -> Path:
    """Where the rig keeps the token of a board's flash folder."""
    return flash.with_name(flash.name + ".token")


def ensure_rig_token(flash: Path | str) -> str:
    """Return the rig's token for this flash folder, adding its user to auth.json when missing."""
    flash = Path(flash)
    flash.mkdir(parents=True, exist_ok=True)
    tp = token_path(flash)
    token = tp.read_text(encoding="ascii").strip() if tp.exists() else ""
    if not token:
        token = secrets.token_hex(16).upper()
        tp.write_text(token + "\n", encoding="ascii")
    store = Store(str(flash), log=lambda _m: None)
    d = store.load_raw(AUTH_FILE) or {}
    users = d.get("users") if isinstance(d.get("users"), dict) else {}
    if users.get(RIG_USER) != token_hash(token):
        users = dict(users, **{RIG_USER: token_hash(token)})
        if not store.save(AUTH_FILE, {"users": users}):
            raise OSError(f"cannot write {flash / AUTH_FILE}: {store.last_error}")
    return token


def auth_header(token: str) -> dict[str, str]:
    """Return the header that authenticates a request."""
    return {"Authorization": f"Bearer {token}"}


def read_users(flash: Path | str) -> dict[str, str]:
    """Return the users in a flash folder's auth.json (name -> SHA-256 of the token)."""
    try:
        d = json.loads((Path(flash) / AUTH_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    u = d.get("users") if isinstance(d, dict) else None
    return u if isinstance(u, dict) else {}
