"""The `hil` command as a user meets it: help that shows flags as flags, one-line errors that say what was
expected and what came (exit status 2 for bad usage, 1 when a run fails), never a traceback."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from hil.cli.helpstyle import value_label
from hil.serial_lines import PtyPair

ROOT = Path(__file__).resolve().parents[2]


def hil(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hil.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})


def one_line_error(r: subprocess.CompletedProcess[str], code: int, *words: str) -> str:
    err = r.stderr.strip()
    assert r.returncode == code, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and "╭" not in r.stderr, r.stderr
    assert len(err.splitlines()) == 1 and err.startswith("hil "), err
    for w in words:
        assert w in err, (w, err)
    return err


def test_value_labels() -> None:
    assert value_label("<int>") == "INTEGER" and value_label("<list[Path]>") == "PATH"
    assert value_label("<float range>") == "FLOAT" and value_label("<a|b>") == "[a|b]"
    assert value_label("<str>...") == "TEXT..."


@pytest.mark.parametrize("verb", [["p1", "decode"], ["p1", "monitor"], ["board", "run"], ["certify"],
                                  ["sim"], ["rig", "up"], ["cse7766", "emulate"]])
def test_help_shows_flags_as_flags(verb: list[str]) -> None:
    r = hil(*verb, "--help")
    assert r.returncode == 0, r.stderr
    assert "<bool>" not in r.stdout and "<int>" not in r.stdout and "<list[" not in r.stdout, r.stdout
    assert "{" not in r.stdout.splitlines()[1], r.stdout   # the usage line: FILES..., not {files}...


def test_decode_usage() -> None:
    r = hil("p1", "decode", "--help")
    usage = next(line for line in r.stdout.splitlines() if "Usage:" in line)
    assert usage.strip() == "Usage: hil p1 decode [OPTIONS] FILES..."
    rows = r.stdout.splitlines()
    assert any(line.split()[:2] == ["│", "--json"] and "One JSON object" in line for line in rows)
    one_line_error(hil("p1", "decode"), 2, "Missing argument 'FILES'", "usage: hil p1 decode")
    one_line_error(hil("p1", "decode", "--std", "x", "f"), 2, "--std", "integer")


def test_a_p1_path_that_does_not_exist_is_bad_usage(tmp_path: Path) -> None:
    # it used to start the board and retry the missing line every second, forever
    r = hil("board", "run", "smartmeter", "--flash", str(tmp_path / "f"), "--p1", "/dev/pts/999",
            "--http", "127.0.0.1:0", timeout=30)
    one_line_error(r, 2, "--p1 /dev/pts/999", "expected a serial device", "does not exist")


def test_a_port_in_use_is_bad_usage(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = hil("board", "run", "smartplug", "--flash", str(tmp_path / "f"), "--http", f"127.0.0.1:{port}")
    one_line_error(r, 2, f"--http 127.0.0.1:{port}", "expected a free port", "in use")


def test_monitor_a_missing_port() -> None:
    one_line_error(hil("p1", "monitor", "/dev/ttyNOPE0"), 2, "hil p1 monitor: /dev/ttyNOPE0",
                   "expected a serial line that opens", "No such file")


def test_monitor_says_when_the_line_ends() -> None:
    pair = PtyPair()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "hil.cli", "p1", "monitor", pair.names[1]], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
        assert proc.stderr is not None
        first = proc.stderr.readline()           # printed once the line is open: the event to wait on
        assert first.startswith("Reading " + pair.names[1]), first
    finally:
        pair.close()                              # the emulator's end goes away
    out, err = proc.communicate(timeout=30)
    lines = [x for x in err.splitlines() if x.startswith("hil ")]
    assert proc.returncode == 1 and "Traceback" not in err, err
    assert len(lines) == 1 and "the line ended after 0 telegrams" in lines[0], err


def test_emulators_refuse_a_port_that_does_not_exist() -> None:
    one_line_error(hil("p1", "emulate", "--port", "/dev/ttyNOPE0", "--count", "1"), 2, "--port /dev/ttyNOPE0",
                   "does not exist")
    one_line_error(hil("cse7766", "emulate", "--port", "/dev/ttyNOPE0", "--seconds", "1"), 2,
                   "--port /dev/ttyNOPE0", "does not exist")
