"""`hil certify` outside a terminal: a line per finished test; -k selects; --last-failed reruns failures."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.fixtures.mini_rig import MINI

ROOT = Path(__file__).resolve().parents[2]

SUITE = """
import os


def test_passes(smartmeter):
    assert smartmeter is not None


def test_fails_until_fixed(smartmeter):
    assert os.path.exists(os.environ["FIXED_FLAG"]), "not fixed yet"


def test_left_out_by_k():
    raise AssertionError("-k should have left this test out")
"""


def certify(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hil.cli", "certify", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_lines_per_test_keyword_and_last_failed(tmp_path: Path) -> None:
    (tmp_path / "mini.yaml").write_text(MINI)
    suite = tmp_path / "test_cli_cert.py"
    suite.write_text(SUITE)
    flag = tmp_path / "fixed"
    env = dict(os.environ, FIXED_FLAG=str(flag), COLUMNS="200")
    out = tmp_path / "out"
    common = ["--rig", str(tmp_path / "mini.yaml"), "--out", str(out), "--workers", "1"]

    r = certify(*common, "--suite", str(suite), "-k", "not left_out", env=env)
    assert r.returncode == 1, r.stderr
    lines = r.stderr.splitlines()
    assert "certify: 2 tests collected" in lines                # -k left the third one out
    assert not any("left_out" in x for x in lines)
    assert any(x.startswith("PASSED  ") and x.split()[1].endswith("::test_passes") for x in lines), lines
    assert any(x.startswith("FAILED  ") and x.split()[1].endswith("::test_fails_until_fixed") for x in lines)
    assert r.stdout.startswith("CERTIFY FAIL: 1 passed, 1 failed")
    summary = (out / "summary.html").read_text()           # the report: titles and the world plots inline
    assert "<b>Passes</b>" in summary and "<b>Fails until fixed</b>" in summary
    assert summary.count("data:image/png;base64,") == 2

    flag.write_text("")                                        # the fix
    r = certify(*common, "--last-failed", env=env)
    assert r.returncode == 0, r.stderr + r.stdout
    assert "certify: 1 tests collected" in r.stderr.splitlines()
    assert r.stdout.startswith("CERTIFY PASS: 1 passed, 0 failed")
    r = certify(*common, "--last-failed", env=env)          # nothing failed now: nothing to run
    assert r.returncode == 0 and "nothing failed" in r.stdout



def test_last_failed_without_a_record_is_bad_usage(tmp_path: Path) -> None:
    r = certify("--out", str(tmp_path / "none"), "--last-failed", env=dict(os.environ))
    err = r.stderr.strip()
    assert r.returncode == 2 and len(err.splitlines()) == 1, err
    assert err.startswith("hil certify: --last-failed: expected the record of a certification at ")
