"""`hil fuzz p1` end to end: a short bounded coverage-guided run, and the crash path (input saved)."""

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.fuzz

ROOT = Path(__file__).resolve().parents[2]
SECONDS = 15


def hil(*args: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hil.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env={**os.environ, "COLUMNS": "200"})


def table_value(out: str, row: str) -> str:
    m = re.search(rf"{re.escape(row)}\s*│\s*([^│]+?)\s*│", out)
    assert m, f"no {row!r} row in the summary:\n{out}"
    return m[1]


def test_short_bounded_run_finds_no_crash(tmp_path: Path):
    corpus, crashes = tmp_path / "corpus", tmp_path / "crashes"
    p = hil("fuzz", "p1", "--seconds", str(SECONDS), "--seed", "1", "--corpus", str(corpus),
            "--crashes", str(crashes), timeout=SECONDS + 60)
    assert p.returncode == 0, f"exit {p.returncode}\n{p.stdout}\n{p.stderr}"
    assert table_value(p.stdout, "crashes") == "0"
    assert not [c for c in crashes.iterdir()], sorted(crashes.iterdir())
    execs = int(table_value(p.stdout, "inputs run"))
    # ~800 inputs/s on one core here; a run that barely started would be no evidence
    assert execs >= 20 * SECONDS, p.stdout
    cov = table_value(p.stdout, "coverage (edges / features)")
    assert int(cov.split("/")[0]) > 100, cov


def test_a_crash_is_saved_with_its_input_and_traceback(tmp_path: Path):
    corpus, crashes = tmp_path / "corpus", tmp_path / "crashes"
    corpus.mkdir()
    data = b"/XYZ5\r\n\r\n1-0:1.8.1(000001.000*kWh)\r\nSELFTEST-BOOM\r\n!"
    (corpus / "seed").write_bytes(data)
    p = hil("fuzz", "p1", "--runs", "2000", "--corpus", str(corpus), "--crashes", str(crashes),
            "--selftest-crash", "SELFTEST-BOOM", timeout=60)
    assert p.returncode == 1, f"exit {p.returncode}\n{p.stdout}\n{p.stderr}"
    name = hashlib.sha1(data).hexdigest()
    assert (crashes / f"{name}.bin").read_bytes() == data
    report = (crashes / f"{name}.txt").read_text()
    assert "self-test crash" in report and "Traceback" in report
    assert "CRASH" in p.stdout and f"{name}.bin" in p.stdout.replace("\n", "")
