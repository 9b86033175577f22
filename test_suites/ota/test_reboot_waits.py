"""The reboot after an install (and after a failed trial) waits until no HTTP answer is on its way, so no
client reads half a response; a flood that never lets up cannot hold it off past QUIET_S. Board time is a
fake clock that the service's own sleeps advance, so the bound is exact and the host's load plays no part."""

from __future__ import annotations

import asyncio

import pytest

from firmware.ota import service


class FakeHal:
    """ticks_ms that asyncio.sleep advances (patched below), and a reset that records when it came."""

    def __init__(self) -> None:
        self.now = 0
        self.resets: list[int] = []

    def ticks_ms(self) -> int:
        return self.now

    def ticks_diff(self, a: int, b: int) -> int:
        return a - b

    def reset(self) -> None:
        self.resets.append(self.now)


@pytest.fixture
def svc(tmp_path, monkeypatch):
    hal = FakeHal()
    hal.flash_root = str(tmp_path)
    s = service.OtaService(hal, log=lambda m: None)
    real_sleep = asyncio.sleep

    async def sleep(seconds: float) -> None:
        hal.now += int(seconds * 1000)
        await real_sleep(0)

    monkeypatch.setattr(service.asyncio, "sleep", sleep)
    return s, hal


@pytest.mark.parametrize("owed_ms", [0, 20, 480, 4980])
def test_reset_comes_right_after_the_last_answer_is_out(svc, owed_ms):
    s, hal = svc
    s.answering = lambda: 1 if hal.now < owed_ms else 0
    asyncio.run(s.reboot())
    assert hal.resets == [owed_ms]


def test_a_flood_cannot_hold_the_reset_off(svc):
    s, hal = svc
    s.answering = lambda: 3
    asyncio.run(s.reboot())
    assert hal.resets == [service.QUIET_S * 1000]


def test_without_a_web_server_it_resets_at_once(svc):
    s, hal = svc
    asyncio.run(s.reboot())
    assert hal.resets == [0]


def test_a_failed_trial_is_recorded_before_the_reset(svc):
    s, hal = svc
    s.answering = lambda: 1 if hal.now < 100 else 0
    asyncio.run(s.fail_trial("web server did not answer GET /"))
    assert hal.resets == [100]
    assert s.state()["trial_error"] == "web server did not answer GET /"
