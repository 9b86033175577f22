"""The ESP32's limits on the emulated board: a socket budget like lwIP's (12 client connections), idle
clients cut off after READ_TIMEOUT_S, and /events slots that go to clients that read."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from smartmeter_rig import MeterRig
from smartplug_rig import wait_for

from firmware.apps.common.events import STALL_MS
from firmware.apps.common.web import READ_TIMEOUT_S
from hil.board_process import BoardProcess

BUDGET = 12  # hil/board/config.py http_sockets


def answers(board: BoardProcess) -> bool:
    """Whether GET /api gets an HTTP answer now."""
    try:
        code, _, _ = board.get("/api", timeout=2)
        return code == 200
    except OSError:
        return False


def test_idle_sockets_starve_then_time_out(idle_plug: BoardProcess) -> None:
    board = idle_plug
    idle = [socket.create_connection(("127.0.0.1", board.port)) for _ in range(BUDGET)]
    try:
        t0 = time.monotonic()
        assert not answers(board)  # every socket the device has is held by an idle client: starved
        # the idle clients are cut off after READ_TIMEOUT_S, and the device answers again
        wait_for(lambda: answers(board), bool, READ_TIMEOUT_S + 10, "an answer once the idle ones are cut",
                 board, poll_s=0.5)
        assert time.monotonic() - t0 >= READ_TIMEOUT_S - 1
        for s in idle:
            s.settimeout(2)
            assert s.recv(100).startswith(b"HTTP/1.0 400")  # cut with a 400, not silently
        st = board.get_json("/api/smartplug/v1/status")[1]
        assert st["http"]["no_socket"] >= 1 and st["http"]["timeouts"] >= BUDGET
    finally:
        for s in idle:
            s.close()


def test_event_slots_go_to_clients_that_read(tmp_path: Path) -> None:
    def chatty(t: int) -> dict[str, float]:
        # a load that changes every period: Power, Current and the registers change in every telegram
        return {"import_w": 1000 + 37 * (t % 50), "export_w": 0, "gas_dm3_h": 0}

    # four telegrams a second, each changing several rows: events for the stuck streams to block on
    with MeterRig(tmp_path, period_s=0.25, load=chatty) as rig:
        rig.start()
        wait_for(lambda: rig.status()["fresh"], bool, 10, "a fresh reading", rig.board)
        stuck = []
        for _ in range(4):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)  # and never reads
            s.connect(("127.0.0.1", rig.board.port))
            s.sendall(b"GET /events HTTP/1.0\r\n\r\n")
            stuck.append(s)
        try:
            wait_for(lambda: rig.status()["events"]["connects"], lambda n: n >= 4, 10, "four streams",
                     rig.board)
            # a client that reads gets a slot once a stuck stream has not taken a write for STALL_MS; until
            # then it is refused (503) and asks again, as a browser's EventSource does
            opened: list[socket.socket] = []

            def ask() -> bytes:
                c = socket.create_connection(("127.0.0.1", rig.board.port))
                opened.append(c)
                c.settimeout(5)
                c.sendall(b"GET /events HTTP/1.0\r\n\r\n")
                return c.recv(100)

            head = wait_for(ask, lambda h: h.startswith(b"HTTP/1.0 200"), STALL_MS / 1000 + 30,
                            "an event slot for a client that reads", rig.board, poll_s=1)
            assert b"text/event-stream" in head or head.startswith(b"HTTP/1.0 200")
            ev = rig.status()["events"]
            assert ev["clients_dropped"] >= 1 and ev["clients_refused"] >= 0
            for c in opened:
                c.close()
        finally:
            for s in stuck:
                s.close()
