"""The PowerDetector state machine: pick-up, drop-out, bounce, faults, and a DMM reading its contact."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hil.emulators.instruments.dmm import DmmDevice
from hil.emulators.instruments.server import ScpiServer
from hil.emulators.powerdetector import OVERLOAD_OHM, LivePowerDetector, PowerDetector
from hil.instruments import Dmm


def quiet(**kwargs) -> PowerDetector:
    """A detector without bounce, for timing checks."""
    return PowerDetector(pickup_s=0.030, dropout_s=0.020, bounce_s=0.0, **kwargs)


def test_contact_closes_after_the_pickup_delay() -> None:
    pd = quiet()
    assert pd.step(10.0, True) is False
    assert pd.next_change() == pytest.approx(10.030)
    assert pd.step(10.0299, True) is False
    assert pd.step(10.030, True) is True
    assert pd.resistance() == pytest.approx(0.05, rel=0.2)


def test_contact_opens_after_the_dropout_delay() -> None:
    pd = quiet()
    pd.step(0.0, True)
    assert pd.step(1.0, False) is True
    assert pd.step(1.0199, False) is True
    assert pd.step(1.020, False) is False
    assert pd.resistance() == OVERLOAD_OHM


def test_a_pulse_shorter_than_pickup_never_closes_and_a_gap_shorter_than_dropout_never_opens() -> None:
    pd = quiet()
    pd.step(0.0, True)
    pd.step(0.025, False)
    assert pd.step(0.5, False) is False
    assert pd.makes == 0
    pd.step(1.0, True)
    pd.step(1.1, False)
    pd.step(1.115, True)  # 15 ms gap < 20 ms drop-out
    assert pd.step(2.0, True) is True
    assert pd.makes == 1


def test_time_going_backwards_is_refused_and_changes_nothing() -> None:
    pd = quiet()
    pd.step(5.0, True)
    with pytest.raises(ValueError, match=r"time went backwards: t=4.0 after t=5.0"):
        pd.step(4.0, False)
    assert pd.coil is True
    assert pd.step(5.03, True) is True


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"pickup_s": 0}, "PowerDetector.pickup_s: expected a time > 0 s, got 0"),
        ({"dropout_s": -0.01}, "PowerDetector.dropout_s: expected a time > 0 s, got -0.01"),
        ({"bounce_s": -1}, "PowerDetector.bounce_s: expected a value >= 0, got -1"),
        ({"fault": "welded"}, "expected one of stuck_open, stuck_closed or None, got 'welded'"),
    ],
)
def test_bad_parameters_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        PowerDetector(**kwargs)


def edges(
    pd: PowerDetector, start: float, stop: float, live: bool, dt: float = 0.0001
) -> list[tuple[float, bool]]:
    """Contact changes seen stepping every ``dt`` from start to stop with the output held."""
    seen = []
    last = pd.closed()
    n = round((stop - start) / dt)
    for i in range(n + 1):
        t = start + i * dt
        now = pd.step(t, live)
        if now != last:
            seen.append((round(t, 4), now))
            last = now
    return seen


def test_make_bounces_within_the_bounce_time_then_stays_closed() -> None:
    pd = PowerDetector(pickup_s=0.030, dropout_s=0.020, bounce_s=0.004, max_bounces=3, seed=11)
    pd.step(0.0, False)
    seen = edges(pd, 0.0, 0.1, True)
    assert seen[0] == (0.030, True)  # first touch at the pick-up time
    assert seen[-1][1] is True
    assert all(0.030 <= t <= 0.034 for t, _ in seen)
    bounces = (len(seen) - 1) // 2
    assert 1 <= bounces <= 3
    assert len(seen) % 2 == 1  # close, (open, close) x bounces


def test_bounce_is_reproducible_from_the_seed_and_differs_between_seeds() -> None:
    def pattern(seed: int) -> list[tuple[float, bool]]:
        pd = PowerDetector(bounce_s=0.005, max_bounces=4, seed=seed)
        pd.step(0.0, False)
        return edges(pd, 0.0, 0.05, True)

    assert pattern(3) == pattern(3)
    assert len({tuple(pattern(seed)) for seed in range(6)}) > 1


def test_stuck_open_and_stuck_closed_faults() -> None:
    pd = quiet(fault="stuck_open")
    pd.step(0.0, True)
    assert pd.step(1.0, True) is False
    assert pd.resistance() == OVERLOAD_OHM
    assert pd.next_change() is None
    pd.set_fault(None)
    assert pd.step(1.0, True) is True  # the coil has been energised all along
    pd.set_fault("stuck_closed")
    pd.step(2.0, False)
    assert pd.step(5.0, False) is True
    assert pd.resistance() == pytest.approx(0.05)
    pd.set_fault(None)
    assert pd.step(5.0, False) is False


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 80), st.booleans(), st.integers(0, 60)), min_size=1, max_size=12),
    st.integers(0, 1000),
)
def test_contact_timing_does_not_depend_on_how_often_it_is_stepped(changes, seed) -> None:
    """Stepping only at output changes and reads gives the same contact as stepping every 0.5 ms.

    Each change is followed by a read ``read_ms`` later (before or after the next change), where
    pick-up, drop-out and bounce happen.
    """
    schedule = []
    reads = set()
    t = 0.0
    for gap_ms, live, read_ms in changes:
        t += gap_ms / 1000
        schedule.append((round(t, 4), live))
        reads.add(round(t + read_ms / 1000, 4))
    end = max(reads) + 0.1
    reads.add(round(end, 4))
    coarse = PowerDetector(bounce_s=0.004, seed=seed)
    fine = PowerDetector(bounce_s=0.004, seed=seed)
    events = sorted([(at, 0, live) for at, live in schedule] + [(at, 1, None) for at in reads])
    live_now = False
    coarse_reads = {}
    for at, kind, live in events:
        if kind == 0:
            live_now = live
            coarse.step(at, live)
        else:
            coarse_reads[at] = coarse.step(at, live_now)
    fine_reads = {}
    live_now = False
    pending = list(schedule)
    grid = {round(i * 0.0005, 4) for i in range(round(end / 0.0005) + 1)}
    for at in sorted(grid | set(reads)):
        while pending and pending[0][0] <= at:
            change_at, live_now = pending.pop(0)
            fine.step(change_at, live_now)
        value = fine.step(at, live_now)
        if at in coarse_reads:
            fine_reads[at] = value
    assert fine_reads == coarse_reads
    assert len(coarse_reads) == len(reads)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_dmm_reads_the_contact_through_pyvisa() -> None:
    clock = FakeClock()
    live = LivePowerDetector(PowerDetector(bounce_s=0.003, seed=5), clock)
    with ScpiServer(DmmDevice(resistance=live.resistance)) as server, Dmm.open(server.resource) as dmm:
        assert dmm.resistance() == math.inf
        live.set_output(True)  # the plug switched on
        clock.t += 0.010
        assert not dmm.contact_closed()  # still picking up
        clock.t += 0.040
        assert 0.04 <= dmm.resistance() <= 0.06
        live.set_output(False)
        clock.t += 0.019
        assert dmm.contact_closed()  # drop-out delay
        clock.t += 0.002
        assert dmm.resistance() == math.inf
        live.set_fault("stuck_closed")
        assert dmm.contact_closed()
