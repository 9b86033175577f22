"""A MicroPython board on a pty, for testing `hil flash` and mpremote without hardware.

`ReplBoard()` runs the real MicroPython interpreter (WebAssembly port on Node.js, `hil/flash_repl.mjs`)
with its REPL on pipes and relays them to the master end of a pty; `board.port` is the slave's path
(/dev/pts/N), which mpremote opens as it opens a board's USB serial port. Its filesystem lives as long
as the process.
"""

from __future__ import annotations

import os
import select
import subprocess
import threading
import tty
from pathlib import Path
from types import TracebackType

from hil.mpy import node_binary

SCRIPT = Path(__file__).with_name("flash_repl.mjs")


class ReplBoard:
    """The interpreter's REPL behind a pty."""

    def __init__(self, heap: int = 512 * 1024) -> None:
        """Start node and the relay; raises hil.mpy.MpyUnavailable without Node.js or the npm package."""
        node = node_binary()
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.port = os.ttyname(self.slave)
        self.proc = subprocess.Popen([node, str(SCRIPT), "--heap", str(heap)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._to_board, daemon=True),
                         threading.Thread(target=self._from_board, daemon=True)]
        for t in self._threads:
            t.start()

    def _to_board(self) -> None:
        assert self.proc.stdin is not None
        while not self._stop.is_set():
            r, _, _ = select.select([self.master], [], [], 0.2)
            if not r:
                continue
            try:
                data = os.read(self.master, 4096)
            except OSError:  # EIO while no one has the slave open: wait for the next client
                self._stop.wait(0.05)
                continue
            try:
                self.proc.stdin.write(data)
            except (BrokenPipeError, ValueError):
                return

    def _from_board(self) -> None:
        assert self.proc.stdout is not None
        while True:
            data = self.proc.stdout.read1(4096) if hasattr(self.proc.stdout, "read1") else \
                self.proc.stdout.read(1)
            if not data:
                return
            os.write(self.master, data)

    def close(self) -> None:
        """End the interpreter and close the pty."""
        self._stop.set()
        self.proc.kill()
        self.proc.wait(10)
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self) -> ReplBoard:
        """Use as a context manager."""
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        """Close."""
        self.close()
