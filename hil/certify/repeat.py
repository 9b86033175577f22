"""``hil certify --repeat N``: the same certification N times; verdicts and every measurement's spread.

Each run goes to ``<out>/run-NN`` (a whole certification folder); ``<out>/repeat.json`` and the printed
table say, per run, the verdict and the wall time, and per measurement (test and name) every value, the
spread (max - min) and whether all runs gave the same value. On the virtual clock every value is expected
to be identical (docs/rig-clock.md says what is not, and why); on a realtime rig within its limits.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hil.certify.hog import Hog
from hil.certify.run import MARKER, Outcome, certify, prepare_out


def measurements(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Return ``{"test :: measurement": entry}`` of one record."""
    out: dict[str, dict[str, Any]] = {}
    for phase in record.get("phases", []):
        for m in phase.get("measurements", []):
            out[f"{phase['name'].split('::', 1)[-1]} :: {m['name']}"] = m
    return out


def summarize(records: list[dict[str, Any]], walls: list[float]) -> dict[str, Any]:
    """Return the repeat summary of ``records`` (one per run) and their wall times (s)."""
    verdicts = [r.get("outcome", "ERROR") for r in records]
    names: list[str] = []
    for r in records:
        for name in measurements(r):
            if name not in names:
                names.append(name)
    table = {}
    for name in names:
        entries = [measurements(r).get(name) for r in records]
        values = [e.get("measured_value") if e else None for e in entries]
        numbers = [v for v in values if isinstance(v, int | float)]
        table[name] = {
            "values": values,
            "outcomes": [e.get("outcome") if e else "MISSING" for e in entries],
            "unit": next((e.get("units", "") for e in entries if e), ""),
            "kind": next((e.get("kind", "metrology") for e in entries if e), "metrology"),
            "min": min(numbers) if numbers else None, "max": max(numbers) if numbers else None,
            "spread": (max(numbers) - min(numbers)) if numbers else None,
            "identical": len(set(values)) == 1,
        }
    tests: dict[str, list[str]] = {}
    for i, r in enumerate(records):
        for phase in r.get("phases", []):
            tests.setdefault(phase["name"], ["-"] * len(records))[i] = phase["outcome"]
    rig_s = [float(r.get("rig_seconds") or 0.0) for r in records]
    meta = [r.get("metadata", {}) for r in records]
    return {"runs": len(records), "verdicts": verdicts, "same_verdict": len(set(verdicts)) == 1,
            "wall_s": [round(w, 1) for w in walls], "rig_seconds": rig_s,
            "rig_s_per_wall_s": [round(r / w, 1) if w else None
                                 for r, w in zip(rig_s, walls, strict=True)],
            "cpu_s": [m.get("cpu_s") for m in meta], "load_average": [m.get("load_average") for m in meta],
            "tests": tests, "measurements": table,
            "identical_measurements": sum(1 for m in table.values() if m["identical"]),
            "differing_measurements": [n for n, m in table.items() if not m["identical"]]}


def repeat(n: int, rig_path: Path | None, image: Path | list[Path] | None, out: Path, *,
           workers: int | None = None, suites: list[str] | None = None, extra: list[str] | None = None,
           hog: int = 0,
           on_run: Callable[[int, Outcome, float], None] = lambda i, o, w: None) -> dict[str, Any]:
    """Certify ``n`` times into ``out/run-NN``; write and return the summary (see the module).

    hog: busy-loop processes loading the host during all the runs (:class:`hil.certify.hog.Hog`).
    """
    if n < 1:
        raise ValueError(f"--repeat {n}: expected at least 1 run")
    out = out.resolve()
    prepare_out(out)
    records, walls = [], []
    with Hog(hog):
        for i in range(1, n + 1):
            t0 = time.monotonic()
            result = certify(rig_path, image, out / f"run-{i:02d}", workers=workers, suites=suites,
                             extra=extra)
            wall = time.monotonic() - t0
            records.append(result.record)
            walls.append(wall)
            on_run(i, result, wall)
    summary = summarize(records, walls)
    summary["hog_processes"] = hog
    (out / "repeat.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    (out / MARKER).touch()
    return summary
