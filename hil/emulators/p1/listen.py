"""A P1 line as a TCP server: every connected client receives the meter's bytes (ser2net style).

Home Assistant's DSMR integration (network mode), dsmr-parser's socket reader and ser2net users connect to
a host and port and read the telegram stream; several may read at once. `LineServer` has the `write`,
`flush` and `close` of a serial port, so the P1 writer streams to it like to a serial line. A client
connected mid-telegram gets the rest of that telegram (as a reader plugged into a real meter would); a
client that stops reading is dropped once its socket buffer is full for `send_timeout` seconds (counted),
so one stuck client never stalls the others or the meter's pace.
"""

from __future__ import annotations

import selectors
import socket
import threading


def parse_listen(text: str) -> tuple[str, int]:
    """Return (host, port) of 'HOST:PORT' ('[::1]:2000' for IPv6); ValueError saying what is wrong."""
    host, sep, port = text.rpartition(':')
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError('--listen %r: expected HOST:PORT, e.g. 127.0.0.1:2000 or [::1]:2000' % text)
    return host.strip('[]'), int(port)


class LineServer:
    """Accepts any number of TCP clients on (host, port) and writes the same bytes to each."""

    def __init__(self, host: str, port: int, send_timeout: float = 5.0) -> None:
        """Bind and listen (port 0: a free one, see `address`); clients are accepted on a thread."""
        family = socket.AF_INET6 if ':' in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(8)
        self.address: tuple[str, int] = self.sock.getsockname()[:2]
        self.send_timeout = send_timeout
        self.clients: list[socket.socket] = []
        self.accepted = 0
        self.dropped = 0
        self.bytes_written = 0
        self._lock = threading.Lock()
        self._joined = threading.Condition(self._lock)
        self._closing = threading.Event()
        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._sel.register(self.sock, selectors.EVENT_READ)
        self._sel.register(self._wake_r, selectors.EVENT_READ)
        self._thread = threading.Thread(target=self._accept_loop, name='p1-listen', daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """Where a client connects, as a pyserial URL."""
        host, port = self.address
        return 'socket://%s:%d' % ('[%s]' % host if ':' in host else host, port)

    def _accept_loop(self) -> None:
        while not self._closing.is_set():
            for key, _ in self._sel.select():
                if key.fileobj is self._wake_r or self._closing.is_set():
                    return
                try:
                    conn, _addr = self.sock.accept()
                except OSError:
                    return
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                conn.settimeout(self.send_timeout)
                with self._lock:
                    self.clients.append(conn)
                    self.accepted += 1
                    self._joined.notify_all()

    def wait_clients(self, n: int, timeout: float) -> bool:
        """Wait until n clients have connected (in all); False on timeout."""
        with self._joined:
            return self._joined.wait_for(lambda: self.accepted >= n, timeout)

    def write(self, data: bytes) -> int:
        """Send data to every client; a client that closed or stalls is dropped. Returns len(data)."""
        with self._lock:
            clients = list(self.clients)
        for c in clients:
            try:
                c.sendall(data)
            except OSError:  # closed by the client, or stuck for send_timeout
                self._drop(c)
        self.bytes_written += len(data)
        return len(data)

    def _drop(self, c: socket.socket) -> None:
        with self._lock:
            if c in self.clients:
                self.clients.remove(c)
                self.dropped += 1
        c.close()

    def flush(self) -> None:
        """Nothing to do: write() returns when the kernel holds the bytes (as a serial port's flush)."""

    def close(self) -> None:
        """Stop accepting, and close every client after what was written to it (an orderly FIN)."""
        if self._closing.is_set():
            return
        self._closing.set()
        self._wake_w.send(b'x')
        self._thread.join(5)
        with self._lock:
            clients, self.clients = self.clients, []
        for c in clients:
            try:
                c.shutdown(socket.SHUT_WR)  # the bytes already sent still arrive, then end of stream
                c.setblocking(False)
                while c.recv(4096):         # unread input would make close() reset the connection
                    pass
            except OSError:
                pass
            c.close()
        self._sel.close()
        self.sock.close()
        self._wake_r.close()
        self._wake_w.close()
