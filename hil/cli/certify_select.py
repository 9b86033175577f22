"""What `hil certify` runs (`--last-failed`, `-k`) and its line-per-test output outside a terminal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console

from hil.cli.errors import fail


def failed_tests(out_dir: Path) -> list[str]:
    """Return the node ids that failed or errored in the record in out_dir (exit 2 when there is none)."""
    path = out_dir / "record.json"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        fail("certify", f"--last-failed: expected the record of a certification at {path}, got: {e}")
    root = record.get("metadata", {}).get("rootdir")
    names = [p["name"] for p in record.get("phases", []) if p.get("outcome") in ("FAIL", "ERROR")]
    return [absolute_nodeid(n, root) for n in names]


def absolute_nodeid(nodeid: str, rootdir: str | None) -> str:
    """Return nodeid with its file made absolute.

    pytest writes it relative to that run's rootdir, which need not be where the rerun starts (tests
    outside the repository, e.g. under $TMPDIR).
    """
    path, sep, rest = nodeid.partition("::")
    if rootdir is None or Path(path).is_absolute():
        return nodeid
    return str(Path(rootdir) / path) + sep + rest


def selection(out_dir: Path, suite: list[str] | None, last_failed: bool, keyword: str | None,
              console: Console) -> tuple[list[str] | None, list[str]] | None:
    """Return (suites, extra pytest args) to run, or None when --last-failed finds nothing to rerun."""
    if last_failed:
        if suite:
            fail("certify", "--last-failed runs the failed tests of the last certification: expected no "
                            "--suite with it")
        suite = failed_tests(out_dir)
        if not suite:
            print(f"certify --last-failed: nothing failed in the certification in {out_dir}; nothing to run",
                  flush=True)
            return None
        console.print(f"certify --last-failed: {len(suite)} test(s) that failed last time", soft_wrap=True)
    return suite, (["-k", keyword] if keyword else [])


def print_line(console: Console, event: dict[str, Any]) -> None:
    """One line per event, for logs and pipes: 'PASSED  node-id 1.2 s'."""
    if event["event"] == "collected":
        console.print(f"certify: {event['n']} tests collected", soft_wrap=True, highlight=False)
        return
    when = " (teardown)" if event.get("teardown") else ""
    secs = f" {event['seconds']:.1f} s" if "seconds" in event else ""
    console.print(f"{event['outcome'].upper():7} {event['nodeid']}{when}{secs}", soft_wrap=True,
                  highlight=False, markup=False)
