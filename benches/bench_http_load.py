"""HTTP load on a SmartMeter board: 50 concurrent clients poll it for 60 s while the meter sends a telegram
a second; not one telegram may be lost (the board's own P1 counters against the emulator's count).

Run: .venv/bin/pytest benches/bench_http_load.py --benchmark-only -s
The latency percentiles (p50, p90, p99, max, in ms), requests per second and the P1 counters are printed
and kept in the benchmark JSON's extra_info. BENCH_HTTP_SECONDS / BENCH_HTTP_CLIENTS change the load.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import aiohttp

from test_suites.apps.smartmeter_rig import MeterRig, wait_for

SECONDS = float(os.environ.get("BENCH_HTTP_SECONDS", "60"))
CLIENTS = int(os.environ.get("BENCH_HTTP_CLIENTS", "50"))
PATHS = [
    "/api/v1/data",
    "/sensor/energy_consumed_tariff_1",
    "/api/plug/v1/reading",
    "/sensor/power_consumed",
    "/api/v1/telegram",
    "/",
]


def percentile(sorted_ms: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of sorted values."""
    if not sorted_ms:
        return float("nan")
    k = max(0, min(len(sorted_ms) - 1, round(p / 100 * len(sorted_ms) + 0.5) - 1))
    return sorted_ms[k]


async def load(url: str, clients: int, seconds: float) -> tuple[list[float], dict[int, int], int]:
    """Latencies (ms) of every answered request, answers by status, and transport errors."""
    lat: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    deadline = time.monotonic() + seconds
    conn = aiohttp.TCPConnector(limit=0, force_close=True)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(connector=conn, timeout=timeout) as session:

        async def client(k: int) -> None:
            nonlocal errors
            i = k
            while time.monotonic() < deadline:
                path = PATHS[i % len(PATHS)]
                i += 1
                t0 = time.perf_counter()
                try:
                    async with session.get(url + path) as r:
                        await r.read()
                        statuses[r.status] = statuses.get(r.status, 0) + 1
                except (aiohttp.ClientError, TimeoutError):
                    errors += 1
                    continue
                lat.append((time.perf_counter() - t0) * 1000)

        await asyncio.gather(*(client(k) for k in range(clients)))
    return sorted(lat), statuses, errors


def test_bench_http_load_loses_no_telegram(benchmark, tmp_path: Path) -> None:
    with MeterRig(tmp_path) as rig:
        rig.start()
        wait_for(lambda: rig.status()["p1"]["accepted"] >= 2, 10, "telegrams")

        def in_step() -> int:
            n = rig.status()["p1"]["accepted"]
            wait_for(lambda: rig.status()["p1"]["accepted"] > n, 5, "the next telegram")
            time.sleep(0.3)
            return len(rig.writer.sent) - rig.status()["p1"]["accepted"]

        lag0 = in_step()
        before = rig.status()
        result: dict = {}

        def run() -> None:
            result["lat"], result["statuses"], result["errors"] = asyncio.run(
                load(rig.board.base_url, CLIENTS, SECONDS)
            )

        benchmark.pedantic(run, rounds=1, iterations=1)
        lag1 = in_step()
        after = rig.status()
        lat = result["lat"]
        sent = after["p1"]["accepted"] - before["p1"]["accepted"]
        info = {
            "clients": CLIENTS,
            "seconds": SECONDS,
            "requests": len(lat),
            "rps": round(len(lat) / SECONDS, 1),
            "p50_ms": round(percentile(lat, 50), 2),
            "p90_ms": round(percentile(lat, 90), 2),
            "p99_ms": round(percentile(lat, 99), 2),
            "max_ms": round(lat[-1], 2) if lat else None,
            "statuses": {str(k): v for k, v in sorted(result["statuses"].items())},
            "transport_errors": result["errors"],
            "telegrams_taken": sent,
            "lag_before": lag0,
            "lag_after": lag1,
            "p1_counters": after["p1"],
            "uart_overruns": after["uart_overruns"],
        }
        benchmark.extra_info.update(info)
        print(
            f"\nHTTP load: {CLIENTS} clients x {SECONDS:.0f} s: {len(lat)} requests ({info['rps']}/s), "
            f"p50 {info['p50_ms']} ms, p90 {info['p90_ms']} ms, p99 {info['p99_ms']} ms, "
            f"max {info['max_ms']} ms; statuses {info['statuses']}, transport errors {result['errors']}; "
            f"P1: {sent} telegrams taken, "
            f"lag {lag0} -> {lag1}, counters {after['p1']}, overruns {after['uart_overruns']}"
        )
        assert lag1 == lag0, "telegrams sent but not taken: the P1 reader fell behind under HTTP load"
        for k in ("crc_errors", "truncated", "oversized", "garbage_bytes", "parse_errors"):
            assert after["p1"][k] == before["p1"][k], (k, after["p1"])
        assert after["uart_overruns"] == 0
        assert sent >= SECONDS * 0.9
        assert set(result["statuses"]) == {200}, result["statuses"]
        assert len(lat) > CLIENTS * SECONDS  # every client got at least one answer a second
        assert rig.board.alive
