"""labgrid's coordinator and exporter as child processes on loopback, never leaving a process behind.

- :func:`start_coordinator` runs ``labgrid-coordinator -l 127.0.0.1:0`` in a state folder and reads the
  port it bound from its output.
- :class:`SupervisedExporter` runs ``labgrid-exporter`` in a process group of its own and watches it. When
  the exporter exits for any reason (stopped, SIGKILLed, or its coordinator went away) the whole group is
  killed, so the ser2net processes it started never outlive it (labgrid starts ser2net as a plain child:
  a SIGKILLed exporter leaves it serving the old port, and the restarted exporter starts a second one on
  the same device). It is then restarted, and each of these steps is recorded in ``events``.
- ``ser2net`` is found through a PATH shim that pins its accepter to 127.0.0.1 (labgrid asks for all
  interfaces), so a test exporter never listens beyond loopback.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("hil.lab")

SER2NET_SHIM = """#!{python} -S
# ser2net as labgrid's exporter starts it, with two changes (written by hil.lab.procs):
# - the accepter listens on 127.0.0.1 only (labgrid asks for ',tcp,PORT': every interface);
# - it dies with the exporter (PR_SET_PDEATHSIG), so even a SIGKILLed exporter leaves no ser2net behind.
import ctypes, os, re, signal, sys
REAL = {real!r}
ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG
if os.getppid() == 1:   # the exporter died before the line above: do not start
    sys.exit(1)
args = [re.sub(r"(accepter:.*,tcp,)(\\d)", r"\\g<1>127.0.0.1,\\2", a) for a in sys.argv[1:]]
os.execv(REAL, [REAL] + args)
"""


class LabProcessError(RuntimeError):
    """A labgrid process did not come up; the message carries the tail of its output."""


def ser2net_binary() -> str | None:
    """Return the real ser2net (Debian: /usr/sbin/ser2net), or None when it is not installed."""
    found = shutil.which("ser2net") or shutil.which("ser2net", path="/usr/sbin:/usr/local/sbin")
    return found


def write_ser2net_shim(folder: Path) -> Path:
    """Write the loopback ser2net shim into ``folder`` (put it first on the exporter's PATH)."""
    real = ser2net_binary()
    if real is None:
        raise LabProcessError(
            "ser2net not found (Debian: apt-get install ser2net); labgrid's exporter needs "
            "it to export a local serial port"
        )
    folder.mkdir(parents=True, exist_ok=True)
    shim = folder / "ser2net"
    shim.write_text(SER2NET_SHIM.format(real=real, python=sys.executable), encoding="utf-8")
    shim.chmod(0o755)
    return shim


def _bin(name: str) -> str:
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else (shutil.which(name) or name)


def ser2net_pids(device: str | None = None) -> list[int]:
    """Return the pids of running ser2net processes (serving ``device`` when given).

    The loopback shim counts too: it is the same process until it execs the real ser2net, and on a busy
    host labgrid may publish the port while the shim's Python is still starting.
    """
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        names = [os.path.basename(a.decode(errors="replace")) for a in argv[:3]]
        shim = len(names) == 3 and names[1] == "-S" and names[2] == "ser2net"   # '#!python -S' shim
        if not names or not (names[0] == "ser2net" or shim):
            continue
        if device is None or any(device.encode() + b"," in a for a in argv):
            out.append(int(entry.name))
    return out


# exec'd in front of a child: SIGTERM when the thread that started it ends (PR_SET_PDEATHSIG). A
# preexec_fn would do the same without the extra exec, but forking a process that runs gRPC threads and
# then running Python in the child before exec can crash the child (seen: a segfault in the fork).
DIE_WITH_PARENT = (
    "import ctypes, os, signal, sys; ctypes.CDLL(None).prctl(1, signal.SIGTERM); "
    "os.getppid() == 1 and sys.exit(1); os.execv(sys.argv[1], sys.argv[1:])"
)


class LabProcess:
    """A child process in its own process group, its output logged and scanned for lines."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        log_path: Path,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        die_with_parent: bool = True,
    ) -> None:
        """Start the process (a new session: its children share its process group).

        die_with_parent: the process gets SIGTERM when the thread that started it ends (PR_SET_PDEATHSIG),
        so a SIGKILLed parent leaves no coordinator or exporter behind; start it from a long-lived thread.
        """
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.lines: list[str] = []
        self._cond = threading.Condition()
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(log_path, "a", encoding="utf-8")  # noqa: SIM115 - closed by the reader thread
        if die_with_parent:
            argv = [sys.executable, "-S", "-c", DIE_WITH_PARENT, *argv]
        self.proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            text=True,
            bufsize=1,
        )
        self.pid = self.proc.pid
        self._reader = threading.Thread(target=self._read, name=f"{name} output", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        try:
            for line in self.proc.stdout:
                self._log.write(line)
                self._log.flush()
                with self._cond:
                    self.lines.append(line.rstrip("\n"))
                    self._cond.notify_all()
        finally:
            self._log.close()
            with self._cond:
                self._cond.notify_all()

    def wait_line(self, pattern: str, timeout: float) -> re.Match[str]:
        """Return the first output line matching ``pattern``; LabProcessError on exit or timeout."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        seen = 0
        with self._cond:
            while True:
                for line in self.lines[seen:]:
                    m = rx.search(line)
                    if m:
                        return m
                seen = len(self.lines)
                left = deadline - time.monotonic()
                if self.proc.poll() is not None and not self._reader.is_alive():
                    raise LabProcessError(
                        f"{self.name} exited ({self.proc.returncode}) before printing "
                        f"{pattern!r}; its output: {self.tail()}"
                    )
                if left <= 0:
                    raise LabProcessError(
                        f"{self.name}: no line {pattern!r} within {timeout:g} s; its output: {self.tail()}"
                    )
                self._cond.wait(min(left, 0.5))

    def tail(self, n: int = 15) -> str:
        """Return the last ``n`` output lines."""
        return " | ".join(self.lines[-n:])

    def group_pids(self) -> list[int]:
        """Return the live processes of this process's group (the process itself and what it started)."""
        out = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if os.getpgid(int(entry.name)) == self.pid:
                        stat = (entry / "stat").read_text()
                        if stat.rsplit(")", 1)[1].split()[0] != "Z":
                            out.append(int(entry.name))
                except (OSError, IndexError):
                    continue
        return out

    def signal(self, sig: int) -> None:
        """Send ``sig`` to the process only (not its group): what a crash or an operator would do."""
        try:
            os.kill(self.pid, sig)
        except ProcessLookupError:
            pass

    def stop(self, grace_s: float = 5.0) -> int | None:
        """SIGTERM the process, then SIGKILL its whole group (no child survives); return its exit code."""
        if self.proc.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.proc.wait(grace_s)
            except subprocess.TimeoutExpired:
                pass
        self.kill_group()
        try:
            self.proc.wait(5.0)
        except subprocess.TimeoutExpired:
            log.error("%s (pid %d) did not exit after SIGKILL", self.name, self.pid)
        self._reader.join(5.0)
        return self.proc.returncode

    def kill_group(self) -> list[int]:
        """SIGKILL every process left in the group; return their pids."""
        left = self.group_pids()
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        return left


def start_coordinator(
    folder: Path, host: str = "127.0.0.1", port: int = 0, timeout: float = 30.0
) -> tuple[LabProcess, str]:
    """Start a coordinator (state in ``folder``); return it and its ``host:port`` (port 0: a free one)."""
    folder.mkdir(parents=True, exist_ok=True)
    proc = LabProcess(
        "labgrid-coordinator",
        [_bin("labgrid-coordinator"), "-l", f"{host}:{port}"],
        folder / "coordinator.log",
        cwd=folder,
    )
    try:
        m = proc.wait_line(r"listening on (\S+):(\d+)", timeout)
    except BaseException:
        proc.stop()
        raise
    return proc, f"{host}:{m.group(2)}"


class SupervisedExporter:
    """``labgrid-exporter`` kept running: restarted when it exits, its process group killed each time."""

    def __init__(
        self,
        config: Path,
        coordinator: str,
        name: str,
        folder: Path,
        hostname: str = "127.0.0.1",
        restart_s: float = 1.0,
        on_event: Callable[[str], None] | None = None,
        on_ready: Callable[[], None] | None = None,
    ) -> None:
        """Describe the exporter; :meth:`start` runs it."""
        self.config = Path(config).resolve()
        self.coordinator = coordinator
        self.name = name
        self.folder = Path(folder).resolve()
        self.hostname = hostname
        self.restart_s = restart_s
        self.on_event = on_event
        self.on_ready = on_ready  # after every (re)start: e.g. create the places again on a new coordinator
        self.events: list[tuple[float, str]] = []
        self.starts = 0
        self.proc: LabProcess | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.shim_dir = folder / "shim"
        if ser2net_binary() is not None:
            write_ser2net_shim(self.shim_dir)

    def _event(self, text: str) -> None:
        self.events.append((time.time(), text))
        log.warning("exporter %s: %s", self.name, text)
        if self.on_event is not None:
            self.on_event(text)

    def _spawn(self) -> LabProcess:
        env = dict(
            os.environ, PATH=f"{self.shim_dir}{os.pathsep}{os.environ.get('PATH', '')}", PYTHONUNBUFFERED="1"
        )
        self.starts += 1
        return LabProcess(
            f"labgrid-exporter {self.name}",
            [
                _bin("labgrid-exporter"),
                "-c",
                self.coordinator,
                "-n",
                self.name,
                "--hostname",
                self.hostname,
                str(self.config),
            ],
            self.folder / f"exporter-{self.name}.log",
            cwd=self.folder,
            env=env,
        )

    def start(self, timeout: float = 30.0) -> SupervisedExporter:
        """Start the exporter, wait for "Exporter ready", then watch it on a background thread."""
        self.proc = self._spawn()
        try:
            self.proc.wait_line(r"Exporter ready", timeout)
        except BaseException:
            self.proc.stop()
            raise
        self._thread = threading.Thread(target=self._watch, name=f"exporter {self.name}", daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                proc = self.proc
            assert proc is not None
            code = proc.proc.wait()
            if self._stop.is_set():
                return
            left = proc.kill_group()
            self._event(
                f"exited with {code}" + (f"; killed what it left running: pids {left}" if left else "")
            )
            if self._stop.wait(self.restart_s):
                return
            with self._lock:
                if self._stop.is_set():
                    return
                self.proc = self._spawn()
            try:
                self.proc.wait_line(r"Exporter ready", 30.0)
                self._event(f"restarted (start {self.starts}, pid {self.proc.pid})")
                if self.on_ready is not None:
                    self.on_ready()
            except Exception as exc:  # noqa: BLE001 - keep supervising; the next exit is handled the same way
                self._event(f"restart failed: {exc}")

    def stop(self) -> None:
        """Stop supervising and stop the exporter with its whole process group (idempotent)."""
        self._stop.set()
        with self._lock:
            proc = self.proc
        if proc is not None:
            proc.stop()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(10.0)
