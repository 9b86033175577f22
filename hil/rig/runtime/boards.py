"""The boards of a running rig, emulated (an OS process each) or real (reached over the LAN and a console).

Both kinds answer the same questions, so fixtures and suites never ask which one they have: ``http``
(a :class:`BoardHttp`), ``log_text()`` (the console so far), ``powered``, ``relay_live()`` (is a plug's
output live: the emulated board's relay line file, a real plug's HTTP relay state).
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

from hil.board.gpio import GpioFolder
from hil.board_process import BOOT_GUARD_S, BoardError, BoardProcess
from hil.rig.clock.virtual import LineTap, VirtualClock
from hil.rig.model import Board
from hil.rig.pairing import read_token
from hil.rig.runtime.console import ConsoleCapture
from hil.rig.runtime.http import BoardHttp

log = logging.getLogger("hil.rig")
RIG_SSID = "rig-lan"
RIG_PASSWORD = "rig-lan-password"


class EmulatedBoard:
    """One emulated board: its folders (flash, io, log, WiFi table), its process, its lines."""

    emulated = True

    def __init__(self, spec: Board, folder: Path, *, p1: str | None = None, metering: str | None = None,
                 port: int | None = None, clock: VirtualClock | None = None,
                 lines: list[LineTap] | None = None,
                 ticks_start_ms: int = 0, clock_env: dict[str, str] | None = None) -> None:
        """Lay out ``folder`` for the board; nothing runs before :meth:`power_on`.

        clock: the rig's virtual clock (the board joins it at every start, its serial ``lines`` counted);
        clock_env: the environment of a realtime clock's time page.
        """
        self.spec = spec
        self.name = spec.name
        self.role = spec.role
        self.folder = folder
        self.flash = folder / "flash"
        self.io_dir = folder / "flash.io"
        self.networks_file = folder / "networks.json"
        self.log_path = folder / "console.log"
        folder.mkdir(parents=True, exist_ok=True)
        self.flash.mkdir(exist_ok=True)
        self.gpio = GpioFolder(self.io_dir / "gpio")
        self.set_wifi(True)
        env: Any = None
        sleep: Any = time.sleep
        self._starting = False
        self._clock = clock
        self._clock_env: Any = None
        if clock is not None:
            def env() -> dict[str, str]:
                return clock.expect(spec.name, list(lines or []), self._alive_or_starting, ticks_start_ms)
            self._clock_env = env
            sleep = clock.sleep
        elif clock_env:
            env = lambda: dict(clock_env)  # noqa: E731
        self.proc = BoardProcess(spec.role, self.flash, p1=p1, metering=metering, port=port, mac=spec.mac,
                                 networks=self.networks_file, mdns=False, log_path=self.log_path, env=env,
                                 sleep=sleep)
        # on a virtual clock a board answers in no rig time: a host-time timeout would only measure the host
        self._http_timeout = 30.0 if clock is not None else 5.0
        self._http = BoardHttp(self.proc.base_url, spec.name, self._http_timeout)
        self.powered = False
        self.wifi_up = True
        self.lock = threading.Lock()
        self.last_error: str | None = None
        # Boards die with the thread that started them (PR_SET_PDEATHSIG is per thread), so every start
        # runs on this board's own long-lived thread, whoever asks (a test, the PDU's SCPI thread, ...).
        self._starter = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix=f"board-{spec.name}")

    @property
    def address(self) -> str:
        """Return 'HOST:PORT' of its web server (the port is the board's own pick at its first start)."""
        return f"{self.proc.host}:{self.proc.port}"

    @property
    def http(self) -> BoardHttp:
        """Return the HTTP client of its web server."""
        if self._http.base_url != self.proc.base_url:
            self._http = BoardHttp(self.proc.base_url, self.name, self._http_timeout)
        self._http.token = self.proc.token
        return self._http

    def provision(self, files: dict[str, Any], overwrite: bool = False) -> None:
        """Write JSON files into the board's flash (as a factory or the portal would), if not there yet."""
        for name, obj in files.items():
            path = self.flash / name
            if overwrite or not path.exists():
                path.write_text(json.dumps(obj), encoding="utf-8")

    def set_wifi(self, up: bool) -> None:
        """Put the rig's WiFi network in range of the board, or take it away (the board drops off)."""
        table = {RIG_SSID: RIG_PASSWORD} if up else {}
        tmp = self.networks_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(table), encoding="utf-8")
        tmp.replace(self.networks_file)
        self.wifi_up = up

    def power_on(self, timeout: float = BOOT_GUARD_S) -> None:
        """Start the process (if it is not running) and wait until its web server answers."""
        self.power_on_async(timeout).result()

    def power_on_async(self, timeout: float = BOOT_GUARD_S) -> concurrent.futures.Future[None]:
        """Start the process on the board's own thread; the future ends when its web server answers.

        On a virtual clock the board is announced to the clock here, before this returns: rig time waits
        for it from the instant the start was asked, whichever thread then runs it.
        """
        self.powered = True
        env = None
        if self._clock_env is not None and not self.proc.alive:
            self._starting = True
            env = self._clock_env()
        return self._starter.submit(self._power_on, timeout, env)

    def _alive_or_starting(self) -> bool:
        return self._starting or self.proc.alive

    def _power_on(self, timeout: float, env: dict[str, str] | None = None) -> None:
        with self.lock:
            if self.proc.alive:
                self.powered = True
                self._starting = False
                if env is not None and self._clock is not None:
                    self._clock.forget(env)   # announced, but it runs already: nothing will join
                return
            try:
                self.proc.start(timeout, env)
            except BoardError as exc:
                self.last_error = str(exc)
                self.proc.kill()
                raise
            finally:
                self._starting = False
            self.powered = True
            pid = self.proc.proc.pid if self.proc.proc else "?"
            log.info("board %s powered on (pid %s, %s)", self.name, pid, self.proc.base_url)

    def power_off(self) -> None:
        """Cut the power: SIGKILL (no clean shutdown, as a pulled plug)."""
        with self.lock:
            self.powered = False
            self.proc.kill()
            log.info("board %s powered off", self.name)

    def stop(self) -> None:
        """End the process for good (and the thread that starts it)."""
        self._starter.shutdown(wait=True, cancel_futures=True)
        with self.lock:
            self.powered = False
            self.proc.kill()

    def relay_live(self) -> bool | None:
        """Whether the plug's output is live: powered, running and its relay line at 1."""
        if not self.powered or not self.proc.alive:
            return False
        try:
            return self.gpio.read("relay", 0) == 1
        except (OSError, ValueError):
            return None   # a torn read: keep the last state

    def log_text(self) -> str:
        """Return everything the board printed (all its starts)."""
        return self.proc.log_text()

    def describe(self) -> dict[str, Any]:
        """Return where the board is and how it runs."""
        p = self.proc.proc
        return {"name": self.name, "role": self.role, "emulated": True, "http": self.proc.base_url,
                "pid": p.pid if p is not None and self.proc.alive else None, "powered": self.powered,
                "wifi": self.wifi_up, "flash": str(self.flash), "io": str(self.io_dir),
                "console": f"file://{self.log_path}", "starts": self.proc.starts}


class RealBoard:
    """A board on the bench: HTTP at its rig-file address, its console captured from a serial URL."""

    emulated = False

    def __init__(self, spec: Board, folder: Path, relay_poll_s: float = 0.5) -> None:
        """Describe the board; :meth:`start` begins capturing its console and polling its relay."""
        self.spec = spec
        self.name = spec.name
        self.role = spec.role
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.log_path = folder / "console.log"
        host = spec.http if "://" in spec.http else f"http://{spec.http}"
        self.http = BoardHttp(host, spec.name)
        # paired once by its button (hil rig pair, docs/security.md), or the token a held place carries
        self.http.token = spec.token or (read_token(spec.token_file) if spec.token_file else None)
        self.console = ConsoleCapture(spec.console, self.log_path)
        self.powered = True
        self.relay_poll_s = relay_poll_s
        self._relay: bool | None = None
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None

    @property
    def address(self) -> str:
        """Return the rig file's address."""
        return self.spec.http

    def start(self) -> None:
        """Capture the console; a plug's relay state is polled over HTTP for the world."""
        self.console.start()
        if self.role == "smartplug":
            self._poller = threading.Thread(target=self._poll, name=f"relay {self.name}", daemon=True)
            self._poller.start()

    def _poll(self) -> None:
        while not self._stop.wait(self.relay_poll_s):
            try:
                status, d = self.http.get_json("/switch/relay", timeout=2.0)
                self._relay = status == 200 and isinstance(d, dict) and d.get("value") is True
            except (OSError, ValueError):
                self._relay = None

    def power_on(self, timeout: float = BOOT_GUARD_S) -> None:
        """Nothing to start: a real board powers up with its outlet (the rig switches it)."""
        self.powered = True

    def power_off(self) -> None:
        """Remembered only: the rig switches the board's outlet."""
        self.powered = False

    def stop(self) -> None:
        """Stop the console capture and the relay poller."""
        self._stop.set()
        self.console.stop()

    def relay_live(self) -> bool | None:
        """Return the relay state the plug last reported over HTTP (None: unknown)."""
        return self._relay if self.powered else False

    def log_text(self) -> str:
        """Return the console captured so far."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def describe(self) -> dict[str, Any]:
        """Return where the board is."""
        return {"name": self.name, "role": self.role, "emulated": False, "http": self.http.base_url,
                "console": self.spec.console, "console_bytes": self.console.bytes, "powered": self.powered}


RigBoard = EmulatedBoard | RealBoard
