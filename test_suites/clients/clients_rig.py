"""Running the client libraries of .venv-clients (made by scripts/setup) from the tests of this folder."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CLIENTS_PYTHON = ROOT / ".venv-clients" / "bin" / "python"
HERE = Path(__file__).resolve().parent


def run_client(python: Path, script: str, *args: str, timeout: float = 120) -> dict[str, Any]:
    """Run a client script of this folder in .venv-clients; its stdout's JSON (AssertionError with stderr)."""
    r = subprocess.run([str(python), str(HERE / script), *args], capture_output=True, text=True,
                       timeout=timeout, check=False)
    assert r.returncode == 0, f"{script} {' '.join(args)} exited {r.returncode}:\n{r.stderr[-3000:]}"
    return json.loads(r.stdout)
