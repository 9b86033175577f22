"""mDNS of an emulated board through python-zeroconf, on the loopback interface only.

`start(host, services, http_port)` answers `<host>.local` and advertises the services; the web server is
always advertised as `_http._tcp` (its SRV record carries the port, which differs per emulated board on
one machine, where every board is 127.0.0.1). `resolve(host)` finds another board's web server the way
the SmartPlug finds the SmartMeter. `suffix` (from the board config) is appended to every name, so
parallel rigs on one machine do not answer for each other; boards of one rig share it.
Registration probes the network for about 1.5 s, so it runs in a thread: `ready` is set when done.
"""

from __future__ import annotations

import asyncio
import socket
import threading

from zeroconf import IPVersion, ServiceInfo, Zeroconf


def _type(t: str) -> str:
    t = t.rstrip(".")
    if not t.endswith(".local"):
        t += ".local"
    if not (t.startswith("_") and ("._tcp." in t or "._udp." in t)):
        raise ValueError(f"service type {t!r}: expected like '_hwenergy._tcp'")
    return t + "."


class HostMdns:
    """The host side of `hal.mdns_start` / `hal.mdns_resolve`."""

    def __init__(self, interface: str = "127.0.0.1", address: str = "127.0.0.1", suffix: str = "") -> None:
        """Nothing is advertised until start()."""
        self.interface = interface
        self.address = address
        self.suffix = suffix
        self.zc: Zeroconf | None = None
        self.infos: list[ServiceInfo] = []
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self._started = False
        self._lock = threading.Lock()

    def _zc(self) -> Zeroconf:
        with self._lock:
            if self.zc is None:
                self.zc = Zeroconf(interfaces=[self.interface], ip_version=IPVersion.V4Only)
            return self.zc

    def infos_for(self, host: str, services: list[tuple[str, int, dict[str, str]]],
                  http_port: int | None) -> list[ServiceInfo]:
        """Return the service records for host (host + suffix + '.local')."""
        name = host + self.suffix
        server = f"{name}.local."
        svc = list(services)
        if http_port is not None and not any(_type(t) == "_http._tcp.local." for t, _, _ in svc):
            svc.append(("_http._tcp", http_port, {"path": "/"}))
        return [ServiceInfo(_type(t), f"{name}.{_type(t)}", addresses=[socket.inet_aton(self.address)],
                            port=port, properties=dict(txt), server=server) for t, port, txt in svc]

    def start(self, host: str, services: list[tuple[str, int, dict[str, str]]],
              http_port: int | None = None) -> None:
        """Advertise host and services (in the background; `ready` is set when registered)."""
        infos = self.infos_for(host, services, http_port)
        self.ready.clear()
        self.error = None

        self._started = True

        async def register_all(zc: Zeroconf) -> None:
            # probe and announce all services at once: ~1.2 s in all instead of ~1.5 s per service
            announcing = await asyncio.gather(*(zc.async_register_service(i) for i in infos))
            await asyncio.gather(*announcing)

        def run() -> None:
            try:
                zc = self._zc()
                asyncio.run_coroutine_threadsafe(register_all(zc), zc.loop).result(timeout=30)
                self.infos.extend(infos)
            except Exception as e:  # a failed advertisement must not stop the board: kept in .error
                self.error = e
            finally:
                self.ready.set()

        threading.Thread(target=run, name=f"mdns {host}", daemon=True).start()

    def resolve(self, host: str, service: str = "_http._tcp",
                timeout_ms: int = 3000) -> tuple[str, int] | None:
        """Return (address, port) of host's service, or None when nobody answers within timeout_ms."""
        t = _type(service)
        info = self._zc().get_service_info(t, f"{host}{self.suffix}.{t}", timeout=timeout_ms)
        if info is None or not info.addresses:
            return None
        return socket.inet_ntoa(info.addresses[0]), info.port

    def stop(self) -> None:
        """Withdraw everything (goodbye packets) and close the sockets."""
        if self._started:
            self.ready.wait(timeout=30)
        with self._lock:
            zc, self.zc = self.zc, None
        if zc is not None:
            zc.close()  # sends the goodbyes of every registered service in one round
        self.infos = []
        self._started = False
