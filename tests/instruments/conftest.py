"""Fixtures: emulated instruments served on loopback, reached through pyvisa-py drivers."""

from collections.abc import Callable, Iterator

import pytest

from hil.emulators.instruments.scpi import ScpiDevice
from hil.emulators.instruments.server import ScpiServer
from hil.instruments.base import ScpiInstrument


@pytest.fixture
def serve() -> Iterator[Callable[[ScpiDevice], ScpiServer]]:
    """Start a device's SCPI server on a free loopback port; stopped at teardown."""
    servers: list[ScpiServer] = []

    def start(device: ScpiDevice) -> ScpiServer:
        server = ScpiServer(device).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def connect() -> Iterator[Callable[..., ScpiInstrument]]:
    """Open a driver class on a server's resource string; closed at teardown."""
    opened: list[ScpiInstrument] = []

    def open_(driver: type[ScpiInstrument], server: ScpiServer, **kwargs: object) -> ScpiInstrument:
        instrument = driver.open(server.resource, timeout_ms=kwargs.pop("timeout_ms", 2000), **kwargs)
        opened.append(instrument)
        return instrument

    yield open_
    for instrument in opened:
        instrument.close()
