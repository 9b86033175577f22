"""An emulated board as a real OS process: start it, wait until its web server answers, kill it, read its log.

`BoardProcess('smartmeter', flash_dir, p1=pty_name).start()` runs `python -m hil.cli.board run ...` (the
same program as `hil board run`) with its console appended to a log file, and returns once GET / answers.
`kill()` is a power cut (SIGKILL), `stop()` a clean shutdown, `restart()` both plus start(). A board that
dies or never answers raises `BoardError` carrying the tail of its log. Small HTTP helpers (`get`,
`get_json`, `request`) talk to it over loopback without raising on 4xx/5xx answers.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from hil.board.auth import ensure_rig_token
from hil.board.gpio import GpioFolder

ROOT = Path(__file__).resolve().parents[1]


# Host-time bounds here are hang guards, not timings: only a board that hangs can reach them, whatever
# else the host runs (a boot costs 0.3 s of CPU; at load 17 on 2 cores some took over 30 s of wall time).
BOOT_GUARD_S = 120.0   # from start to the web server's first answer
EXIT_GUARD_S = 60.0    # from SIGKILL to the process gone (a write to flash in progress finishes first)


class BoardError(RuntimeError):
    """The board process died or did not answer; the message ends with its log."""


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    # Linux: the board gets SIGKILL when the test process goes away, so no board outlives its rig.
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class BoardProcess:
    """One emulated board running in its own process."""

    def __init__(self, kind: str, flash: Path | str, *, p1: str | None = None, metering: str | None = None,
                 host: str = "127.0.0.1", port: int | None = None, mac: str | None = None,
                 networks: dict[str, str] | Path | None = None, mdns: bool = False, mdns_suffix: str = "",
                 extra: Sequence[str] = (), log_path: Path | str | None = None,
                 rig_token: bool = True,
                 env: Callable[[], dict[str, str]] | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        """Describe the board; nothing runs before start(). port None: a free one is picked.

        rig_token: put the rig's user into the flash before each start (hil/board/auth.py) and send its
        token with every request (`request(..., auth=False)` sends none); False: a factory-fresh board.
        env: called at every start for extra environment (a rig's clock: ``hil.board.rigloop``); sleep:
        how to wait between looks at a starting board (a rig's clock: rig time, so the board's own
        timers can run while it boots).
        """
        if host != "127.0.0.1":
            raise ValueError(f"host {host!r}: emulated boards listen on 127.0.0.1 only")
        self.kind = kind
        self.flash = Path(flash)
        self.p1 = p1
        self.metering = metering
        self.host = host
        self.port = port                # None until the board listens (it picks a free port itself)
        self.mac = mac
        self.networks = networks
        self.mdns = mdns
        self.mdns_suffix = mdns_suffix
        self.extra = list(extra)
        self.log_path = Path(log_path) if log_path else self.flash.with_name(self.flash.name + ".log")
        self.port_file = self.flash.with_name(self.flash.name + ".port")
        self.https_port_file = self.flash.with_name(self.flash.name + ".https-port")
        self.https_port: int | None = None   # API v2 over TLS (docs/security.md), once the board listens
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.rig_token = rig_token
        self.token: str | None = None
        self.env_hook = env
        self.sleep = sleep

    # ---- the process -----------------------------------------------------------------------------------
    def command(self) -> list[str]:
        """Return the command line that runs this board."""
        cmd = [sys.executable, "-m", "hil.cli.board", "run", self.kind, "--flash", str(self.flash),
               "--http", f"{self.host}:{self.port or 0}", "--port-file", str(self.port_file),
               "--https", f"{self.host}:{self.https_port or 0}",
               "--https-port-file", str(self.https_port_file)]
        if self.p1 is not None:
            cmd += ["--p1", self.p1]
        if self.metering is not None:
            cmd += ["--metering", self.metering]
        if self.mac is not None:
            cmd += ["--mac", self.mac]
        if isinstance(self.networks, dict):
            for ssid, pwd in self.networks.items():
                cmd += ["--network", f"{ssid}={pwd}"]
        elif self.networks is not None:
            cmd += ["--networks-file", str(self.networks)]
        cmd += ["--mdns" if self.mdns else "--no-mdns", "--mdns-suffix", self.mdns_suffix]
        return cmd + self.extra

    @property
    def alive(self) -> bool:
        """Whether the process is running."""
        return self.proc is not None and self.proc.poll() is None

    def alive_or_starting(self) -> bool:
        """Whether the process runs or is being started right now."""
        return self.proc is None or self.proc.poll() is None

    @property
    def base_url(self) -> str:
        """Return the board's address, http://127.0.0.1:PORT."""
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = BOOT_GUARD_S, env: dict[str, str] | None = None) -> BoardProcess:
        """Start the process and return once its web server answers (BoardError otherwise).

        The first start lets the board pick a free port (the OS binds port 0: no race with other boards
        or clients on this machine); later starts reuse that port, so clients keep their URL.
        """
        if self.alive:
            raise BoardError(f"{self.kind} board already running (pid {self.proc.pid if self.proc else '?'})")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.port_file.unlink(missing_ok=True)
        self.https_port_file.unlink(missing_ok=True)
        if self.rig_token:
            self.token = ensure_rig_token(self.flash)
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"--- start {self.starts}: {' '.join(self.command())}\n".encode())
        extra = env
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        self.proc = None   # "starting" until Popen returns (a rig's clock asks alive_or_starting())
        if extra is not None:
            env.update(extra)          # computed by the caller (a rig's clock: when the start was asked)
        elif self.env_hook is not None:
            env.update(self.env_hook())
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(self.command(), cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        self.wait_http(timeout)
        return self

    def _listening_port(self) -> int | None:
        try:
            text = self.port_file.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return None
        return int(text) if text.isdigit() else None

    def wait_https(self, timeout: float = BOOT_GUARD_S) -> int:
        """Return the HTTPS port once the board listens there; BoardError if it dies or never does.

        The HTTPS server starts beside the web server (its own task), so it may listen a moment later.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                text = self.https_port_file.read_text(encoding="ascii").strip()
            except FileNotFoundError:
                text = ""
            if text.isdigit():
                self.https_port = int(text)
                return self.https_port
            if not self.alive:
                raise BoardError(f"{self.kind} board exited before it listened on HTTPS\n{self.log_tail()}")
            self.sleep(0.02)
        raise BoardError(f"{self.kind} board: no HTTPS port within {timeout} s\n{self.log_tail()}")

    def fingerprint(self) -> str:
        """Return the certificate fingerprint the board printed on its console (its label), 'AB:CD:...'."""
        marks = [ln for ln in self.log_text().splitlines() if "label: https certificate SHA-256 " in ln]
        if not marks:
            raise BoardError(f"the board printed no certificate fingerprint\n{self.log_tail()}")
        return marks[-1].rsplit(" ", 1)[1]

    def wait_http(self, timeout: float = BOOT_GUARD_S) -> None:
        """Wait until this board listens and GET / gets an HTTP answer; BoardError if it dies or times out."""
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if not self.alive:
                code = self.proc.returncode if self.proc else None
                raise BoardError(f"{self.kind} board exited with code {code} before its web server answered"
                                 f"\n{self.log_tail()}")
            port = self._listening_port()  # written by this process once it listens: not another board
            if port is None:
                self.sleep(0.02)
                continue
            self.port = port
            try:
                # on a rig's clock the board answers in no rig time: only a refusal means "not yet", so
                # a slow host must not turn into an extra look (and an extra instant of rig time)
                self.get("/", timeout=1.0 if self.sleep is time.sleep else 30.0)
                return
            except OSError as e:
                last = e
            self.sleep(0.05)
        raise BoardError(f"{self.kind} board: no HTTP answer on {self.base_url}/ within {timeout} s "
                         f"(last error: {last!r})\n{self.log_tail()}")

    def kill(self) -> None:
        """Cut the power: SIGKILL, and wait for the process to be gone."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(EXIT_GUARD_S)

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the process to end (SIGTERM); SIGKILL after timeout."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self, timeout: float = BOOT_GUARD_S, hard: bool = True) -> BoardProcess:
        """Kill (hard) or stop the board, then start it again on the same port and flash."""
        if hard:
            self.kill()
        else:
            self.stop()
        return self.start(timeout)

    def __enter__(self) -> BoardProcess:
        """Use as a context manager: the board is killed on exit."""
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        """Kill the board."""
        self.kill()

    # ---- its button -------------------------------------------------------------------------------
    def press_button(self, timeout: float = 5.0) -> None:
        """Press the board's button (its io gpio/button line) until the board logs the press, then let go.

        A press opens user creation (POST /api/user, the page's Log in) for 30 s (docs/security.md).
        """
        gpio = GpioFolder(self.flash.with_name(self.flash.name + ".io") / "gpio")
        seen = self.log_text().count("auth: button pressed")
        gpio.write("button", 1)
        deadline = time.monotonic() + timeout
        try:
            while self.log_text().count("auth: button pressed") <= seen:
                if time.monotonic() > deadline:
                    raise BoardError(f"the board did not see its button within {timeout} s\n"
                                     f"{self.log_tail()}")
                time.sleep(0.02)  # polling the board's console file: no event crosses the process boundary
        finally:
            gpio.write("button", 0)

    # ---- its log ------------------------------------------------------------------------------------
    def log_text(self) -> str:
        """Return everything the board printed, all starts included."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        """Return the last lines of the log, for failure messages."""
        text = self.log_text().splitlines()[-lines:]
        return f"--- last {len(text)} lines of {self.log_path} ---\n" + "\n".join(text)

    # ---- HTTP over loopback -------------------------------------------------------------------------
    def request(self, method: str, path: str, body: bytes | str | None = None,
                headers: dict[str, str] | None = None,
                timeout: float = 5.0, auth: bool = True) -> tuple[int, dict[str, str], bytes]:
        """Return (status, headers, body) of one request; 4xx/5xx are answers, not exceptions.

        auth: send the rig's token (when the board has one and no Authorization header is given).
        """
        data = body.encode() if isinstance(body, str) else body
        headers = dict(headers or {})
        if auth and self.token and not any(k.lower() == "authorization" for k in headers):
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, dict(r.headers.items()), r.read()
        except urllib.error.HTTPError as e:
            with contextlib.closing(e):
                return e.code, dict(e.headers.items()), e.read()

    def get(self, path: str, timeout: float = 5.0) -> tuple[int, dict[str, str], bytes]:
        """Return (status, headers, body) of GET path."""
        return self.request("GET", path, timeout=timeout)

    def get_json(self, path: str, timeout: float = 5.0) -> tuple[int, Any]:
        """Return (status, parsed JSON) of GET path; BoardError if the body is not JSON."""
        status, _, body = self.get(path, timeout)
        try:
            return status, json.loads(body)
        except ValueError as e:
            raise BoardError(f"GET {path}: expected JSON, got {status} {body[:200]!r}") from e

    def put_json(self, path: str, obj: Any, timeout: float = 5.0) -> tuple[int, Any]:
        """Return (status, parsed JSON answer) of PUT path with obj as JSON."""
        status, _, body = self.request("PUT", path, json.dumps(obj), {"Content-Type": "application/json"},
                                       timeout)
        return status, json.loads(body) if body else None
