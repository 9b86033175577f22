"""The ``rig`` of a run whose place carries world controls: an exported emulated rig, driven from here.

A place exported by ``hil rig up --export --world`` carries, beside the boards' web servers, consoles
and instruments, the ``NetworkService`` ``rig-world``: the exporter side's running rig, served over
RPyC (:mod:`hil.lab.world_service`). :class:`RemoteRig` is what the ``rig`` fixture yields then. It
answers every question the fixtures and suites ask a local :class:`hil.rig.runtime.RigRuntime`:

- the boards' HTTP goes to the place's addresses, with the board's token the place carries
  (:class:`PlaceBoard`); the instruments' pyvisa drivers open the place's VISA resources;
- the rig's clock is the exporter side's (:class:`RemoteClock`): ``now()`` and ``sleep()`` go over the
  link, ``wait_for()`` looks at its condition here, on the same grid of rig time as a local run;
- the world's trace (for the plots) comes over as one JSON document (:class:`RemoteWorld`);
- everything else (``world``'s controls, ``chips``, ``detectors``, ``jump``, ``p1_pull``, ``meter_reboot``,
  ``power_off``, ``wifi_drop``, ``reset_world``, ``align``, ...) is the exporter side's runtime itself.

So the e2e suites run through the place unchanged, on the rig's virtual clock, as fast as locally.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from hil.rig.model import Rig
from hil.rig.runtime.http import BoardHttp

log = logging.getLogger("hil.lab")
T = TypeVar("T")


class WorldLinkError(RuntimeError):
    """The world controls of a place could not be reached; the message says where and why."""


def connect(host: str, port: int, timeout: float = 10.0) -> Any:
    """Open an RPyC connection to a place's world controls (WorldLinkError when nobody answers)."""
    import rpyc

    from hil.lab.world_service import PROTOCOL_CONFIG

    try:
        conn = rpyc.connect(host, port, config=dict(PROTOCOL_CONFIG), keepalive=True)
    except OSError as exc:
        raise WorldLinkError(
            f"world controls at {host}:{port}: {exc}; expected hil rig up --export --world serving there"
        ) from None
    return conn


def world_address(resource: dict[str, Any]) -> tuple[str, int]:
    """Return ``(host, port)`` of a place's ``rig-world`` resource (WorldLinkError when it is not one)."""
    from hil.lab.world_service import WORLD_USERNAME

    if resource.get("cls") != "NetworkService" or resource.get("username") != WORLD_USERNAME:
        raise WorldLinkError(
            f"resource rig-world: expected a NetworkService with username {WORLD_USERNAME}; got "
            f"{resource.get('cls')} username={resource.get('username')!r}"
        )
    return str(resource["address"]), int(resource["port"])


class RemoteClock:
    """The exporter side's rig clock: time and sleeping over the link, conditions looked at here."""

    def __init__(self, remote: Any) -> None:
        """Wrap the remote clock object."""
        self.remote = remote

    def now(self) -> float:
        """Return rig time (UTC epoch seconds)."""
        return float(self.remote.now())

    def sleep(self, seconds: float) -> None:
        """Let ``seconds`` of rig time pass (a virtual clock runs them as fast as the rig allows)."""
        self.remote.sleep(seconds)

    def sleep_until(self, t: float) -> None:
        """Wait until rig time ``t``."""
        self.remote.sleep_until(t)

    def wait_for(self, fn: Callable[[], T], ok: Callable[[T], bool] = bool, timeout: float = 60.0,
                 poll_s: float = 1.0, what: str = "condition",
                 next_look: Callable[[float], float] | None = None) -> T:
        """Poll ``fn()`` here until ``ok(value)``, as the local clock's ``wait_for`` does.

        Every ``poll_s`` rig seconds, or at ``next_look(now)`` when given; AssertionError at timeout.
        """
        from hil.rig.clock.virtual import wait_for

        return wait_for(self, fn, ok, timeout, poll_s, what, next_look)

    def __getattr__(self, name: str) -> Any:
        """Anything else the clock answers (``jump``, ``remote_status``, ``rounds``...): the remote one's."""
        return getattr(self.remote, name)


class PlaceBoard:
    """A board of an exported emulated rig: HTTP through the place; console, power and relay line remote.

    The console is the exporter side's log (exact, as a local run reads it; the place's ``-console``
    resource serves the same bytes to a terminal), the relay line is the emulated board's own.
    """

    emulated = True

    def __init__(self, spec: Any, remote: Any, http_timeout: float) -> None:
        """``spec``: the board resolved from the place (address, token); ``remote``: the runtime's board."""
        self.spec = spec
        self.name = spec.name
        self.role = spec.role
        self.remote = remote
        self.http = BoardHttp(_url(spec.http), spec.name, http_timeout)
        self.http.token = spec.token

    @property
    def address(self) -> str:
        """Return the board's address as the place gives it."""
        return str(self.spec.http)

    @property
    def powered(self) -> bool:
        """Whether the board is powered (the exporter side's view)."""
        return bool(self.remote.powered)

    def log_text(self) -> str:
        """Return the board's console so far."""
        return str(self.remote.log_text())

    def relay_live(self) -> bool | None:
        """Whether the plug's output is live (its relay line and power)."""
        value = self.remote.relay_live()
        return None if value is None else bool(value)

    def rewire(self, spec: Any) -> None:
        """Use the place's (new) address and token."""
        self.spec = spec
        self.http.base_url = _url(spec.http).rstrip("/")
        self.http.token = spec.token

    def __getattr__(self, name: str) -> Any:
        """Anything else (``describe``, ``wifi_up``, ``proc``...): the exporter side's board."""
        return getattr(self.remote, name)


class RemoteWorld:
    """The exporter side's world; its trace comes over in one piece (a plot reads every point)."""

    def __init__(self, remote: Any, conn: Any) -> None:
        """Wrap the remote world; ``conn`` is the link (its service answers the trace as JSON)."""
        self.remote = remote
        self.conn = conn

    def trace_since(self, t0: float) -> list[Any]:
        """Return the world's steps since rig time ``t0`` (TracePoint objects, as locally)."""
        from hil.rig.runtime.world import TracePoint

        points = json.loads(self.conn.root.trace_since_json(t0))
        return [TracePoint(**{**p, "plugs": {k: tuple(v) for k, v in p["plugs"].items()}}) for p in points]

    def __getattr__(self, name: str) -> Any:
        """Anything else (``set_base``, ``branches``, ``status``, ...): the remote world's."""
        return getattr(self.remote, name)


class _Link:
    """Where a plug is told to find the SmartMeter (the exporter side's LAN link)."""

    def __init__(self, address: str) -> None:
        self.address = address


class RemoteRig:
    """The ``rig`` of a run through a place with world controls (see the module)."""

    def __init__(self, rig: Rig, conn: Any, run_dir: Path | None = None) -> None:
        """``rig``: the place's rig view, resolved against its resources; ``conn``: the world link."""
        self.rig = rig
        self.conn = conn
        self.run_dir = run_dir
        self.remote: Any = None
        self.boards: dict[str, PlaceBoard] = {}
        self.instruments: dict[str, Any] = {}
        self.links: dict[str, _Link] = {}
        self.meta: dict[str, Any] = {}
        self.started = False
        self.stopped = False

    def start(self) -> RemoteRig:
        """Take the exporter side's rig over the link, open the instruments at the place's addresses."""
        from hil.rig.instruments import open_instruments

        self.started = True
        self.remote = self.conn.root.runtime()
        self.meta = json.loads(json.dumps(dict(self.conn.root.rig_meta()), default=list))
        self.clock = RemoteClock(self.remote.clock)
        self.world = RemoteWorld(self.remote.world, self.conn)
        self.virtual = bool(self.remote.virtual)
        self.clock_mode = str(self.remote.clock_mode)
        # on a virtual clock a board answers in no rig time: a host-time timeout would measure the host
        timeout = 30.0 if self.virtual else 5.0
        self.boards = {n: PlaceBoard(spec, self.remote.boards[n], timeout)
                       for n, spec in self.rig.boards.items()}
        self.links = {str(n): _Link(str(link.address)) for n, link in self.remote.links.items()}
        self.instruments = open_instruments(self.rig)
        log.info("rig %s through its place: world controls of %s (%s), %s clock", self.rig.name,
                 self.meta.get("name"), self.meta.get("file"), self.clock_mode)
        return self

    @property
    def smartmeter(self) -> PlaceBoard:
        """The SmartMeter board."""
        return self.boards[self.rig.smartmeter.name]

    @property
    def smartplugs(self) -> dict[str, PlaceBoard]:
        """The SmartPlug boards by name, in rig-file order."""
        return {b.name: self.boards[b.name] for b in self.rig.smartplugs}

    def now(self) -> float:
        """Return rig time (UTC epoch seconds)."""
        return self.clock.now()

    def features(self) -> frozenset[str]:
        """Return what the exported rig offers the suites' ``needs_*`` markers."""
        return frozenset(self.meta.get("features", ()))

    def status(self) -> dict[str, Any]:
        """Return the exporter side's rig status as plain data (for a failure's report)."""
        return dict(json.loads(self.conn.root.status_json()))

    def rewire(self, rig: Rig) -> list[str]:
        """Use the place's resources as resolved again (after an exporter restart); return what changed."""
        from hil.rig.instruments import open_instruments

        changed = []
        for name, spec in rig.boards.items():
            board = self.boards.get(name)
            if board is not None and (board.spec.http, board.spec.token) != (spec.http, spec.token):
                changed.append(f"boards.{name}.http {board.spec.http} -> {spec.http}")
                board.rewire(spec)
        moved = [n for n, i in rig.instruments.items() if self.rig.instruments[n].resource != i.resource]
        if moved:
            for name in moved:
                self.instruments[name].close()
                changed.append(f"instruments.{name} {self.rig.instruments[name].resource} -> "
                               f"{rig.instruments[name].resource}")
            self.instruments.update(open_instruments(rig, moved))
        self.rig = rig
        return changed

    def stop(self) -> None:
        """Close the instruments and the world link (the exported rig itself runs on)."""
        if self.stopped:
            return
        self.stopped = True
        for driver in self.instruments.values():
            try:
                driver.close()
            except Exception as exc:  # noqa: BLE001 - close the rest anyway
                log.warning("closing %s: %s", driver, exc)
        try:
            self.conn.close()
        except Exception as exc:  # noqa: BLE001 - a dead link needs no closing
            log.debug("closing the world link: %s", exc)

    def __getattr__(self, name: str) -> Any:
        """Everything else a suite asks the rig (world, chips, jump, p1_pull, ...): the exporter side's."""
        if name.startswith("_") or self.remote is None:
            raise AttributeError(name)
        return getattr(self.remote, name)


def _url(address: str) -> str:
    return address if "://" in address else f"http://{address}"

