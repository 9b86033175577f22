"""`hil cse7766 emulate` prints where to connect on stdout (as `hil p1 emulate`); `hil cse7766 monitor`
reads the line with the firmware's parser, a line per frame; a line that ends is one line of error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENV = dict(os.environ, COLUMNS="200")


def test_emulate_then_monitor() -> None:
    emu = subprocess.Popen([sys.executable, "-m", "hil.cli", "cse7766", "emulate", "--seconds", "30",
                            "--period", "0.05", "--volts", "231", "--amps", "2.2", "--watts", "480"],
                           cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert emu.stdout is not None
        where = emu.stdout.readline().strip()        # stdout: just the plug's end, at once
        assert where.startswith("/dev/pts/"), where
        r = subprocess.run([sys.executable, "-m", "hil.cli", "cse7766", "monitor", where, "--count", "3"],
                           cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert len(lines) == 3, r.stdout
        for line in lines:
            volts = float(line.split(" V")[0].split()[-1])
            assert abs(volts - 231) < 0.2 and "2.200 A" in line and "480.0 W" in line, line  # cycle-rounded
        assert "accepted 3" in r.stderr
        # the chip's end goes away under a monitor that reads it. The monitor holds the line before the
        # emulator ends: once a pty is gone its number is free, and another program on this machine
        # (a parallel test, a rig) may get the same /dev/pts/N at once
        mon = subprocess.Popen([sys.executable, "-m", "hil.cli", "cse7766", "monitor", where], cwd=ROOT,
                               env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert mon.stdout is not None
            first = mon.stdout.readline()                # a frame read: the monitor has the line open
            assert " V" in first, (first, mon.stderr.read() if mon.poll() is not None else "")
            emu.terminate()
            out, errs = mon.communicate(timeout=60)
        finally:
            mon.kill()
        err = [x for x in errs.splitlines() if x.startswith("hil ")]
        assert mon.returncode in (1, 2) and len(err) == 1 and "Traceback" not in errs, errs
    finally:
        emu.kill()
        emu.communicate(timeout=10)


def test_fault_options_have_help() -> None:
    r = subprocess.run([sys.executable, "-m", "hil.cli", "cse7766", "emulate", "--help"], cwd=ROOT, env=ENV,
                       capture_output=True, text=True, timeout=60)
    for opt in ("--garbage", "--bad-checksum", "--not-calibrated", "--truncated", "--dropped"):
        row = next(x for x in r.stdout.splitlines() if opt + " " in x)
        assert "Probability per frame" in row, row
