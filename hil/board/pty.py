"""A null-modem cable between two pseudo-terminals: two /dev/pts paths any pyserial user can open.

What one side writes to its path, the other side reads from its own path, like two UARTs wired TX to RX
(what `socat pty,raw pty,raw` does). Line settings (baud, parity) are accepted by a pty but do not
slow it down or frame bits: the pair carries bytes, not waveforms.
"""

from __future__ import annotations

import os
import select
import threading
import tty
from types import TracebackType


class PtyPair:
    """Two linked ptys; use as a context manager or call close()."""

    def __init__(self) -> None:
        """Create both ptys (raw, no echo) and start the thread that copies bytes between them."""
        self._fds: list[int] = []
        m_a, s_a = os.openpty()
        m_b, s_b = os.openpty()
        self._fds += [m_a, s_a, m_b, s_b]
        for fd in (s_a, s_b):
            tty.setraw(fd)
        self.a = os.ttyname(s_a)
        self.b = os.ttyname(s_b)
        self._masters = (m_a, m_b)
        self._wake_r, self._wake_w = os.pipe()
        self.copied = 0
        self._thread = threading.Thread(target=self._pump, name=f"pty {self.a}<->{self.b}", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        m_a, m_b = self._masters
        peer = {m_a: m_b, m_b: m_a}
        while True:
            ready, _, _ = select.select([m_a, m_b, self._wake_r], [], [])
            if self._wake_r in ready:
                return
            for fd in ready:
                try:
                    data = os.read(fd, 4096)
                except OSError:  # a side was closed under us: nothing more to carry
                    return
                view = memoryview(data)
                while view:
                    n = os.write(peer[fd], view)
                    view = view[n:]
                    self.copied += n

    def close(self) -> None:
        """Stop copying and close every descriptor."""
        if self._thread.is_alive():
            os.write(self._wake_w, b"x")
            self._thread.join(timeout=5)
        for fd in self._fds + [self._wake_r, self._wake_w]:
            try:
                os.close(fd)
            except OSError:
                pass
        self._fds = []

    def __enter__(self) -> PtyPair:
        """Return the pair itself."""
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        """Close on leaving the with-block."""
        self.close()
