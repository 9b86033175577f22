"""An emulated board's console (a growing log file) served on a loopback TCP port, raw.

Emulated boards print into a file; a real board's console is a serial line. To export an emulated
rig as a labgrid place, each console is served here and published as a ``NetworkSerialPort`` with
``protocol: raw`` (no ser2net), which resolves to ``socket://127.0.0.1:PORT`` on the client, the URL a
real board's console has behind a terminal server. Like a serial line, a client sees what is printed
after it connected.
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path

FOLLOW_S = 0.05  # how often a connected client's file is checked for new output


class ConsoleServer:
    """Serve ``path``'s new bytes to every client connected to ``127.0.0.1:port``."""

    def __init__(self, path: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        """Bind the listening socket (port 0: any free one); :meth:`start` accepts clients."""
        self.path = Path(path)
        self.sock = socket.create_server((host, port))
        self.host, self.port = self.sock.getsockname()[:2]
        self.clients = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        """Return the pyserial URL of this console."""
        return f"socket://{self.host}:{self.port}"

    def start(self) -> ConsoleServer:
        """Accept clients on a background thread."""
        t = threading.Thread(target=self._accept, name=f"console server {self.port}", daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def _accept(self) -> None:
        self.sock.settimeout(0.5)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.clients += 1
            t = threading.Thread(
                target=self._serve, args=(conn,), name=f"console client {self.port}", daemon=True
            )
            t.start()
            self._threads.append(t)

    def _serve(self, conn: socket.socket) -> None:
        pos = self.path.stat().st_size if self.path.exists() else 0
        with conn:
            while not self._stop.wait(FOLLOW_S):
                try:
                    size = self.path.stat().st_size
                except FileNotFoundError:
                    continue
                if size < pos:  # the file was started anew
                    pos = 0
                if size == pos:
                    continue
                with self.path.open("rb") as f:
                    f.seek(pos)
                    data = f.read(size - pos)
                pos += len(data)
                try:
                    conn.sendall(data)
                except OSError:
                    return

    def stop(self) -> None:
        """Stop serving and close every connection."""
        self._stop.set()
        self.sock.close()
        for t in self._threads:
            t.join(2.0)
