"""Running the client libraries of .venv-clients (made by scripts/setup) from the tests of this folder."""

from __future__ import annotations

import gzip
import json
import re
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


def esphome_ui(version: int) -> bytes:
    """ESPHome's own web UI page (version 2 or 3), from the esphome package in .venv-clients.

    The web_server component carries each bundle as a C array of its gzipped index.html
    (`server_index_v3.h`, `INDEX_GZ[] PROGMEM = {0x1f, 0x8b, ...}`): read the array, gunzip it. Nothing of
    it is kept in the repository.
    """
    found = sorted((ROOT / ".venv-clients" / "lib").glob(
        f"python3.*/site-packages/esphome/components/web_server/server_index_v{version}.h"))
    assert found, f"expected esphome's web_server bundle v{version} in .venv-clients, got none: run setup"
    text = found[-1].read_text(encoding="ascii")
    start = text.index("INDEX_GZ[] PROGMEM = {")
    end = text.index("};", start)
    data = bytes(int(x, 16) for x in re.findall(r"0x[0-9a-fA-F]{2}", text[start:end]))
    return gzip.decompress(data)
