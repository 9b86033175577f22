"""The emulated LAN between boards: a TCP forwarder on loopback per link, which a WiFi drop cuts.

Emulated boards all listen on 127.0.0.1, so nothing stands between a SmartPlug and the SmartMeter. The
rig gives each plug its own :class:`LanLink` to the SmartMeter's web server and configures the plug to
reach the meter there. ``cut()`` drops every open connection and refuses new ones (accepted, then
closed at once, as a peer that left the WiFi looks to a client); ``restore()`` forwards again.
"""

from __future__ import annotations

import logging
import select
import socket
import threading
from collections.abc import Callable
from types import TracebackType

log = logging.getLogger(__name__)
LOOPBACK = "127.0.0.1"


class LanLink:
    """Forward TCP connections from a free loopback port to ``target`` (host, port) while not cut."""

    def __init__(self, target: tuple[str, int], name: str = "lan") -> None:
        """Describe the link; :meth:`start` listens."""
        if target[0] != LOOPBACK:
            raise ValueError(f"lan link {name}: expected a target on {LOOPBACK}, got {target[0]!r}")
        self.target = target
        self.name = name
        self.cut_ = threading.Event()
        self._stop = threading.Event()
        self._listener: socket.socket | None = None
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.counters = {"connections": 0, "refused": 0, "bytes": 0}
        self._busy = 0          # accepts and forwards under way (virtual time waits for them)
        self._eof: set[socket.socket] = set()   # sockets whose end has been read: nothing more to come
        self._on_quiet: list[Callable[[], None]] = []
        self.port = 0

    @property
    def address(self) -> str:
        """Return 'HOST:PORT' where clients connect."""
        return f"{LOOPBACK}:{self.port}"

    @property
    def is_cut(self) -> bool:
        """Whether the link is cut."""
        return self.cut_.is_set()

    def start(self) -> LanLink:
        """Listen on a free loopback port and start forwarding."""
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((LOOPBACK, 0))
        s.listen(16)
        self._listener = s
        self.port = s.getsockname()[1]
        t = threading.Thread(target=self._accept, name=f"lan-{self.name}", daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def cut(self) -> None:
        """Drop every open connection and refuse new ones."""
        self.cut_.set()
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            _shutdown(c)

    def on_quiet(self, fn: Callable[[], None]) -> None:
        """Call ``fn()`` (from a forwarding thread) each time the last accept or forward under way ends.

        A rig's clock waiting for :meth:`quiet` then needs no polling: whatever made it say False
        (a forward under way, bytes waiting to be taken) ends in such a call.
        """
        self._on_quiet.append(fn)

    def _begin(self) -> None:
        with self._lock:
            self._busy += 1

    def _end(self) -> None:
        with self._lock:
            self._busy -= 1
            idle = not self._busy
        if idle:
            for fn in self._on_quiet:
                fn()

    def traffic(self) -> int:
        """Return a number that changes with every connection and every byte forwarded."""
        return self.counters["connections"] + self.counters["refused"] + self.counters["bytes"]

    def quiet(self) -> bool:
        """Whether nothing is in flight: no connection waiting, no bytes waiting or being forwarded."""
        with self._lock:
            if self._busy:
                return False
            socks = [s for s in self._conns if s.fileno() >= 0 and s not in self._eof]
        if self._listener is not None and self._listener.fileno() >= 0:
            socks.append(self._listener)
        try:
            ready, _, _ = select.select(socks, [], [], 0)
        except (OSError, ValueError):
            return False
        return not ready

    def restore(self) -> None:
        """Forward again."""
        self.cut_.clear()

    def stop(self) -> None:
        """Stop listening and close everything."""
        self._stop.set()
        self.cut()
        if self._listener is not None:
            _shutdown(self._listener)
            self._listener.close()
        for t in self._threads:
            t.join(2.0)

    def __enter__(self) -> LanLink:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _accept(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            try:
                select.select([self._listener], [], [])
                self._begin()
                try:
                    client, _ = self._listener.accept()
                except OSError:
                    self._end()
                    if self._stop.is_set():
                        return
                    continue
            except (OSError, ValueError):
                return
            try:
                self._take(client)
            finally:
                self._end()

    def _take(self, client: socket.socket) -> None:
        """Forward a new connection (or refuse it while cut)."""
        if self.cut_.is_set():
            self.counters["refused"] += 1
            client.close()
            return
        try:
            upstream = socket.create_connection(self.target, timeout=3.0)
            upstream.settimeout(None)
        except OSError as exc:
            log.info("lan %s: %s unreachable: %s", self.name, self.target, exc)
            self.counters["refused"] += 1
            client.close()
            return
        self.counters["connections"] += 1
        with self._lock:
            self._conns.update((client, upstream))
        pair = _Pair(client, upstream)
        for a, b in ((client, upstream), (upstream, client)):
            t = threading.Thread(target=self._pipe, args=(pair, a, b), daemon=True,
                                 name=f"lan-{self.name}-pipe")
            t.start()

    def _pipe(self, pair: _Pair, src: socket.socket, dst: socket.socket) -> None:
        busy = False
        try:
            while not self.cut_.is_set():
                select.select([src], [], [])
                self._begin()
                busy = True
                data = src.recv(65536)
                if not data:
                    with self._lock:
                        self._eof.add(src)
                    break
                dst.sendall(data)
                self.counters["bytes"] += len(data)
                self._end()
                busy = False
        except (OSError, ValueError):
            pass
        _shutdown(dst, socket.SHUT_WR)
        if pair.done():
            with self._lock:
                self._conns.discard(pair.a)
                self._conns.discard(pair.b)
                self._eof.discard(pair.a)
                self._eof.discard(pair.b)
            pair.a.close()
            pair.b.close()
        if busy:
            self._end()


class _Pair:
    """Two sockets joined by two pipe threads; the second thread to finish closes both."""

    def __init__(self, a: socket.socket, b: socket.socket) -> None:
        self.a = a
        self.b = b
        self._left = 2
        self._lock = threading.Lock()

    def done(self) -> bool:
        with self._lock:
            self._left -= 1
            return self._left == 0


def _shutdown(s: socket.socket, how: int = socket.SHUT_RDWR) -> None:
    try:
        s.shutdown(how)
    except OSError:
        pass
