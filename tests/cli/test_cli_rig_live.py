"""`hil rig up` outside a terminal prints where the boards are at once (not when it stops);
`hil rig status --watch` shows the running rig line by line; `hil rig serve` says how to talk SCPI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.fixtures.mini_rig import MINI

ROOT = Path(__file__).resolve().parents[2]


def test_rig_up_prints_urls_at_once_and_status_watch_follows(tmp_path: Path) -> None:
    name = f"live{os.getpid()}"
    rig_file = tmp_path / "mini.yaml"
    rig_file.write_text(MINI.replace("name: mini", f"name: {name}"))
    env = dict(os.environ, PYTHONPATH=str(ROOT), TMPDIR=os.environ.get("TMPDIR", "/tmp"))
    up = subprocess.Popen([sys.executable, "-m", "hil.cli", "rig", "up", str(rig_file), "--seconds", "60"],
                          cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    watch = None
    try:
        assert up.stdout is not None
        lines = []
        while not (lines and lines[-1].startswith(f"rig {name} up")):
            line = up.stdout.readline()
            assert line, f"rig up ended before saying it was up: {lines}"
            lines.append(line.rstrip("\n"))
        assert up.poll() is None                          # printed while it runs, not at the end
        urls = {ln.split(":", 1)[0]: ln for ln in lines if "http://127.0.0.1:" in ln}
        assert set(urls) == {"meter", "plug1"}, lines
        watch = subprocess.Popen([sys.executable, "-m", "hil.cli", "rig", "status", name, "--watch",
                                  "--interval", "0.5"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        assert watch.stdout is not None
        first, second = watch.stdout.readline(), watch.stdout.readline()   # one line per look
        for look in (first, second):
            assert look.startswith(f"rig {name}: meter up, plug1 up;"), (look, watch.stderr)
            assert "relay" in look and "P1 " in look and "telegrams" in look
    finally:
        if watch is not None:
            watch.kill()
            watch.communicate(timeout=10)
        up.send_signal(signal.SIGINT)               # Ctrl-C: the rig stops cleanly
        out, _ = up.communicate(timeout=60)
    assert f"rig {name} stopped" in out


def test_rig_serve_says_resources_and_terminations() -> None:
    r = subprocess.run([sys.executable, "-m", "hil.cli", "rig", "serve", "--seconds", "0.2"], cwd=ROOT,
                       capture_output=True, text=True, timeout=60, env=dict(os.environ, COLUMNS="200"))
    assert r.returncode == 0, r.stderr
    assert "TCPIP" in r.stdout and "::SOCKET" in r.stdout
    assert "read_termination='\\n'" in r.stdout and "write_termination='\\n'" in r.stdout
