"""A labgrid client in a process of its own (the coordinator allows one session per process).

Used by the lab tests and :mod:`hil.lab.measure` as "another CI job". ``python -m hil.lab.holder
COORDINATOR SPEC LEASE_S`` takes a place matching SPEC and prints JSON lines
on stdout: ``{"event": "took", ...}`` (place, wall-clock times of allocation and acquisition), then obeys
stdin: ``release`` gives the place back and prints ``{"event": "released", "at": ...}``; end of input exits.
"""

from __future__ import annotations

import json
import sys
import time

from hil.lab.session import LabError, LabSession
from hil.lab.spec import PlaceSpec


def say(**kw: object) -> None:
    """Print one JSON event line."""
    print(json.dumps(kw), flush=True)


def main() -> int:
    """Take the place, report, obey stdin."""
    address, spec, lease_s = sys.argv[1], sys.argv[2], float(sys.argv[3])
    session = LabSession(address)
    say(event="connected", holder=session.holder, at=time.time())
    try:
        lease = session.take(PlaceSpec.parse(spec), timeout=60.0, lease_s=lease_s)
    except LabError as exc:
        say(event="error", error=str(exc))
        return 1
    say(event="took", place=lease.place, token=lease.token, **lease.timings)
    for line in sys.stdin:
        if line.strip() == "release":
            at = time.time()
            failed = lease.give_back()
            say(event="released", at=at, failed=failed)
    session.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
