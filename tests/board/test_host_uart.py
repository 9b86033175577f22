"""HostUart: a board's UART on any pyserial URL, awaited by asyncio apps."""

import asyncio
import socket
import threading
import time

import pytest
import serial

from hil.board.uart import HostUart
from hil.serial_lines import PtyPair


def wait_until(cond, timeout: float = 5.0) -> None:
    """Poll cond (set by the reader thread) until true; fail after timeout."""
    ev = threading.Event()
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "condition not met within %s s" % timeout
        ev.wait(0.005)


async def read_exactly(u: HostUart, n: int, timeout: float = 2.0) -> bytes:
    out = b""
    while len(out) < n:
        out += await asyncio.wait_for(u.read(n - len(out)), timeout)
    return out


def test_read_waits_for_bytes_and_write_goes_out():
    with PtyPair() as pty:
        far = serial.serial_for_url(pty.names[1], baudrate=4800, timeout=1)
        u = HostUart(pty.names[0], 4800, 8, 0, 1)
        try:
            async def main() -> bytes:
                reader = asyncio.create_task(read_exactly(u, 24))
                await asyncio.sleep(0)  # the reader is waiting before any byte exists
                assert not reader.done()
                far.write(b"\x55\x5a" + bytes(22))
                return await reader

            assert asyncio.run(main()) == b"\x55\x5a" + bytes(22)
            assert u.write(b"hello") == 5
            assert far.read(5) == b"hello"
            assert (u.port.baudrate, u.port.parity) == (4800, "E")
            assert u.received == 24 and u.overruns == 0
        finally:
            u.close()
            far.close()


def test_other_tasks_run_while_a_read_waits():
    with PtyPair() as pty:
        far = serial.serial_for_url(pty.names[1], timeout=1)
        u = HostUart(pty.names[0], 115200)
        ticks = 0
        try:
            async def ticker() -> None:
                nonlocal ticks
                while True:
                    ticks += 1
                    await asyncio.sleep(0.01)

            async def main() -> bytes:
                t = asyncio.create_task(ticker())
                asyncio.get_running_loop().call_later(0.2, far.write, b"/ISK5")
                data = await read_exactly(u, 5)
                t.cancel()
                return data

            assert asyncio.run(main()) == b"/ISK5"
            assert ticks >= 10
        finally:
            u.close()
            far.close()


def test_a_full_receive_buffer_loses_the_oldest_bytes_and_counts_them():
    with PtyPair() as pty:
        far = serial.serial_for_url(pty.names[1], timeout=1)
        u = HostUart(pty.names[0], 115200, rxbuf=100)
        try:
            far.write(bytes(range(250)))
            wait_until(lambda: u.received == 250)
            assert u.received == 250
            assert u.overruns == 150 and u.any() == 100
            assert u.read_now(1000) == bytes(range(150, 250))
        finally:
            u.close()
            far.close()


def test_reformat_changes_the_line_format():
    with PtyPair() as pty:
        u = HostUart(pty.names[0], 115200)
        try:
            u.reformat(9600, 7, 0, 1)  # DSMR 2.2
            assert u.format == (9600, 7, 0, 1)
            assert u.port.baudrate == 9600  # (a pty may refuse 7E1: it has no bits to frame)
            with pytest.raises(ValueError, match="parity 'E': expected None, 0"):
                u.reformat(9600, 7, "E", 1)
        finally:
            u.close()


def test_close_wakes_a_pending_read_with_an_error():
    with PtyPair() as pty:
        u = HostUart(pty.names[0], 115200)

        async def main() -> None:
            reader = asyncio.create_task(u.read())
            await asyncio.sleep(0.05)
            await asyncio.to_thread(u.close)
            with pytest.raises(OSError, match="is closed"):
                await asyncio.wait_for(reader, 2)

        asyncio.run(main())


def test_a_dropped_tcp_line_is_reopened():
    srv = socket.create_server(("127.0.0.1", 0))
    port = srv.getsockname()[1]
    srv.settimeout(5)
    u = HostUart(f"socket://127.0.0.1:{port}", 115200, reopen_s=0.05)
    try:
        conn, _ = srv.accept()
        conn.sendall(b"first")
        conn.close()  # the line goes away (ser2net restarted, cable pulled)
        conn2, _ = srv.accept()  # the UART came back on its own
        # pyserial flushes what arrived while it opened the socket: send once the reopen is complete
        wait_until(lambda: u.reopens == 1)
        conn2.sendall(b"second")

        async def main() -> bytes:
            return await read_exactly(u, 11)

        assert asyncio.run(main()) == b"firstsecond"
        assert u.reopens == 1
        conn2.close()
    finally:
        u.close()
        srv.close()
