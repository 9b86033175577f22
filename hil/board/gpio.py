"""GPIO lines of an emulated board, visible to the rig as files: one file per line holding 0 or 1.

Levels are logical, as the apps mean them: relay 1 = closed (output live), led 1 = lit, button 1 =
pressed, p1_request 1 = data requested. The ESP32 HAL maps them to the board's electrical polarity.
The board writes its outputs (atomically: temporary file and rename), the rig writes the inputs; either
side reads any line. `GpioFolder` is the rig's view of the same folder.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path


class GpioFolder:
    """The folder of line files (created when missing)."""

    def __init__(self, root: Path | str) -> None:
        """Use (and create) root as the folder of line files."""
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, name: str) -> Path:
        """Return the file of one line."""
        return self.root / name

    def write(self, name: str, value: int) -> None:
        """Set a line to 0 or 1 (atomically: a reader never sees a half-written file)."""
        if value not in (0, 1):
            raise ValueError(f"line {name!r}: level {value!r}, expected 0 or 1")
        tmp = self.root / f".{name}.{os.getpid()}.tmp"
        tmp.write_text(f"{value}\n", encoding="ascii")
        os.replace(tmp, self.path(name))

    def read(self, name: str, default: int | None = None) -> int | None:
        """Return the line's level, or default when nobody has set it yet."""
        try:
            text = self.path(name).read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return default
        if text not in ("0", "1"):
            raise ValueError(f"{self.path(name)}: expected 0 or 1, found {text[:20]!r}")
        return int(text)

    def wait_for(self, name: str, value: int, timeout: float, poll_s: float = 0.005) -> float:
        """Wait until the line reads value; return the seconds waited. TimeoutError says what was seen."""
        t0 = time.monotonic()
        while True:
            got = self.read(name)
            if got == value:
                return time.monotonic() - t0
            if time.monotonic() - t0 > timeout:
                raise TimeoutError(f"line {name!r} in {self.root}: expected {value} within {timeout} s, "
                                   f"still {got}")
            time.sleep(poll_s)  # polling a file: there is no event to wait on across processes


class HostPin:
    """The host side of `hal.pin(name)`."""

    def __init__(self, folder: GpioFolder, name: str, direction: str, value: int | None = None) -> None:
        """Set up a line: an output starts at value (0 when None, as after reset); an input reads."""
        if direction not in ("in", "out"):
            raise ValueError(f"pin {name!r}: direction {direction!r}, expected 'in' or 'out'")
        self.folder = folder
        self.name = name
        self.direction = direction
        self.listeners: list[Callable[[str, int], None]] = []
        self._value = 0
        if direction == "out":
            self._set(0 if value is None else value)

    def _set(self, v: int) -> None:
        v = 1 if v else 0
        self._value = v
        self.folder.write(self.name, v)
        for fn in list(self.listeners):
            fn(self.name, v)

    def value(self, v: int | None = None) -> int:
        """Read the line, or drive an output."""
        if v is None:
            if self.direction == "out":
                return self._value
            return self.folder.read(self.name, 0) or 0
        if self.direction != "out":
            raise ValueError(f"pin {self.name!r} is an input: the rig drives it, not the firmware")
        if (1 if v else 0) != self._value:
            self._set(v)
        return self._value

    def on(self) -> None:
        """Drive the output to 1."""
        self.value(1)

    def off(self) -> None:
        """Drive the output to 0."""
        self.value(0)
