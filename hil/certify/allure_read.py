"""Each test's title and images from a certification's allure results, for the static report.

The title is the docstring's first line, the images are the world plots the rig attaches: the report shows
them without the `allure` command. `read(allure_dir)` returns
`{nodeid: {"title": str | None, "images": [(name, png bytes)]}}`.

A test's images are attached by its fixtures' teardown, which allure files under the fixture's container
(`*-container.json`, `afters`), not under the test's result; both are read. The node id is rebuilt from
the result's `titlePath` (the file's path segments, then classes) and `name`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def nodeid(result: dict[str, Any]) -> str:
    """Return the pytest node id of an allure test result ('dir/test_x.py::Class::test_y[p]')."""
    path: list[str] = []
    rest: list[str] = []
    for seg in result.get("titlePath") or []:
        (rest if path and path[-1].endswith(".py") else path).append(seg)
    return "/".join(path) + "".join("::" + c for c in rest) + "::" + str(result.get("name", ""))


def _images(entry: dict[str, Any], folder: Path) -> list[tuple[str, bytes]]:
    out = []
    for a in entry.get("attachments") or []:
        if a.get("type") == "image/png":
            try:
                out.append((str(a.get("name") or "image"), (folder / a["source"]).read_bytes()))
            except (OSError, KeyError):
                continue
    return out


def read(folder: Path) -> dict[str, dict[str, Any]]:
    """Return {nodeid: {"title", "images"}} of the allure results in folder (empty when there are none)."""
    results: dict[str, dict[str, Any]] = {}
    by_uuid: dict[str, dict[str, Any]] = {}
    files = sorted(folder.glob("*-result.json")) if folder.is_dir() else []
    for f in files:
        try:
            r = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        doc = (r.get("description") or "").strip()
        entry = {"title": doc.splitlines()[0].strip() if doc else None, "images": _images(r, folder),
                 "stop": r.get("stop") or 0}
        by_uuid[str(r.get("uuid"))] = entry
        key = nodeid(r)
        if key not in results or entry["stop"] >= results[key]["stop"]:   # a rerun: the latest one
            results[key] = entry
    for f in sorted(folder.glob("*-container.json")) if folder.is_dir() else []:
        try:
            c = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for child in c.get("children") or []:
            entry = by_uuid.get(str(child))
            if entry is not None:
                for fixture in (c.get("befores") or []) + (c.get("afters") or []):
                    entry["images"].extend(_images(fixture, folder))
    return {k: {"title": v["title"], "images": v["images"]} for k, v in results.items()}
