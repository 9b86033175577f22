"""The device's P1 code path with its native CRC, under MicroPython's unix port (x86-64, native emitter).

CPython cannot run viper code, and the WebAssembly port has no native emitter: this is where the ESP32's
exact code path (the Python parser, the CRC compiled to machine code by the viper emitter) runs here. Same
streams as bench_p1_parser.py (the first 72 telegrams of each profile's sampled day, ten minutes apart,
13-month history on e-MUCS); benches/mpy_p1_native.py feeds them to a cold P1Stack with the native CRC and
with the byte-table loop and reads every value. The native code is x86-64's here, the ESP32's is Xtensa's:
what carries over is the share of the CRC in a telegram's time, not the microseconds.

Run: .venv/bin/pytest benches/bench_p1_native.py -p no:cacheprovider -s
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benches.bench_p1_parser import stream
from hil.emulators.p1.profiles import PROFILES

HERE = Path(__file__).resolve().parent
MICROPYTHON = Path(sys.executable).parent / "micropython"
TELEGRAMS = 72


def test_bench_native_crc_share_under_micropython(benchmark: Any, tmp_path: Path) -> None:
    if not MICROPYTHON.exists():
        pytest.skip(f"{MICROPYTHON}: MicroPython's unix port is not installed (scripts/setup)")
    for key in PROFILES:
        (tmp_path / f"{key}.p1").write_bytes(b"".join(stream(f"{key} sampled day")[:TELEGRAMS]))
    runs: list[subprocess.CompletedProcess[str]] = []
    benchmark.pedantic(lambda: runs.append(subprocess.run(
        [str(MICROPYTHON), str(HERE / "mpy_p1_native.py"), str(tmp_path), str(HERE.parent)],
        capture_output=True, text=True, timeout=600, check=False)), rounds=1, iterations=1)
    r = runs[0]
    assert r.returncode == 0, r.stderr + r.stdout
    rows = [json.loads(line.split(" ", 1)[1]) for line in r.stdout.splitlines()
            if line.startswith("P1-NATIVE ")]
    assert sorted(row["profile"] for row in rows) == sorted(PROFILES)
    print("\nMicroPython unix port (x86-64): us per telegram, cold P1Stack, every value read")
    print("%-11s %6s %12s %12s %10s %10s %8s" % ("profile", "bytes", "stack+native", "stack+table",
                                                "CRC native", "CRC table", "CRC share"))
    table = {}
    for row in sorted(rows, key=lambda x: x["profile"]):
        share = (row["crc_native_us"] / row["stack_native_us"], row["crc_table_us"] / row["stack_table_us"])
        table[row["profile"]] = dict(row, crc_share_native=round(share[0], 3),
                                     crc_share_table=round(share[1], 3))
        print("%-11s %6d %12.1f %12.1f %10.1f %10.1f %3.0f%%/%2.0f%%" % (
            row["profile"], row["bytes"], row["stack_native_us"], row["stack_table_us"], row["crc_native_us"],
            row["crc_table_us"], 100 * share[0], 100 * share[1]))
    benchmark.extra_info.update(profiles=table)
