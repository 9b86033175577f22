"""Boards on the rig's clock (hil.board.rigloop + hil.rig.clock.virtual): real processes, rig time only.

A process that joins a virtual clock sleeps, times out and reads ``ticks_ms`` in rig time: the rig's
time moves only while someone waits for it and the process is idle, so every instant below is exact,
however busy the host is.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from firmware.hal import TICKS_MAX
from hil.board_process import ROOT, BoardProcess
from hil.rig.clock.virtual import FLIGHT_WAIT_S, ClockError, LineTap, VirtualClock

T0 = 1_705_309_080.0

CHILD = textwrap.dedent("""
    import asyncio
    from hil.board.rigloop import install
    clock = install()
    async def main():
        loop = asyncio.get_running_loop()
        for _ in range(3):
            await asyncio.sleep(1)
            print("slept", round(loop.time(), 6), clock.now_us(), flush=True)
        try:
            await asyncio.wait_for(asyncio.sleep(100), 2.5)
        except asyncio.TimeoutError:
            print("timeout", round(loop.time(), 6), flush=True)
        await asyncio.sleep(3600)
    asyncio.run(main())
""")


def child(clock: VirtualClock, name: str) -> subprocess.Popen[str]:
    proc: list[subprocess.Popen[str]] = []
    env = {"PYTHONPATH": str(ROOT), **clock.expect(name, [], lambda: not proc or proc[0].poll() is None)}
    proc.append(subprocess.Popen([sys.executable, "-c", CHILD], env=env, stdout=subprocess.PIPE, text=True,
                                 cwd=ROOT))
    return proc[0]


def test_asyncio_sleeps_and_timeouts_run_on_rig_time_exactly(tmp_path: Path) -> None:
    clock = VirtualClock(T0, tmp_path / "clock", quantum_s=0.1)
    p = child(clock, "child")
    try:
        clock.sleep(10)
        assert clock.now() == T0 + 10
    finally:
        p.kill()
        out, _ = p.communicate(timeout=10)
        clock.close()
    lines = out.splitlines()
    assert lines[:3] == [f"slept {k}.0 {int((T0 + k) * 1_000_000)}" for k in (1, 2, 3)], lines
    assert lines[3] == "timeout 5.5", lines


def test_two_processes_see_one_time_and_a_jump_reaches_both(tmp_path: Path) -> None:
    clock = VirtualClock(T0, tmp_path / "clock", quantum_s=0.1)
    a, b = child(clock, "a"), child(clock, "b")
    try:
        clock.sleep(2)
        clock.jump(600)           # strides: each process's timers fire once per stride
        assert clock.now() == T0 + 602
    finally:
        for p in (a, b):
            p.kill()
        outs = [p.communicate(timeout=10)[0].splitlines() for p in (a, b)]
        clock.close()
    assert outs[0][:3] == outs[1][:3]           # the same instants in both processes
    assert outs[0][3] == outs[1][3]


def test_a_process_that_never_goes_idle_stops_the_clock_with_a_message_naming_it(tmp_path: Path) -> None:
    clock = VirtualClock(T0, tmp_path / "clock", quantum_s=0.1, stall_s=1.0)
    busy = "from hil.board.rigloop import install\ninstall()\nwhile True: pass\n"
    proc: list[subprocess.Popen[str]] = []
    env = {"PYTHONPATH": str(ROOT), **clock.expect("spinner", [], lambda: not proc or proc[0].poll() is None)}
    proc.append(subprocess.Popen([sys.executable, "-c", busy], env=env, cwd=ROOT))
    try:
        with pytest.raises(ClockError, match=r"board spinner (busy|starting)"):
            clock.sleep(1)
    finally:
        proc[0].kill()
        proc[0].wait(10)
        clock.close()


def test_bytes_a_board_never_reads_stop_the_clock_with_what_its_line_holds(tmp_path: Path) -> None:
    # 10 s: the stall is named by what it waits on last (the imbalance, or a probe answer after it), so
    # the board only has to answer a probe, on a busy host too, before time is declared to stand still
    clock = VirtualClock(T0, tmp_path / "clock", quantum_s=0.1, stall_s=10.0)
    delivered = [0]
    tap = LineTap("p1", lambda: delivered[0], lambda: None, lambda: "24 unread in the pty, 0 dropped")
    proc: list[subprocess.Popen[str]] = []
    alive = lambda: not proc or proc[0].poll() is None  # noqa: E731
    env = {"PYTHONPATH": str(ROOT), **clock.expect("meter", [tap], alive)}
    proc.append(subprocess.Popen([sys.executable, "-c", CHILD], env=env, stdout=subprocess.PIPE, text=True,
                                 cwd=ROOT))
    try:
        clock.sleep(0.5)              # joined, with nothing delivered yet
        delivered[0] = 24             # a frame the board's UART (it has none open) never counts
        with pytest.raises(ClockError, match=r"board meter: bytes on its serial line not read yet "
                                             r"\(rx \(0, 0\); p1: 24 delivered since it joined, "
                                             r"24 unread in the pty, 0 dropped\)"):
            clock.sleep(1)
    finally:
        proc[0].kill()
        proc[0].communicate(timeout=10)
        clock.close()


def test_a_boards_ticks_ms_wraps_as_on_the_esp32(tmp_path: Path) -> None:
    """ticks_ms wraps at 2**30 (MicroPython): a plug that boots 100 ms before the wrap keeps running."""
    clock = VirtualClock(T0, tmp_path / "clock", quantum_s=0.1)
    start = TICKS_MAX + 1 - 100
    box: list[BoardProcess] = []

    def env() -> dict[str, str]:
        return clock.expect("plug", [], box[0].alive_or_starting, ticks_start_ms=start)

    board = BoardProcess("smartplug", tmp_path / "flash", networks={"lan": "lan-password"}, env=env,
                         sleep=clock.sleep, log_path=tmp_path / "console.log")
    box.append(board)
    (tmp_path / "flash").mkdir()
    (tmp_path / "flash" / "wifi.json").write_text('{"ssid": "lan", "password": "lan-password"}')
    try:
        board.start(timeout=60)
        clock.sleep(5)
        status, _ = board.get_json("/api/smartplug/v1/status")
        assert status == 200
    finally:
        board.kill()
        clock.close()
    stamps = [int(m) for m in re.findall(r"^\[(\d+)\]", board.log_text(), re.M)]
    assert stamps and stamps[0] >= start, stamps[:5]
    wrapped = [s for s in stamps if s < 10_000]
    assert wrapped, stamps            # lines printed after the wrap: small ticks again
    assert stamps.index(wrapped[0]) > 0 and max(stamps) <= TICKS_MAX


def test_wait_for_looks_when_next_look_says_and_never_past_the_timeout(tmp_path: Path) -> None:
    clock = VirtualClock(T0, tmp_path / "clock", quantum_s=1.0)
    try:
        looks: list[float] = []

        def look() -> float:
            looks.append(clock.now() - T0)
            return clock.now() - T0

        # every 100 s, but every 5 s in the 20 s after each multiple of 100 (a plug's boundary and window)
        def next_look(now: float) -> float:
            since = (now - T0) % 100
            return now + (5.0 if since < 20 else 100 - since)

        got = clock.wait_for(look, lambda t: t >= 210, 1000.0, 5.0, "t >= 210", next_look)
        assert got == 210.0
        assert looks == [0, 5, 10, 15, 20, 100, 105, 110, 115, 120, 200, 205, 210]
        looks.clear()
        with pytest.raises(AssertionError, match="never: not reached within 30 rig seconds"):
            clock.wait_for(look, lambda t: False, 30.0, 5.0, "never", lambda now: now + 1000)
        assert looks == [210, 240]   # one look at the start, one at the timeout, none beyond it
        looks.clear()
        # a schedule that asks for no time at all falls back on poll_s (time always moves)
        with pytest.raises(AssertionError):
            clock.wait_for(look, lambda t: False, 10.0, 5.0, "stuck", lambda now: now)
        assert looks == [240, 245, 250]
    finally:
        clock.close()


def test_a_part_in_flight_that_calls_back_is_waited_for_not_polled(tmp_path: Path) -> None:
    """Time waits for bytes in flight; a part that says when they arrived (on_quiet) wakes the clock.

    The part stays in flight for 0.5 host s (or longer, on a busy host) after the clock first asked.
    Looking every millisecond would ask it hundreds of times; woken by the part, the clock asks at most
    once per 50 ms safety net while it waits (a busy host makes that fewer, never more), and time moves
    only once the part said quiet.
    """
    import threading
    import time

    clock = VirtualClock(T0, tmp_path / "clock", quantum_s=1.0)
    asked: list[float] = []
    first = threading.Event()
    released = threading.Event()
    callbacks: list = []
    held: list[float] = []   # host seconds the part stayed in flight

    def quiet() -> bool:
        asked.append(clock.now())
        first.set()
        return released.is_set()

    def release() -> None:
        first.wait(10)
        t0 = time.monotonic()
        time.sleep(0.5)   # the stimulus: bytes that take half a host second to arrive
        held.append(time.monotonic() - t0)
        released.set()
        for fn in callbacks:
            fn()

    try:
        clock.add_quiet("slow link", quiet, on_quiet=callbacks.append)
        t = threading.Thread(target=release)
        t.start()
        clock.sleep(1.0)
        t.join(10)
        assert clock.now() == T0 + 1.0
        assert released.is_set()
        assert asked[0] == T0 and len(asked) >= 2
        assert len(asked) <= held[0] / FLIGHT_WAIT_S + 5, (len(asked), held)
    finally:
        clock.close()
