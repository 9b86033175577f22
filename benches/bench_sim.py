"""Simulator throughput: a year at one-minute world resolution, a day of 1 Hz telegrams.

Run: .venv/bin/pytest benches/bench_sim.py --benchmark-only --benchmark-columns=min,median,rounds
Goals on the 2-core machine: each <= 10 s of CPU time (extra_info "cpu_s"; the benchmark's own times are
wall clock, which a loaded machine stretches). The figures are in docs/simulator.md and the README.
"""

import time

from hil.sim.engine import simulate
from hil.sim.fidelity import simulate_telegrams
from hil.sim.run import build, decider_for
from hil.sim.scenarios import BUILTIN

DAY = 86400


def year_at_one_minute():
    """365 days of the peak-shaving scenario: world in 60 s steps, the firmware controller reads every
    minute and decides at every 15 min boundary (35,040 decisions)."""
    sc = BUILTIN["peak-shaving"]
    site, app = build(sc, 1)
    d = decider_for("plug", sc, poll_s=60)
    return simulate(site, app, d, sc.start_utc(), sc.start_utc() + 365 * DAY, poll_s=60, record=False)


def day_of_telegrams(encode_every_s=1):
    """One January day of the peak-shaving scenario: 86,400 telegrams encoded by the P1 emulator
    (e-MUCS 2, three-phase), CRC'd, framed and parsed by the firmware stack, each read by the controller."""
    sc = BUILTIN["peak-shaving"]
    site, app = build(sc, 1)
    d = decider_for("plug", sc, poll_s=encode_every_s)
    t0 = sc.start_utc() + 9 * DAY
    return simulate_telegrams(site, app, d, t0, t0 + DAY, read_every_s=encode_every_s,
                              encode_every_s=encode_every_s, record=False)


def test_bench_year_at_one_minute(benchmark):
    r = benchmark.pedantic(year_at_one_minute, rounds=2, iterations=1)
    c = r.counters
    benchmark.extra_info.update(steps=365 * 1440, readings=c["readings"], decisions=c["decisions"],
                                switches=c["switches"])
    assert c["readings"] == 365 * 1440 and c["decisions"] == c["boundaries"] > 35000


def timed_cpu(fn, cpu, *args):
    """Run fn(*args), appending its CPU time (s) to cpu."""
    t0 = time.process_time()
    r = fn(*args)
    cpu.append(time.process_time() - t0)
    return r


def test_bench_day_of_1hz_telegrams(benchmark):
    cpu = []
    r = benchmark.pedantic(timed_cpu, args=(day_of_telegrams, cpu), rounds=1, iterations=1)
    c = r.counters
    benchmark.extra_info.update(telegrams=c["p1_telegrams"], readings=c["readings"], decisions=c["decisions"],
                                cpu_s=round(min(cpu), 2))
    assert c["p1_telegrams"] == c["p1_accepted"] == c["readings"] == DAY


def test_bench_day_reading_a_telegram_every_10_s(benchmark):
    r = benchmark.pedantic(day_of_telegrams, args=(10,), rounds=2, iterations=1)
    c = r.counters
    benchmark.extra_info.update(telegrams=c["p1_telegrams"], readings=c["readings"], decisions=c["decisions"])
    assert c["p1_telegrams"] == c["readings"] == DAY // 10
