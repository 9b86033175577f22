"""mDNS of an emulated board through python-zeroconf, on the loopback interface only.

`start(host, services, http_port)` answers `<host>.local` and advertises the services; the web server is
advertised as `_http._tcp` unless the app gives that record itself (its SRV record carries the port,
which differs per emulated board on one machine, where every board is 127.0.0.1). `resolve(host)` finds
another board's web server the way the SmartPlug finds the SmartMeter. `suffix` (from the board config)
is appended to every name, so parallel rigs on one machine do not answer for each other; boards of one
rig share it.

Registration probes the network for about 1.2 s and withdrawal sends goodbyes, so both run in one
worker thread, in the order asked: `start` and `stop` return at once (the app's event loop never
waits on mDNS); `ready` is set when the last start is done; `close()` waits for everything.
"""

from __future__ import annotations

import asyncio
import queue
import socket
import threading
from collections.abc import Callable

from zeroconf import IPVersion, ServiceInfo, Zeroconf


def _type(t: str) -> str:
    t = t.rstrip(".")
    if not t.endswith(".local"):
        t += ".local"
    if not (t.startswith("_") and ("._tcp." in t or "._udp." in t)):
        raise ValueError(f"service type {t!r}: expected like '_hwenergy._tcp'")
    return t + "."


class HostMdns:
    """The host side of `hal.mdns_start` / `hal.mdns_stop` / `hal.mdns_resolve`."""

    def __init__(self, interface: str = "127.0.0.1", address: str = "127.0.0.1", suffix: str = "") -> None:
        """Nothing is advertised until start()."""
        self.interface = interface
        self.address = address
        self.suffix = suffix
        self.infos: list[ServiceInfo] = []
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self._adv: Zeroconf | None = None       # advertiser, owned by the worker
        self._res: Zeroconf | None = None       # resolver, shared by resolve() calls
        self._res_lock = threading.Lock()
        self._jobs: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._worker: threading.Thread | None = None

    def _zc(self) -> Zeroconf:
        return Zeroconf(interfaces=[self.interface], ip_version=IPVersion.V4Only)

    def infos_for(self, host: str, services: list[tuple[str, int, dict[str, str]]],
                  http_port: int | None) -> list[ServiceInfo]:
        """Return the service records for host (host + suffix + '.local')."""
        name = host + self.suffix
        server = f"{name}.local."
        svc = list(services)
        if http_port is not None and not any(_type(t) == "_http._tcp.local." for t, _, _ in svc):
            svc.append(("_http._tcp", http_port, {"path": "/"}))
        return [ServiceInfo(_type(t), f"{name}.{_type(t)}", addresses=[socket.inet_aton(self.address)],
                            port=port, properties={k: txt[k] for k in sorted(txt)}, server=server)
                for t, port, txt in svc]  # TXT keys sorted, as the device's responder (firmware/hal/mdns.py)

    def _submit(self, job: Callable[[], None]) -> None:
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(target=self._work, name="mdns", daemon=True)
            self._worker.start()
        self._jobs.put(job)

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                job()
            except Exception as e:  # a failed advertisement must not stop the board: kept in .error
                self.error = e

    def start(self, host: str, services: list[tuple[str, int, dict[str, str]]],
              http_port: int | None = None) -> None:
        """Advertise host and services, replacing what was advertised (`ready` is set when done)."""
        infos = self.infos_for(host, services, http_port)
        self.ready.clear()
        self.error = None

        async def register_all(zc: Zeroconf) -> None:
            # probe and announce all services at once: ~1.2 s in all instead of ~1.5 s per service
            announcing = await asyncio.gather(*(zc.async_register_service(i) for i in infos))
            await asyncio.gather(*announcing)

        def job() -> None:
            try:
                self._withdraw()
                self._adv = self._zc()
                asyncio.run_coroutine_threadsafe(register_all(self._adv), self._adv.loop).result(timeout=30)
                self.infos = infos
            finally:
                self.ready.set()

        self._submit(job)

    def _withdraw(self) -> None:
        zc, self._adv = self._adv, None
        self.infos = []
        if zc is not None:
            zc.close()  # sends the goodbyes of every registered service in one round

    def stop(self) -> None:
        """Withdraw everything (in the background)."""
        self._submit(self._withdraw)

    def resolve(self, host: str, service: str = "_http._tcp",
                timeout_ms: int = 3000) -> tuple[str, int] | None:
        """Return (address, port) of host's service, or None when nobody answers within timeout_ms."""
        t = _type(service)
        with self._res_lock:
            if self._res is None:
                self._res = self._zc()
            zc = self._res
        info = zc.get_service_info(t, f"{host}{self.suffix}.{t}", timeout=timeout_ms)
        if info is None or not info.addresses:
            return None
        return socket.inet_ntoa(info.addresses[0]), info.port

    def close(self, timeout: float = 30.0) -> None:
        """Withdraw everything and wait until it is done; close the resolver."""
        if self._worker is not None and self._worker.is_alive():
            self._jobs.put(self._withdraw)
            self._jobs.put(None)
            self._worker.join(timeout)
        self._worker = None
        with self._res_lock:
            zc, self._res = self._res, None
        if zc is not None:
            zc.close()
