"""The modules' OpenAPI descriptions: docs/openapi/<kind>.yaml with docs/openapi/common.yaml merged in.

`load_openapi("smartplug")` returns the full document (a dict) that schemathesis and readers use;
`python -m hil.openapi smartplug > smartplug.json` prints it. `load_openapi("v2")` is both modules' API v2
over HTTPS (docs/openapi/v2.yaml, standalone: no common part).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

DOCS = Path(__file__).resolve().parents[1] / "docs" / "openapi"
KINDS = ("smartmeter", "smartplug")


def _strip_extensions(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if not k.startswith("x-")}


def load_openapi(kind: str) -> dict[str, Any]:
    """Return the OpenAPI document of a module kind, common paths and components merged in."""
    if kind == "v2":
        return _strip_extensions(yaml.safe_load((DOCS / "v2.yaml").read_text(encoding="utf-8")))
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r}: expected one of {', '.join(KINDS)} or v2")
    doc = yaml.safe_load((DOCS / f"{kind}.yaml").read_text(encoding="utf-8"))
    common = yaml.safe_load((DOCS / "common.yaml").read_text(encoding="utf-8"))
    doc = _strip_extensions(doc)
    paths = dict(common["paths"])
    paths.update(doc.get("paths", {}))
    doc["paths"] = paths
    comps = common["components"]
    for section, items in doc.get("components", {}).items():
        comps.setdefault(section, {}).update(items)
    doc["components"] = comps
    return json.loads(json.dumps(doc))  # YAML anchors become plain copies


if __name__ == "__main__":  # pragma: no cover - a convenience for readers
    print(json.dumps(load_openapi(sys.argv[1] if len(sys.argv) > 1 else "smartplug"), indent=1))
