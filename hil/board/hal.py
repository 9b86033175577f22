"""`HostHal`: the HAL object an app gets on an emulated board (same surface as firmware/hal/esp32.py).

Built from a `BoardConfig`: UARTs are the configured pyserial URLs, GPIO lines are files in
`<io_dir>/gpio`, WiFi is the configured table, mDNS goes through zeroconf on loopback, flash is the
configured folder, the unique id is the configured MAC. See firmware/hal/__init__.py for the surface.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

from firmware.hal import TICKS_MAX, pin_direction, ticks_diff, uart_format

from .config import BoardConfig
from .gpio import GpioFolder, HostPin
from .mdns import HostMdns
from .rigloop import BoardClock, current, install
from .uart import HostUart
from .wifi import HostWifi

RESET_EXIT_CODE = 75  # reset mode "exit": the supervising rig restarts the process


class HostHal:
    """Everything physical about one emulated board."""

    def __init__(self, config: BoardConfig) -> None:
        """Create the flash and io folders; lines are opened on first use."""
        self.config = config
        self.kind = config.kind
        self.flash_root = str(config.flash)
        config.flash.mkdir(parents=True, exist_ok=True)
        io_dir = Path(config.io_dir or config.flash.with_name(config.flash.name + ".io"))
        self.gpio = GpioFolder(io_dir / "gpio")
        self.wifi = HostWifi(config.networks, io_dir, sta_ip=config.sta_ip, ap_ip=config.http_host_port[0],
                             assoc_s=config.wifi_assoc_s)
        self.mdns = HostMdns(config.mdns_interface, config.sta_ip, config.mdns_suffix)
        self._uarts: dict[str, HostUart] = {}
        self._pins: dict[str, HostPin] = {}
        # on a rig (HIL_RIG_CLOCK in the environment): asyncio, ticks_ms and time() follow the rig's clock
        self.clock: BoardClock | None = current() or install()
        self._time_offset: float | None = 0.0 if config.wall_clock else None

    # identity
    def unique_id(self) -> bytes:
        """Return the board's MAC (6 bytes)."""
        return self.config.mac_bytes

    def name(self) -> str:
        """Return 'smartmeter' or 'smartplug-xxxxxx'."""
        return self.config.name

    # lines
    def uart(self, name: str) -> HostUart:
        """Open (once) the named UART at its board format; 'p1' also raises the data-request line."""
        if name not in self._uarts:
            baud, bits, parity, stop = uart_format(self.kind, name)
            url = self.config.uarts.get(name)
            if url is None:
                raise ValueError(f"UART {name!r} of this {self.kind} is not wired: give its pyserial URL "
                                 f"in the board config (uarts: {{{name}: URL}})")
            self._uarts[name] = HostUart(url, baud, bits, parity, stop, rxbuf=self.config.rxbuf)
            if self.clock is not None:
                self.clock.uarts[name] = self._uarts[name]   # virtual time waits for bytes in flight
            if name == "p1":
                self.pin("p1_request", 1)
        return self._uarts[name]

    def pin(self, name: str, value: int | None = None) -> HostPin:
        """Return the named GPIO line (an output starts at value, or 0 as after reset)."""
        if name in self._pins:
            p = self._pins[name]
            if value is not None:
                p.value(value)
            return p
        p = HostPin(self.gpio, name, pin_direction(self.kind, name), value)
        self._pins[name] = p
        return p

    # network
    def http_bind(self) -> tuple[str, int]:
        """Where the web server listens."""
        return self.config.http_host_port

    def mdns_start(self, host: str, services: list[tuple[str, int, dict[str, str]]]) -> None:
        """Answer host.local and advertise services (plus the web server as _http._tcp); never blocks."""
        if self.config.mdns:
            self.mdns.start(host, services, self.config.http_host_port[1])

    def mdns_stop(self) -> None:
        """Withdraw the advertisements (in the background)."""
        self.mdns.stop()

    async def mdns_resolve(self, host: str, timeout_ms: int = 3000) -> tuple[str, int] | None:
        """Find another board's web server by its mDNS name: (address, port) or None."""
        if not self.config.mdns:
            return None
        return await asyncio.to_thread(self.mdns.resolve, host, "_http._tcp", timeout_ms)

    # time
    def ticks_ms(self) -> int:
        """Return monotonic milliseconds, wrapping at 2**30 like MicroPython's (rig time on a rig)."""
        if self.clock is not None:
            return self.clock.ticks_ms() & TICKS_MAX
        return int(time.monotonic() * 1000) & TICKS_MAX

    def ticks_diff(self, a: int, b: int) -> int:
        """Return a - b for wrapping ticks."""
        return ticks_diff(a, b)

    def _wall(self) -> float:
        """Return the host's (or the rig's) UTC seconds."""
        return time.time() if self.clock is None else self.clock.now_us() / 1e6

    def time(self) -> int | None:
        """UTC epoch seconds, or None while the board does not know the time."""
        if self._time_offset is None:
            return None
        return int(self._wall() + self._time_offset)

    def set_time(self, t: int) -> None:
        """Set the wall clock (e.g. from the meter's timestamp)."""
        self._time_offset = t - self._wall()

    # lifecycle
    def reset(self) -> None:
        """Restart the firmware: re-execute this process (or exit for the rig to restart it)."""
        self.close()
        sys.stdout.flush()
        sys.stderr.flush()
        if self.config.reset == "exec":
            os.execv(sys.executable, sys.orig_argv)  # the same command line, `-m` included
        os._exit(RESET_EXIT_CODE)

    def close(self) -> None:
        """Release lines and advertisements (the files in flash and io stay)."""
        for u in self._uarts.values():
            u.close()
        self._uarts.clear()
        self.mdns.close()
