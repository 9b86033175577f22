"""The world controls of an exported emulated rig, served to the client that holds its place (RPyC).

An emulated rig's household (loads, PV, mains, appliance models), its P1 emulator (cable, reboots, line
faults, the meter's clock), the rig's one clock, the PowerDetectors' faults, the boards' power and WiFi
live in the ``hil rig up --export --world`` process, on the exporter side. The suites drive them
through the ``rig``, ``world``, ``p1`` and ``contact`` fixtures; through a place they reach them here.

:class:`WorldServer` serves one :class:`RigWorldService` per connection on a TCP port (loopback by
default), published in the place as the ``NetworkService`` ``rig-world`` (username ``hil-world``). The
protocol is RPyC's (a well-kept library of transparent remote objects): the client gets the running
:class:`hil.rig.runtime.RigRuntime` as a remote object and calls it as the local plugin would, so
``world.appliance("boiler").tank_c = 40.0`` or ``rig.clock.sleep_until(t)`` run on the exporter side,
unchanged. Only public attributes are reachable (no ``_private`` ones, no pickling); like labgrid's own
gRPC port it is plaintext and unauthenticated: loopback in CI, the lab's VPN across labs (docs/lab.md).

The client side is :mod:`hil.lab.remote_rig`.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import rpyc
import yaml
from rpyc.utils.server import ThreadedServer

log = logging.getLogger("hil.lab")

WORLD_USERNAME = "hil-world"
PROTOCOL_CONFIG = {
    "allow_public_attrs": True,  # the runtime's world, clock, chips...: attributes without a leading _
    "allow_setattr": True,  # world.appliance("boiler").tank_c = 40.0
    "allow_pickle": False,
    "import_custom_exceptions": True,  # a RigRuntimeError stays one on the client
    "sync_request_timeout": None,  # a jump through a simulated day may take minutes of host time
}


class RigWorldService(rpyc.Service):
    """What the holder of the place may reach: the running rig and a description of it."""

    def __init__(self, runtime: Any, view: dict[str, Any], features: frozenset[str]) -> None:
        """Serve ``runtime``; ``view`` is the rig as a client sees it (hil.lab.emulated.remote_view)."""
        super().__init__()
        self._runtime = runtime
        self._view = view
        self._features = features

    def on_connect(self, conn: Any) -> None:
        """Log who connected (one client per place at a time, in practice)."""
        log.info("world controls: client connected")

    def on_disconnect(self, conn: Any) -> None:
        """Log the end of a client's connection."""
        log.info("world controls: client disconnected")

    def exposed_runtime(self) -> Any:
        """Return the running rig (a remote object on the client)."""
        return self._runtime

    def exposed_status_json(self) -> str:
        """Return the running rig's status as JSON (one round trip for a failure's report)."""
        return json.dumps(self._runtime.status(), default=str)

    def exposed_trace_since_json(self, t0: float) -> str:
        """Return the world's trace since rig time ``t0`` as JSON (one round trip for a plot)."""
        import attrs

        return json.dumps([attrs.asdict(p) for p in self._runtime.world.trace_since(float(t0))])

    def exposed_rig_view(self) -> str:
        """Return the rig as a client sees it through the place, as rig-file YAML."""
        return str(yaml.safe_dump(self._view, sort_keys=False))

    def exposed_rig_meta(self) -> dict[str, Any]:
        """Return the exporter side's rig file identity and what the rig can do (for needs_* markers)."""
        rig = self._runtime.rig
        return {
            "name": rig.name,
            "file": rig.source,
            "sha256": rig.sha256,
            "clock": self._runtime.clock_mode,
            "features": sorted(self._features),
        }


class WorldServer:
    """Serve the world controls of ``runtime`` on ``host:port`` (port 0: any free one)."""

    def __init__(self, runtime: Any, view: dict[str, Any], host: str = "127.0.0.1", port: int = 0) -> None:
        """Bind the port now (so the exporter configuration can name it); :meth:`start` serves."""
        features = world_features(runtime)
        self.server = ThreadedServer(
            RigWorldService(runtime, view, features),
            hostname=host,
            port=port,
            protocol_config=dict(PROTOCOL_CONFIG),
            logger=logging.getLogger("hil.lab.world"),
        )
        self.host = host
        self.port = int(self.server.port)
        self._thread: threading.Thread | None = None

    def start(self) -> WorldServer:
        """Listen now (a client may connect as soon as this returns), accept on a background thread."""
        self.server._listen()  # what start() does first (idempotent); else listen() races the first client
        self._thread = threading.Thread(
            target=self.server.start, name=f"world controls {self.port}", daemon=True
        )
        self._thread.start()
        return self

    def resource(self) -> dict[str, Any]:
        """Return the labgrid resource that publishes this server (``NetworkService``)."""
        return {"cls": "NetworkService", "address": self.host, "port": self.port, "username": WORLD_USERNAME}

    def stop(self) -> None:
        """Stop serving and close every client's connection."""
        self.server.close()
        if self._thread is not None:
            self._thread.join(5.0)


def world_features(runtime: Any) -> frozenset[str]:
    """Return what the running rig offers the suites' ``needs_*`` markers (as a local run sees it)."""
    from hil.fixtures.plugin import rig_features

    return rig_features(runtime.rig)
