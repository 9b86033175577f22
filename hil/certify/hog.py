"""A CPU hog for ``hil certify --repeat N --hog K``: K busy processes load the host while the runs go on.

The issue's proof of a verdict that does not depend on the host: the same certification, repeated with
both cores loaded, gives the same verdicts and (on the virtual clock) the same values. Each hog is a
plain busy loop in its own process at normal priority (like ``stress-ng --cpu K``); they end with the
``with`` block, also when a run fails or is interrupted.
"""

from __future__ import annotations

import subprocess
import sys
from types import TracebackType

BUSY = "while True:\n    pass\n"


class Hog:
    """``with Hog(k):`` runs ``k`` busy-loop processes for the duration of the block."""

    def __init__(self, processes: int) -> None:
        """Prepare ``processes`` busy loops (0: none)."""
        if processes < 0:
            raise ValueError(f"hog: expected a number of processes >= 0, got {processes}")
        self.processes = processes
        self._procs: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> Hog:
        """Start the busy loops."""
        for _ in range(self.processes):
            self._procs.append(subprocess.Popen([sys.executable, "-c", BUSY], stdin=subprocess.DEVNULL,
                                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        return self

    def running(self) -> int:
        """Return how many busy loops are running."""
        return sum(1 for p in self._procs if p.poll() is None)

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        """Stop the busy loops (each by its own process id)."""
        for p in self._procs:
            p.kill()
        for p in self._procs:
            p.wait(10)
        self._procs.clear()
