"""A real board's serial console captured to a log file (any pyserial URL: /dev/ttyUSB0, rfc2217://...)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import serial


class ConsoleCapture:
    """Read a console line in a thread, append it all to ``log_path``; reopen a line that dropped."""

    def __init__(self, url: str, log_path: Path, baudrate: int = 115200) -> None:
        """Describe the capture; :meth:`start` opens the line."""
        self.url = url
        self.log_path = Path(log_path)
        self.baudrate = baudrate
        self.bytes = 0
        self.errors = 0
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> ConsoleCapture:
        """Start capturing."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._run, name=f"console {self.url}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop capturing."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(3.0)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with serial.serial_for_url(self.url, baudrate=self.baudrate, timeout=0.2) as line, \
                        self.log_path.open("ab") as log:
                    while not self._stop.is_set():
                        data = line.read(4096)
                        if data:
                            log.write(data)
                            log.flush()
                            self.bytes += len(data)
            except (OSError, serial.SerialException) as exc:
                self.errors += 1
                self.last_error = f"console {self.url}: {exc}"
                self._stop.wait(1.0)
            time.sleep(0)
