"""The loopback SCPI server under abuse: garbage, long lines, dropped connections, many clients."""

import socket
import threading

import pytest

from hil.emulators.instruments.dmm import DmmDevice
from hil.emulators.instruments.server import MAX_LINE, ScpiServer
from hil.instruments import Dmm


def raw(server: ScpiServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=2)


def test_only_loopback_is_served() -> None:
    with pytest.raises(ValueError, match="listen on 127.0.0.1 only, got host '0.0.0.0'"):
        ScpiServer(DmmDevice(), host="0.0.0.0")


def test_garbage_long_lines_and_dropped_connections_never_kill_the_server(serve, connect) -> None:
    server = serve(DmmDevice(resistance=lambda: 0.05))
    s = raw(server)
    s.sendall(b"\x00\xff\xfe garbage\r\n\n\n;;;\n" + b"A" * (MAX_LINE + 5000) + b"\n*IDN?\r\n")
    assert s.makefile("rb").readline().startswith(b"Keysight Technologies,34461A")
    s.sendall(b"MEAS:RES")  # no terminator: the client goes away mid-line
    s.close()
    s = raw(server)
    s.sendall(b"\x80" * 100)
    s.shutdown(socket.SHUT_RDWR)
    s.close()
    dmm = connect(Dmm, server)
    assert dmm.resistance() == pytest.approx(0.05)
    codes = [code for code, _ in dmm.errors()]
    assert codes == [-101, -223]
    assert server.counters["dropped_lines"] == 1
    assert server.counters["connections"] == 3


def test_concurrent_clients_see_whole_answers(serve, connect) -> None:
    server = serve(DmmDevice(resistance=lambda: 12.5, volts=lambda: 3.3))
    meters = [connect(Dmm, server) for _ in range(4)]
    failures: list[str] = []

    def hammer(meter: Dmm, resistance: bool) -> None:
        for _ in range(50):
            value = meter.resistance() if resistance else meter.dc_volts()
            expected = 12.5 if resistance else 3.3
            if value != pytest.approx(expected):
                failures.append(f"{value} != {expected}")

    threads = [threading.Thread(target=hammer, args=(m, i % 2 == 0)) for i, m in enumerate(meters)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert failures == []
    assert server.device.counters["errors"] == 0


def test_stop_closes_clients_and_frees_the_port(connect) -> None:
    server = ScpiServer(DmmDevice()).start()
    port = server.port
    s = raw(server)
    s.sendall(b"*IDN?\n")
    assert s.recv(100).startswith(b"Keysight")  # accepted and served
    server.stop()
    assert s.recv(10) == b""  # the server closed our connection
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1)
