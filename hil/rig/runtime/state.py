"""Where a running ``hil rig up`` tells others (``hil rig status``) what it runs: one JSON file per rig.

Files live in ``<tmp>/hil-rigs-<uid>/<rig>-<pid>.json`` and hold the owner's pid and the runtime's
status (boards and their addresses, P1 line, instruments, world). A file whose owner is gone is stale
and removed by :func:`running_rigs`.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def state_dir() -> Path:
    """Return this user's folder of running-rig files."""
    return Path(tempfile.gettempdir()) / f"hil-rigs-{os.getuid()}"


def write_state(name: str, status: dict[str, Any], pid: int | None = None) -> Path:
    """Write (atomically) the state file of rig ``name`` owned by ``pid`` (default: this process)."""
    pid = os.getpid() if pid is None else pid
    folder = state_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}-{pid}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"pid": pid, "status": status}, default=str), encoding="utf-8")
    tmp.replace(path)
    return path


def remove_state(name: str, pid: int | None = None) -> None:
    """Remove the state file of rig ``name`` owned by ``pid`` (default: this process)."""
    pid = os.getpid() if pid is None else pid
    (state_dir() / f"{name}-{pid}.json").unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running_rigs() -> list[dict[str, Any]]:
    """Return the state of every rig whose owner still runs (stale files are removed)."""
    folder = state_dir()
    out = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not _alive(int(data.get("pid", -1))):
            path.unlink(missing_ok=True)
            continue
        out.append(data)
    return out
