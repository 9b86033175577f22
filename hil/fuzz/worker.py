"""The libFuzzer process: `python -m hil.fuzz.worker --crashes DIR [--selftest-crash T] -- LIBFUZZER_ARGS`.

Started by `hil fuzz p1` (hil/fuzz/session.py), never by hand. The firmware modules are imported under
atheris' coverage instrumentation; every input goes through hil.fuzz.p1_check.check_stream. An input
that breaks an invariant or raises is saved as crashes/<sha1>.bin with the traceback in
crashes/<sha1>.txt before libFuzzer stops on it.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import traceback
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["firmware"]):  # coverage of the firmware only
    from hil.fuzz import p1_check


def save_crash(crashes: Path, data: bytes, report: str) -> Path:
    """Write the input and its traceback; return the input's path."""
    crashes.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    path = crashes / f"{name}.bin"
    path.write_bytes(data)
    (crashes / f"{name}.txt").write_text(report)
    return path


def make_target(crashes: Path, selftest_token: bytes | None):
    """Build the function libFuzzer calls with each input."""

    def one_input(data: bytes) -> None:
        try:
            if selftest_token is not None and selftest_token in data:
                raise RuntimeError(f"self-test crash: input contains {selftest_token!r}")
            p1_check.check_stream(data)
        except Exception:
            path = save_crash(crashes, data, traceback.format_exc())
            print(f"HIL-FUZZ-CRASH {path}", file=sys.stderr, flush=True)
            raise

    return one_input


def main(argv: list[str]) -> None:
    """Parse our options, hand the rest to libFuzzer."""
    i = argv.index("--") if "--" in argv else len(argv)
    ours, theirs = argv[:i], argv[i + 1 :]
    ap = argparse.ArgumentParser(prog="python -m hil.fuzz.worker")
    ap.add_argument("--crashes", type=Path, required=True)
    ap.add_argument("--selftest-crash", default=None, help="crash on inputs containing this text (tests)")
    ap.add_argument("--argv0", default=sys.argv[0], help="executable libFuzzer re-runs for -merge=1")
    a = ap.parse_args(ours)
    token = a.selftest_crash.encode() if a.selftest_crash else None
    atheris.Setup([a.argv0, *theirs], make_target(a.crashes, token))
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv[1:])
