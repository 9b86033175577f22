"""mDNS through python-zeroconf on loopback: a board advertises, another finds it."""

import asyncio
import os
import threading

import pytest
from zeroconf import IPVersion, Zeroconf

from hil.board.mdns import HostMdns


def hold(m: HostMdns) -> threading.Event:
    """Keep ``m``'s worker busy until the returned event is set (set anyway after 30 s: a hang guard)."""
    gate = threading.Event()
    m._submit(lambda: gate.wait(30))
    return gate


def test_a_board_is_found_by_name_and_its_services_are_advertised():
    suffix = f"-t{os.getpid()}"  # apart from other rigs on this machine
    meter = HostMdns(suffix=suffix)
    plug = HostMdns(suffix=suffix)
    try:
        # registration probes for ~1 s: never on the app's loop. start() returns while the worker is held,
        # before anything could be registered (a start that did the work itself would be ready at once)
        gate = hold(meter)
        meter.start("smartmeter", [("_hwenergy._tcp", 18080, {"api_enabled": "1", "path": "/api/v1"})],
                    http_port=18080)
        assert not meter.ready.is_set()
        gate.set()
        assert meter.ready.wait(10) and meter.error is None
        assert plug.resolve("smartmeter") == ("127.0.0.1", 18080)
        assert plug.resolve("nosuchboard", timeout_ms=300) is None
        # what Home Assistant's HomeWizard integration looks for
        zc = Zeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)
        try:
            info = zc.get_service_info("_hwenergy._tcp.local.", f"smartmeter{suffix}._hwenergy._tcp.local.",
                                       timeout=3000)
            assert info is not None and info.port == 18080
            assert info.properties[b"path"] == b"/api/v1" and info.server == f"smartmeter{suffix}.local."
        finally:
            zc.close()
        # re-announcing (a rejoin, a new port) replaces the records; stop withdraws them, without waiting
        meter.start("smartmeter", [("_hwenergy._tcp", 18081, {})], http_port=18081)
        assert meter.ready.wait(10) and meter.error is None
        assert plug.resolve("smartmeter") == ("127.0.0.1", 18081)
        gate = hold(meter)
        meter.stop()                 # returns while the worker is held: the goodbyes are sent later
        assert meter.infos and meter._adv is not None
        gate.set()
        meter.close()
        assert not meter.infos and meter._adv is None
        assert plug.resolve("smartmeter", timeout_ms=300) is None
    finally:
        meter.close()
        plug.close()


def test_bad_service_types_are_refused():
    m = HostMdns()
    with pytest.raises(ValueError, match="expected like '_hwenergy._tcp'"):
        m.infos_for("x", [("hwenergy", 80, {})], None)


def test_resolve_runs_off_the_event_loop(tmp_path):
    from hil.board.config import BoardConfig
    from hil.board.hal import HostHal

    hal = HostHal(BoardConfig(kind="smartplug", mac="24:6f:28:10:02:1e", flash=tmp_path / "f",
                              mdns_suffix=f"-r{os.getpid()}"))
    ticks = 0
    ticked = threading.Event()
    resolve = hal.mdns.resolve

    def slow_resolve(*args: object) -> object:
        # the lookup waits for the loop to tick ten times: it can only end with a result when it runs
        # beside the loop, not on it (30 s: a hang guard for a lookup that blocks the loop)
        assert ticked.wait(30), "the event loop did not run while the lookup was under way"
        return resolve(*args)

    hal.mdns.resolve = slow_resolve

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            if ticks == 10:
                ticked.set()
            await asyncio.sleep(0.01)

    async def main() -> object:
        t = asyncio.create_task(ticker())
        r = await hal.mdns_resolve("nobody-here", timeout_ms=300)
        t.cancel()
        return r

    try:
        assert asyncio.run(main()) is None
        assert ticks >= 10  # the loop kept running during the 300 ms lookup
    finally:
        hal.close()
