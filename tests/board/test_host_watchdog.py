"""The host HAL's watchdog: fed, it never fires; left alone for its timeout (by the board's clock), it
resets the board (a re-exec or exit, here observed through a stand-in reset)."""

from __future__ import annotations

import os
import threading

from hil.board.hal import RESET_CAUSE_ENV, HostWatchdog


class Clock:
    """A board clock the test moves by hand."""

    def __init__(self) -> None:
        self.t = 0
        self.reset_done = threading.Event()

    def ticks_ms(self) -> int:
        return self.t

    def ticks_diff(self, a: int, b: int) -> int:
        return a - b

    def reset(self) -> None:
        self.reset_done.set()
        raise SystemExit  # ends the watchdog thread as a real reset would end the process


def test_fed_watchdog_does_not_fire_then_a_hang_resets():
    hal = Clock()
    wdt = HostWatchdog(hal, 1000)   # type: ignore[arg-type]
    for _ in range(20):
        hal.t += 900
        wdt.feed()
        assert not hal.reset_done.wait(0.06)   # gives the watchdog thread its turns; it must stay quiet
    hal.t += 1001
    try:
        assert hal.reset_done.wait(10)
        assert os.environ[RESET_CAUSE_ENV] == "watchdog"   # what the next boot's reset_cause() reads
    finally:
        os.environ.pop(RESET_CAUSE_ENV, None)
    assert wdt.feeds == 20
