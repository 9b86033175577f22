r"""A line-based SCPI server on loopback TCP, like a LAN instrument's raw socket port (5025).

Reached through pyvisa + pyvisa-py as ``TCPIP::127.0.0.1::<port>::SOCKET`` with read and write
termination ``\\n``. One thread accepts, one thread per connection reads lines; every line runs
under the device lock, so concurrent clients see whole commands. Malformed input never ends the
server: too-long lines, bytes outside ASCII and handler failures become error-queue entries.
"""

from __future__ import annotations

import logging
import socket
import threading
from types import TracebackType

from hil.emulators.instruments.scpi import TOO_MUCH_DATA, ScpiDevice, ScpiError

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
MAX_LINE = 16384
_QUICKACK = getattr(socket, "TCP_QUICKACK", None)  # Linux only


class ScpiServer:
    """Serve one :class:`ScpiDevice` on 127.0.0.1 (port 0 = a free port chosen by the OS)."""

    def __init__(self, device: ScpiDevice, port: int = 0, host: str = LOOPBACK, name: str = "") -> None:
        if host != LOOPBACK:
            raise ValueError(f"emulated instruments listen on {LOOPBACK} only, got host {host!r}")
        self.device = device
        self.name = name or type(device).__name__
        self.lock = device.lock
        self._requested = (host, port)
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._clients: set[socket.socket] = set()
        self._stopping = threading.Event()
        self.counters = {"connections": 0, "lines": 0, "dropped_lines": 0, "disconnects": 0}

    # --- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> ScpiServer:
        """Bind, listen and start the accept thread; returns self."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(self._requested)
        listener.listen(8)
        self._listener = listener
        start = getattr(self.device, "start", None)
        if callable(start):
            start()
        thread = threading.Thread(target=self._accept_loop, name=f"scpi-{self.name}-accept", daemon=True)
        thread.start()
        self._threads.append(thread)
        log.info("%s listening on %s", self.name, self.resource)
        return self

    def stop(self) -> None:
        """Close the listener and every client connection; join the threads."""
        self._stopping.set()
        if self._listener is not None:
            try:
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
        with self.lock:
            clients = list(self._clients)
        for client in clients:
            try:
                client.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in self._threads:
            thread.join(timeout=2.0)
        stop = getattr(self.device, "stop", None)
        if callable(stop):
            stop()

    def __enter__(self) -> ScpiServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The TCP port actually listened on."""
        if self._listener is None:
            raise RuntimeError(f"{self.name}: not started; call start() first")
        return int(self._listener.getsockname()[1])

    @property
    def resource(self) -> str:
        """The VISA resource string that reaches this server."""
        return f"TCPIP::{LOOPBACK}::{self.port}::SOCKET"

    # --- I/O ---------------------------------------------------------------------------------------
    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                self._clients.add(client)
                self.counters["connections"] += 1
            thread = threading.Thread(
                target=self._serve, args=(client,), name=f"scpi-{self.name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def _serve(self, client: socket.socket) -> None:
        buffer = bytearray()
        dropping = False
        try:
            while not self._stopping.is_set():
                try:
                    chunk = client.recv(4096)
                except OSError:
                    break
                if not chunk:
                    break
                if _QUICKACK is not None:  # ACK now: clients that write then query don't wait on Nagle
                    try:
                        client.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
                    except OSError:
                        pass
                buffer += chunk
                while True:
                    end = buffer.find(b"\n")
                    if end < 0:
                        break
                    line = bytes(buffer[:end])
                    del buffer[: end + 1]
                    if dropping:
                        dropping = False  # the tail of an over-long line
                        continue
                    try:
                        self._handle(client, line)
                    except Exception:  # the connection must outlive any bug in one command
                        log.exception("%s: failed on %r", self.name, line[:200])
                if len(buffer) > MAX_LINE:
                    self._drop_long_line(len(buffer))
                    buffer.clear()
                    dropping = True
        finally:
            with self.lock:
                self._clients.discard(client)
                self.counters["disconnects"] += 1
            client.close()

    def _drop_long_line(self, size: int) -> None:
        with self.lock:
            self.counters["dropped_lines"] += 1
            self.device.push_error(
                ScpiError(TOO_MUCH_DATA, f"line of more than {MAX_LINE} bytes dropped ({size} so far)")
            )

    def _handle(self, client: socket.socket, line: bytes) -> None:
        text = line.rstrip(b"\r").decode("latin-1")
        with self.lock:
            self.counters["lines"] += 1
            responses = self.device.execute(text)
        if responses:
            try:
                client.sendall((";".join(responses) + "\n").encode("ascii", "replace"))
            except OSError:
                pass
