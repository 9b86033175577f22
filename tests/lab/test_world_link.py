"""The world controls' link on loopback (hil.lab.world_service / hil.lab.remote_rig), without a rig.

A real :class:`WorldServer` on a free loopback port serves a small stand-in for the running rig (a clock
that counts the rig seconds it was asked to sleep, an appliance model, a private attribute): what a
client may reach and change, that waits look at their condition on the rig's clock, and the errors a
wrong resource or a dead port give. The whole path with a real rig is tests/lab/test_world_place.py.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

pytest.importorskip("rpyc", reason="rpyc is not installed: scripts/setup installs the lab extra")

from hil.lab.remote_rig import RemoteClock, WorldLinkError, connect, world_address  # noqa: E402
from hil.lab.world_service import WorldServer  # noqa: E402
from hil.rig import load_rig  # noqa: E402


class _Clock:
    def __init__(self) -> None:
        self.t = 1_700_000_000.0
        self.slept: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds

    def sleep_until(self, t: float) -> None:
        self.t = max(self.t, t)


class _Boiler:
    def __init__(self) -> None:
        self.tank_c = 60.0


class _Runtime:
    clock_mode = "virtual"
    virtual = True

    def __init__(self) -> None:
        self.rig = load_rig()
        self.clock = _Clock()
        self.boiler = _Boiler()
        self._secret = "not for clients"

    def status(self) -> dict[str, object]:
        return {"rig": self.rig.name, "rig_time": self.clock.now()}


@pytest.fixture
def link() -> Iterator[tuple[_Runtime, object]]:
    runtime = _Runtime()
    server = WorldServer(runtime, {"name": "view"}).start()
    conn = connect(*world_address(server.resource()))
    try:
        yield runtime, conn
    finally:
        conn.close()
        server.stop()


def test_a_client_changes_the_models_state_but_reaches_no_private_attribute(link):
    runtime, conn = link
    remote = conn.root.runtime()
    remote.boiler.tank_c = 40.0
    assert runtime.boiler.tank_c == 40.0
    with pytest.raises(AttributeError):
        _ = remote._secret
    meta = dict(conn.root.rig_meta())
    assert meta["name"] == runtime.rig.name and meta["clock"] == "virtual"
    assert "emulated" in meta["features"] and "wifi_control" in meta["features"]
    assert json.loads(conn.root.status_json()) == runtime.status()
    assert conn.root.rig_view().strip() == "name: view"


def test_the_worlds_trace_comes_over_as_trace_points(link):
    from hil.lab.remote_rig import RemoteWorld
    from hil.rig.runtime.world import TracePoint

    runtime, conn = link
    points = [TracePoint(t, 100.0 + t, 0.0, 100.0 + t, 230.0, {"plug1": (True, 5.0, 4.5)})
              for t in (1.0, 2.0, 3.0)]
    runtime.world = type("W", (), {"trace_since": lambda self, t0: [p for p in points if p.t >= t0]})()
    world = RemoteWorld(conn.root.runtime().world, conn)
    assert world.trace_since(2.0) == points[1:]


def test_waits_look_at_their_condition_here_on_a_grid_of_the_rigs_seconds(link):
    runtime, conn = link
    clock = RemoteClock(conn.root.runtime().clock)
    t0 = clock.now()
    seen = []
    got = clock.wait_for(lambda: seen.append(clock.now()) or clock.now() - t0, lambda d: d >= 5, 60, 1.0)
    assert got == 5 and seen == [t0 + k for k in range(6)]
    assert runtime.clock.slept == [1.0] * 5
    with pytest.raises(AssertionError, match=r"never: not reached within 3 rig seconds"):
        clock.wait_for(lambda: False, bool, 3, 1.0, "never")
    assert runtime.clock.now() == t0 + 8


def test_a_wrong_resource_or_nobody_serving_says_what_was_expected():
    with pytest.raises(WorldLinkError, match=r"expected a NetworkService with username hil-world; got "
                                             r"NetworkService username='scpi'"):
        world_address({"cls": "NetworkService", "address": "127.0.0.1", "port": 1, "username": "scpi"})
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]   # bound, not listening: connections are refused
        expected = rf"127.0.0.1:{port}: .*expected hil rig up --export --world"
        with pytest.raises(WorldLinkError, match=expected):
            connect("127.0.0.1", port)
