"""labgrid next to the project: its pyserial fork keeps pyserial's features, its pytest plugin stays out."""

from __future__ import annotations

import importlib.metadata
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import serial

from hil.serial_lines import PtyPair
from tests.lab.conftest import ROOT


def _installed(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def test_serial_is_labgrids_fork_when_labgrid_is_installed():
    if _installed("labgrid") is None:
        pytest.skip("labgrid is not installed (scripts/setup installs the lab extra)")
    fork = _installed("pyserial-labgrid")
    assert fork is not None, "labgrid requires pyserial-labgrid"
    # pip installs pyserial over the fork in the same serial/ folder without a word (labgrid#1245);
    # scripts/setup puts the fork back last
    assert serial.__version__ == fork, (
        f"serial/ holds pyserial {serial.__version__}, expected labgrid's fork {fork}: run scripts/setup"
    )
    assert _installed("pyserial") is not None, "the project requires pyserial: both must stay installed"


def test_pty_pairs_work_with_the_serial_package_installed():
    with PtyPair() as pair, pair.open(0, baudrate=115200, timeout=5) as a, pair.open(1, timeout=5) as b:
        a.write(b"/ISK5\\2M550T-1012\r\n")
        assert b.readline() == b"/ISK5\\2M550T-1012\r\n"
        b.write(b"!ABCD\r\n")
        assert a.readline() == b"!ABCD\r\n"


def test_socket_urls_work_with_the_serial_package_installed():
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def echo() -> None:
        conn, _ = server.accept()
        with conn:
            conn.sendall(conn.recv(64).upper())

    t = threading.Thread(target=echo, daemon=True)
    t.start()
    with serial.serial_for_url(f"socket://127.0.0.1:{port}", timeout=5) as line:
        line.write(b"console line\n")
        assert line.read(13) == b"CONSOLE LINE\n"
    t.join(5)
    server.close()


def test_rfc2217_urls_through_ser2net_work_with_the_serial_package_installed(tmp_path: Path):
    from hil.lab.procs import LabProcess, ser2net_binary, ser2net_pids

    real = ser2net_binary()
    if real is None:
        pytest.skip("ser2net is not installed (scripts/setup installs it from Debian when run as root)")
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with PtyPair() as pair:
        ser2net = LabProcess(
            "ser2net",
            [
                real,
                "-d",
                "-n",
                "-Y",
                f"connection: &c#  accepter: telnet(rfc2217,mode=server),tcp,127.0.0.1,{port}",
                "-Y",
                f"  connector: serialdev(nouucplock=true),{pair.names[0]},115200n81,local",
            ],
            tmp_path / "ser2net.log",
        )
        try:
            assert _wait_listening(port, ser2net, 20), (
                f"ser2net does not listen on 127.0.0.1:{port}: {ser2net.tail()}"
            )
            line = serial.serial_for_url(f"rfc2217://127.0.0.1:{port}?ign_set_control", timeout=5)
            with line, pair.open(1, timeout=5) as meter:
                line.timeout = 2  # the fork's setter: no RFC 2217 reconfiguration round trip
                line.write(b"/telegram\r\n")
                assert meter.readline() == b"/telegram\r\n"
                meter.write(b"back\n")
                assert line.readline() == b"back\n"
        finally:
            ser2net.stop()
        assert ser2net_pids(pair.names[0]) == []


def _wait_listening(port: int, proc, timeout: float) -> bool:  # noqa: ANN001 - a LabProcess
    """Wait until the kernel lists a socket listening on 127.0.0.1:port (ser2net prints nothing then)."""
    import time

    want = f"0100007F:{port:04X}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.proc.poll() is None:
        for row in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = row.split()
            if fields[1] == want and fields[3] == "0A":  # 0A: LISTEN
                return True
        time.sleep(0.02)  # the kernel's table has no change notification
    return False


def test_labgrids_pytest_plugin_is_kept_out_of_our_runs(pytestconfig):
    assert "-p no:labgrid" in " ".join(pytestconfig.getini("addopts"))
    assert not pytestconfig.pluginmanager.has_plugin("labgrid")


def test_labgrids_pytest_plugin_loaded_does_not_clash_with_our_options():
    if _installed("labgrid") is None:
        pytest.skip("labgrid is not installed (scripts/setup installs the lab extra)")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-o",
            "addopts=",
            "-p",
            "labgrid",
            "-p",
            "no:cacheprovider",
            "--help",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "--lg-env" in out.stdout and "--rig-place" in out.stdout and "--rig-coordinator" in out.stdout


def test_in_process_pytester_works_in_our_runs(tmp_path: Path):
    probe = tmp_path / "test_probe.py"
    probe.write_text(
        "pytest_plugins = ['pytester']\n"
        "def test_inner(pytester):\n"
        "    pytester.makepyfile('def test_ok():\\n    assert True\\n')\n"
        "    pytester.runpytest_inprocess('-p', 'no:cacheprovider').assert_outcomes(passed=1)\n",
        encoding="utf-8",
    )
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-c",
            str(ROOT / "pyproject.toml"),
            "--rootdir",
            str(tmp_path),
            "-p",
            "no:cacheprovider",
            "-q",
            str(probe),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout[-3000:]
